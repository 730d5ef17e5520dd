"""Loaders on real files made in tmp_path: good files, and every kind of bad one."""

from __future__ import annotations

import csv
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from ingest.chunking import chunk_document
from ingest.loaders import load_file
from ingest.textutil import normalize
from shegong.config import reset_settings
from shegong.errors import BadDocument, UnsupportedFile, UserError


# --- file makers ---


def make_pdf(path: Path, pages: list[list[str]]) -> Path:
    """A real PDF with a Chinese text layer (Adobe CID font, no font file needed)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path))
    for lines in pages:
        c.setFont("STSong-Light", 11)
        y = 800
        for line in lines:
            c.drawString(40, y, line)
            y -= 18
        c.showPage()
    c.save()
    return path


HANDBOOK_PAGES = [
    [
        "七、独居老人走访",
        "（一）走访频次",
        "网格员每周至少上门走访一次独居老人。",
        "遇到高温或寒潮天气，应当增加电话问",  # a paragraph wrapped over two lines
        "候，并提醒老人备好常用药。",
    ],
    [
        "（二）处置步骤",
        "1. 敲门无人应答",
        "先电话联系老人和紧急联系人，再请物业协助开门。",
        "发现老人倒地时，不要随意搬动，立即拨打120。",
    ],
]


def cjk_font() -> str | None:
    """A system font with Chinese glyphs (Debian: fonts-wqy-microhei or fonts-noto-cjk)."""
    if shutil.which("fc-list"):
        out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True).stdout
        files = [line.split(":")[0].strip() for line in out.splitlines() if line.strip()]
        if files:
            return sorted(files)[0]
    return None


# --- PDF ---


def test_pdf_chinese_text_with_pages_and_headings(tmp_path):
    doc = load_file(make_pdf(tmp_path / "走访手册.pdf", HANDBOOK_PAGES))
    assert doc.title == "走访手册" and doc.doc_type == "handbook"
    assert doc.meta["pages"] == 2 and not doc.warnings
    headings = [(b.text, b.level, b.page) for b in doc.blocks if b.kind == "heading"]
    assert headings == [
        ("七、独居老人走访", 1, 1),
        ("（一）走访频次", 2, 1),
        ("（二）处置步骤", 2, 2),
        ("1. 敲门无人应答", 3, 2),
    ]
    chunks = chunk_document(doc)
    by_text = {c.text.split("\n")[0][:6]: c for c in chunks}
    first = by_text["网格员每周至"]
    assert first.location == "第1页 · 七、独居老人走访 › （一）走访频次"
    assert first.meta["page"] == 1
    assert first.text == "网格员每周至少上门走访一次独居老人。\n遇到高温或寒潮天气，应当增加电话问候，并提醒老人备好常用药。"
    second = next(c for c in chunks if "拨打120" in c.text)
    assert second.meta["page"] == 2
    assert second.location.startswith("第2页 · 七、独居老人走访 › （二）处置步骤")


HEADER = "和平街道社区工作指导手册（试行）"
# What Word or WPS exports: a running header and a page number on every page, a table of
# contents, and sentences that run over a page break.
OFFICE_PAGES = [
    [HEADER, "目  录", "一、证件遗失……………………………………2", "二、独居老人走访…………………………3", "三、邻里纠纷调解…………………………4", "— 1 —"],
    [
        HEADER,
        "一、证件遗失",
        "居民身份证遗失的，本人应当到户籍所在地或者居住地的派出所申请补领，",
        "社区可以告诉居民补领需要带的材料和办理的时间，还可以协助行动不便的",
        "— 2 —",
    ],
    [
        HEADER,
        "老人联系派出所上门服务，但不得代为出具身份证明。",
        "二、独居老人走访",
        "网格员每周至少上门走访一次独居老人，遇到高温或寒潮天气应当增加电话问候。",
        "— 3 —",
    ],
    [HEADER, "三、邻里纠纷调解", "先分别倾听双方诉求，必要时请人民调解委员会介入。", "第 4 页，共 4 页"],
]


def test_pdf_running_headers_page_numbers_and_contents_are_left_out(tmp_path):
    doc = load_file(make_pdf(tmp_path / "指导手册.pdf", OFFICE_PAGES))
    chunks = chunk_document(doc)
    everything = "\n".join(c.text + c.location for c in chunks)
    for furniture in (HEADER, "— 2 —", "—", "……", "目", "共 4 页"):
        assert furniture not in everything
    assert [c.location for c in chunks] == ["第2页 · 一、证件遗失", "第3页 · 二、独居老人走访", "第4页 · 三、邻里纠纷调解"]
    # the sentence over the page break is one paragraph, on the page where it starts
    assert "还可以协助行动不便的老人联系派出所上门服务，但不得代为出具身份证明。" in chunks[0].text
    assert doc.meta["removed"] == {"running": [HEADER], "page_numbers": 4, "toc_lines": 4}


def test_pdf_text_on_either_side_of_an_unread_page_does_not_join(tmp_path, monkeypatch):
    import ingest.loaders.pdf as pdf

    monkeypatch.setattr(pdf, "_ocr_page", lambda page: "")  # the middle page is a scan nothing can read
    path = make_pdf(tmp_path / "手册.pdf", [["一、走访", "网格员每周上门走访独居老人一次，发现异常情况应当及时联系老人的"],
                                            [], ["家属并记录在案。", "二、调解", "先分别倾听双方诉求。"]])
    doc = load_file(path)
    assert doc.meta["unread_pages"] == [2]
    paragraphs = [b.text for b in doc.blocks if b.kind == "paragraph"]
    assert paragraphs[:2] == ["网格员每周上门走访独居老人一次，发现异常情况应当及时联系老人的", "家属并记录在案。"]


def test_pdf_lines_that_only_look_like_furniture_are_kept(tmp_path):
    pages = [
        ["一、紧急电话", "遇到火情拨打", "119", "遇到急病拨打", "120"],  # numbers in the text, two pages only
        ["二、走访记录", "每次走访后当天填写记录。", "2024"],
    ]
    text = "\n".join(c.text for c in chunk_document(load_file(make_pdf(tmp_path / "电话.pdf", pages))))
    assert "119" in text and "120" in text and "2024" in text
    # and in a longer document a line that repeats in the middle of pages is content, not furniture
    pages = [[f"{n}、第{n}项", "注意事项：", f"第{n}项工作的做法写在这里。", "注意事项："] for n in "一二三四"]
    text = "\n".join(c.text for c in chunk_document(load_file(make_pdf(tmp_path / "事项.pdf", pages))))
    assert text.count("注意事项") == 8
    # one case a page: the field labels under each case's own title stay
    pages = [[f"案例{n}：{n}号楼的事", "【场景】", f"{n}号楼的居民反映了问题。", "【做法】", "网格员上门了解情况。"] for n in "一二三四"]
    text = "\n".join(c.text for c in chunk_document(load_file(make_pdf(tmp_path / "案例.pdf", pages))))
    assert text.count("【场景】") == 4 and text.count("【做法】") == 4


def test_pdf_encrypted_is_refused(tmp_path):
    from pypdf import PdfWriter

    plain = make_pdf(tmp_path / "plain.pdf", HANDBOOK_PAGES)
    writer = PdfWriter(clone_from=str(plain))
    writer.encrypt("secret")
    locked = tmp_path / "locked.pdf"
    writer.write(str(locked))
    with pytest.raises(BadDocument, match="加密"):
        load_file(locked)


def test_pdf_with_empty_user_password_opens(tmp_path):
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=str(make_pdf(tmp_path / "plain.pdf", HANDBOOK_PAGES)))
    writer.encrypt("", owner_password="owner-only")  # opens without a password in any viewer
    path = tmp_path / "owner.pdf"
    writer.write(str(path))
    assert any("独居老人" in b.text for b in load_file(path).blocks)


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9])
def test_pdf_truncated_is_bad_document(tmp_path, keep):
    data = make_pdf(tmp_path / "full.pdf", HANDBOOK_PAGES).read_bytes()
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(BadDocument, match="损坏"):
        load_file(broken)


def test_not_a_pdf_is_bad_document(tmp_path):
    fake = tmp_path / "report.pdf"
    fake.write_text("这其实是一段文字，不是 PDF。" * 20, encoding="utf-8")
    with pytest.raises(BadDocument, match="损坏"):
        load_file(fake)


def test_scanned_pdf_is_read_with_ocr(tmp_path):
    from PIL import Image, ImageDraw, ImageFont

    font_file = cjk_font()
    lines = ["独居老人走访记录", "发现老人倒地先拨打急救电话"] if font_file else ["HOTLINE 12345", "ROOM 2026"]
    font = ImageFont.truetype(font_file, 44) if font_file else ImageFont.load_default(size=44)
    image = Image.new("RGB", (1200, 500), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((60, 80 + 120 * i), line, font=font, fill="black")
    path = tmp_path / "扫描件.pdf"
    image.save(path, "PDF", resolution=150)  # an image only, no text layer

    doc = load_file(path)
    assert doc.meta["ocr"] is True
    assert any("OCR" in w for w in doc.warnings)
    text = "".join(b.text for b in doc.blocks)
    if font_file:
        assert "老人" in text and "急救电话" in text
    else:
        assert "12345" in text and "2026" in text
    assert all(b.page == 1 for b in doc.blocks)


def test_pdf_without_text_or_readable_images_is_refused(tmp_path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "blank.pdf"
    c = canvas.Canvas(str(path))
    c.rect(100, 100, 200, 200)  # a drawing, no text, no image
    c.showPage()
    c.save()
    with pytest.raises(BadDocument, match="扫描件"):
        load_file(path)


def make_text_then_scan_pdf(path: Path) -> Path:
    """Page 1 has a text layer; page 2 is only an image of the text "HOTLINE 12345"."""
    from PIL import Image, ImageDraw, ImageFont
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    image = Image.new("RGB", (1200, 300), "white")
    ImageDraw.Draw(image).text((60, 100), "HOTLINE 12345", font=ImageFont.load_default(size=60), fill="black")
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path))
    c.setFont("STSong-Light", 11)
    c.drawString(40, 800, "各社区：请按附件要求开展走访，做好记录。")
    c.showPage()
    c.drawImage(ImageReader(image), 20, 500, width=560, height=140)
    c.showPage()
    c.save()
    return path


def test_pdf_scanned_page_among_text_pages_is_read_with_ocr(tmp_path):
    doc = load_file(make_text_then_scan_pdf(tmp_path / "通知.pdf"))
    by_page = {b.page: b.text for b in doc.blocks}
    assert "请按附件要求开展走访" in by_page[1]
    assert "12345" in by_page[2]
    assert doc.meta["ocr_pages"] == [2] and "ocr" not in doc.meta
    assert doc.warnings == ["第2页没有文字层，已用 OCR 识别，可能有错字"]


def test_pdf_scanned_page_without_ocr_still_loads_with_a_warning(tmp_path, monkeypatch):
    import ingest.loaders.pdf as pdf_loader

    def no_engine():
        raise ImportError("No module named 'rapidocr_onnxruntime'")

    monkeypatch.setattr(pdf_loader, "_ocr_engine", no_engine)
    doc = load_file(make_text_then_scan_pdf(tmp_path / "通知.pdf"))
    assert [b.page for b in doc.blocks] == [1]
    assert doc.meta["unread_pages"] == [2]
    assert len(doc.warnings) == 1 and doc.warnings[0].startswith("第2页没有读出文字")
    assert "OCR" in doc.warnings[0]


# --- plain text and Markdown ---


GUIDE = "一、证件办理\n（一）无犯罪记录证明\n本人携带身份证到户籍所在地派出所申请。\n1. 立即拨打110报警，并通知家属。\n"


def test_gbk_txt_is_decoded(tmp_path):
    path = tmp_path / "办事指南.txt"
    path.write_bytes(GUIDE.encode("gbk"))
    doc = load_file(path)
    assert doc.meta["encoding"] == "gb18030"
    assert [b.text for b in doc.blocks if b.kind == "heading"] == ["一、证件办理", "（一）无犯罪记录证明"]
    paragraphs = [b.text for b in doc.blocks if b.kind == "paragraph"]
    assert paragraphs == ["本人携带身份证到户籍所在地派出所申请。", "1. 立即拨打110报警，并通知家属。"]


@pytest.mark.parametrize("encoding,reported", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8"), ("utf-16", "utf-16")])
def test_unicode_txt_is_decoded(tmp_path, encoding, reported):
    path = tmp_path / "guide.txt"
    path.write_bytes(GUIDE.encode(encoding))
    doc = load_file(path)
    assert doc.meta["encoding"] == reported
    assert doc.blocks[0].text == "一、证件办理"


def test_hard_wrapped_txt_lines_are_rejoined(tmp_path):
    path = tmp_path / "wrapped.txt"
    path.write_text(
        "二、邻里纠纷调解\n调解员接到居民反映后，应当在两个工作\n日内联系双方当事人，了解纠纷的起因\n和经过。\n"
        "调解达成协议的，可以制作书面调解协议\n书。\n",
        encoding="utf-8",
    )
    doc = load_file(path)
    assert [b.text for b in doc.blocks] == [
        "二、邻里纠纷调解",
        "调解员接到居民反映后，应当在两个工作日内联系双方当事人，了解纠纷的起因和经过。",
        "调解达成协议的，可以制作书面调解协议书。",
    ]


def test_binary_file_named_txt_is_refused(tmp_path):
    path = tmp_path / "photo.txt"
    path.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(BadDocument, match="编码"):
        load_file(path)



@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_a_text_file_cut_off_mid_character_is_read_with_a_warning(tmp_path, encoding):
    """A copy cut short (or one stray byte) used to reject the whole file with "另存为 UTF-8" advice."""
    text = "居民来开无犯罪记录证明的，告知到派出所办理，社区不开具。" * 20 + "最后一句没写完"
    data = text.encode(encoding)[:-1]  # the last character loses a byte
    path = tmp_path / "通知.txt"
    path.write_bytes(data)
    doc = load_file(path)
    body = "".join(b.text for b in doc.blocks)
    assert "社区不开具" in body and "\ufffd" in body
    assert doc.warnings and "1 处字节无法识别" in doc.warnings[0]

def test_markdown_headings_and_title(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text(
        "# 社区消防检查手册\n\n## 消防通道\n\n### 检查要点\n\n楼道不得堆放杂物。\n电动车不得在楼道充电。\n\n"
        "1. 拍照留存\n2. 通知物业\n\n```\n# 这不是标题\n```\n",
        encoding="utf-8",
    )
    doc = load_file(path)
    assert doc.title == "社区消防检查手册"
    assert [(b.text, b.level) for b in doc.blocks if b.kind == "heading"] == [("消防通道", 2), ("检查要点", 3)]
    assert "1. 拍照留存\n2. 通知物业" in [b.text for b in doc.blocks]
    assert doc.meta["encoding"] == "utf-8"
    chunk = chunk_document(doc)[0]
    assert chunk.location == "消防通道 › 检查要点"
    assert "社区消防检查手册" in chunk.index_text


def test_policy_txt_with_articles(tmp_path):
    text = (
        "某市居家养老服务办法\n第一章 总则\n第一条 为了规范居家养老服务，制定本办法。\n"
        "第二条 本办法适用于本市行政区域。\n第二章 服务内容\n第三条 居家养老服务包括：\n"
        "（一）助餐服务；\n（二）上门探访；\n第四条 本办法自发布之日起施行。\n"
    )
    path = tmp_path / "居家养老服务办法.txt"
    path.write_text(text, encoding="utf-8")
    doc = load_file(path)
    assert doc.doc_type == "policy"
    articles = [b for b in doc.blocks if b.kind == "article"]
    assert [a.label for a in articles] == ["第一条", "第二条", "第三条", "第四条"]
    assert articles[2].text == "居家养老服务包括：\n（一）助餐服务；\n（二）上门探访；"
    locations = [c.location for c in chunk_document(doc) if c.meta.get("article")]
    assert locations[2] == "第二章 服务内容 › 第三条"


NOTICE = """X民发〔2024〕12号
各街道办事处：
为进一步规范城乡最低生活保障管理，根据《社会救助暂行办法》和省、市有关规定，结合我区实际，现就做好低保动态管理工作通知如下。
一、总体要求
坚持应保尽保、应退尽退，做到公平公正、动态管理，确保困难群众基本生活得到保障，不让一户困难家庭在政策之外。
二、工作要求
各街道要高度重视，明确专人负责，按季度开展入户核查，核查结果及时录入系统并在社区公示栏公示。
附件：1．低保家庭入户核查表
2．低保动态调整情况汇总表
某区民政局
2024年3月15日
附件1
低保家庭入户核查表
户主姓名、家庭人口、月收入、核查人签字。
附件2
低保动态调整情况汇总表
街道名称、新增户数、停保户数。
"""


def test_notice_attachments_are_sections_of_their_own(tmp_path):
    """Before, the second line of the 附件 list ("2．…汇总表") became a heading, and the 落款 and
    both attachments were cited as "二、工作要求 › 2．低保动态调整情况汇总表"."""
    path = tmp_path / "低保动态管理通知.txt"
    path.write_text(NOTICE, encoding="utf-8")
    chunks = chunk_document(load_file(path))
    assert [(c.location, c.text) for c in chunks[-3:]] == [
        ("二、工作要求", "各街道要高度重视，明确专人负责，按季度开展入户核查，核查结果及时录入系统并在社区公示栏公示。\n附件：1．低保家庭入户核查表\n2．低保动态调整情况汇总表\n某区民政局\n2024年3月15日"),
        ("附件1 低保家庭入户核查表", "户主姓名、家庭人口、月收入、核查人签字。"),
        ("附件2 低保动态调整情况汇总表", "街道名称、新增户数、停保户数。"),
    ]


def test_attachment_after_the_last_article_is_not_part_of_it(tmp_path):
    """Before, an 办法's attachment (a form with its own 一、二、) was glued to its last article."""
    pages = [
        ["某区临时救助实施办法", "第一章　总则", "第一条　为了做好临时救助工作，制定本办法。", "第二条　本办法适用于本区。",
         "第三条　临时救助由街道办事处受理。"],
        ["第四条　本办法自2024年5月1日起施行。", "附件", "临时救助申请表", "一、申请人基本情况", "姓名、性别、家庭住址。"],
    ]
    chunks = chunk_document(load_file(make_pdf(tmp_path / "临时救助实施办法.pdf", pages)))
    last_article = next(c for c in chunks if c.meta.get("article") == "第四条")
    assert last_article.text == "第四条 本办法自2024年5月1日起施行。"
    form = chunks[-1]
    assert form.location == "第2页 · 附件 临时救助申请表" and not form.meta.get("article")
    assert form.text == "一、申请人基本情况\n姓名、性别、家庭住址。"


QA_PAIRS = [
    ("问：户籍不在本社区的居民能否申请低保？",
     ["答：低保原则上向户籍所在地的乡镇人民政府（街道办事处）提出申请；有条件的地方可以按照规定向经常居住地提出申请。"
      "经常居住地申请的，一般要求持有当地居住证并连续居住满一定年限，具体年限和材料以当地规定为准。"]),
    ("问：家里有车还能申请低保吗？",
     ["答：一般情况下，拥有机动车辆的家庭不符合低保条件，但用于残疾人功能性补偿代步的机动车、"
      "从事营运的低值车辆等情形，各地有不同的例外规定。社工可以先帮居民查清车辆的用途、价值和登记情况，"
      "再对照本地实施细则判断，不要在接待时就直接答复不能申请。"]),
    ("问：申请低保需要准备哪些材料？", ["答：通常需要以下材料：", "1．身份证和户口簿", "2．家庭收入和财产情况说明",
                              "3．授权核查家庭经济状况的声明书。"]),
    ("问：审批需要多长时间？", ["答：一般在30个工作日内办结，特殊情况可以适当延长，延长时间一般不超过15个工作日。"]),
]


def test_markdown_table_rows_read_as_labelled_lines(tmp_path):
    """Each row carries its column names, so a row cut into a later chunk still says what its cells are;
    the | --- | rule is not shown. A pipe line that is not part of a table stays as it is."""
    path = tmp_path / "清单.md"
    path.write_text("## 不属于居委会的事项\n\n| 事项 | 应去部门 | 说明 |\n| --- | :---: | --- |\n"
                    "| 补办身份证 | 派出所 | 本人到场 |\n| 无犯罪记录证明 | 公安机关 | | 多出的一格 |\n\n| 这一行 | 不是表格 |\n",
                    encoding="utf-8")
    chunks = chunk_document(load_file(path))
    assert [c.text for c in chunks] == ["事项：补办身份证；应去部门：派出所；说明：本人到场\n事项：无犯罪记录证明；应去部门：公安机关；多出的一格\n"
                                        "| 这一行 | 不是表格 |"]


@pytest.mark.parametrize("name", ["低保政策问答.txt", "低保政策问答.md"])
def test_question_and_answer_is_one_chunk_each(tmp_path, name):
    """Before, pairs were packed like running text: a chunk ended after a question whose answer
    began the next chunk, and the numbered lines of an answer ("1．身份证和户口簿") became headings."""
    bold = name.endswith(".md")
    heading = "## " if bold else ""
    lines = ["# 低保政策问答" if bold else "低保政策问答", heading + "一、申请条件"]
    for i, (question, answer) in enumerate(QA_PAIRS):
        if i == 3:
            lines.append(heading + "二、审核审批")
        lines += [f"**{question}**" if bold else question, *answer]
    path = tmp_path / name
    path.write_text(("\n\n" if bold else "\n").join(lines) + "\n", encoding="utf-8")

    chunks = [c for c in chunk_document(load_file(path)) if "问：" in c.text]
    assert [c.text for c in chunks] == ["\n".join([f"**{q}**" if bold else q, *a]) for q, a in QA_PAIRS]
    assert [c.location for c in chunks] == ["一、申请条件"] * 3 + ["二、审核审批"]
    assert chunks[3].meta["path"] == ["二、审核审批"]


@pytest.mark.parametrize("name", ["问答.md", "问答.docx"])
def test_numbered_heading_marked_as_one_ends_the_answer_before_it(tmp_path, name):
    """A numbered line after an answer is its list, unless the document marks it as a heading
    (Markdown "## 2. 低保申请", a Word heading style). Before, that heading was glued to the
    answer above it and the questions after it were filed under the section before."""
    sections = [("1. 户籍办理", QA_PAIRS[:2]), ("2. 低保申请", QA_PAIRS[2:4])]
    path = tmp_path / name
    if name.endswith(".md"):
        lines = ["# 社区办事问答"]
        for heading, pairs in sections:
            lines.append("## " + heading)
            lines += ["\n".join([q, *a]) for q, a in pairs]
        path.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    else:
        import docx

        document = docx.Document()
        for heading, pairs in sections:
            document.add_paragraph(heading, style="Heading 2")
            for q, a in pairs:
                for line in (q, *a):
                    document.add_paragraph(line)
        document.save(str(path))

    chunks = [c for c in chunk_document(load_file(path)) if "问：" in c.text]
    assert [c.location for c in chunks] == ["1. 户籍办理"] * 2 + ["2. 低保申请"] * 2
    assert all("低保申请" not in c.text for c in chunks)


def test_traditional_text_simplified_only_in_index(tmp_path):
    sentence = "社區居民委員會應當協助辦理。"
    path = tmp_path / "繁體.txt"
    path.write_text(sentence, encoding="utf-8")
    chunk = chunk_document(load_file(path))[0]
    assert chunk.text == sentence
    assert "社区居民委员会应当协助办理" in chunk.index_text
    assert "會" not in chunk.index_text and normalize("ＡＢＣ　１２３") == "ABC 123"


# --- empty, unsupported, too large ---


@pytest.mark.parametrize("name", ["empty.txt", "empty.pdf", "empty.docx", "empty.xlsx", "empty.csv", "empty.md"])
def test_empty_file_is_refused(tmp_path, name):
    path = tmp_path / name
    path.touch()
    with pytest.raises(BadDocument, match="空"):
        load_file(path)


def test_whitespace_only_file_is_refused(tmp_path):
    path = tmp_path / "blank.txt"
    path.write_text(" \n\n\u3000\n", encoding="utf-8")
    with pytest.raises(BadDocument, match="没有"):
        load_file(path)


@pytest.mark.parametrize("name", ["setup.exe", "slides.pptx", "noext"])
def test_unsupported_type(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"MZ\x90\x00" * 10)
    with pytest.raises(UnsupportedFile, match="不支持的文件类型") as err:
        load_file(path)
    assert "PDF、Word(.docx)、TXT、Markdown、Excel(.xlsx)、CSV" in str(err.value)


def test_old_word_format_gets_a_hint(tmp_path):
    path = tmp_path / "old.doc"
    path.write_bytes(b"\xd0\xcf\x11\xe0" * 10)
    with pytest.raises(UnsupportedFile, match=r"另存为 \.docx"):
        load_file(path)


def test_missing_file(tmp_path):
    with pytest.raises(BadDocument, match="找不到"):
        load_file(tmp_path / "nowhere.pdf")


@pytest.mark.parametrize("name", ["big.pdf", "big.txt"])
def test_too_large_file_is_refused_before_reading(tmp_path, name):
    path = tmp_path / name
    with open(path, "wb") as f:
        f.truncate(200 * 1024 * 1024)  # sparse: no disk used
    start = time.monotonic()
    with pytest.raises(BadDocument) as err:
        load_file(path)
    assert time.monotonic() - start < 1.0
    assert "200.0 MB" in str(err.value) and "100 MB" in str(err.value)


def test_upload_limit_comes_from_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("SHEGONG_MAX_UPLOAD_MB", "1")
    reset_settings()
    path = tmp_path / "medium.txt"
    path.write_text("社区" * 400_000, encoding="utf-8")  # 2.4 MB
    with pytest.raises(BadDocument, match="1 MB"):
        load_file(path)


def test_unknown_doc_type_is_refused(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("内容。", encoding="utf-8")
    with pytest.raises(UserError, match="资料类型"):
        load_file(path, doc_type="novel")


def test_doc_type_title_and_sample_flag(tmp_path):
    samples = tmp_path / "knowledge" / "samples"
    samples.mkdir(parents=True)
    path = samples / "北京市养老服务条例（示例）.txt"
    path.write_text("内容。", encoding="utf-8")
    doc = load_file(path)
    assert doc.title == "北京市养老服务条例（示例）" and doc.doc_type == "policy" and doc.meta["sample"] is True
    other = tmp_path / "走访手册.txt"
    other.write_text("内容。", encoding="utf-8")
    doc = load_file(other, doc_type="case", title="我的标题")
    assert (doc.title, doc.doc_type, "sample" in doc.meta) == ("我的标题", "case", False)


# --- Word ---


def test_docx_heading_styles_tables_and_numbered_lines(tmp_path):
    import docx

    document = docx.Document()
    document.add_heading("社区工作手册", level=0)  # Title style
    document.add_heading("家庭暴力处置", level=1)
    document.add_heading("接到求助", level=2)
    document.add_paragraph("先确认求助人是否安全。必要时协助申请人身安全保护令。")
    document.add_paragraph("（一）后续跟进")  # Normal style, Chinese numbering
    document.add_paragraph("一周内回访一次。")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "机构", "电话"
    table.cell(1, 0).text, table.cell(1, 1).text = "妇联", "12338"
    path = tmp_path / "手册.docx"
    document.save(str(path))

    doc = load_file(path)
    assert doc.title == "社区工作手册"
    assert [(b.text, b.level) for b in doc.blocks if b.kind == "heading"] == [
        ("家庭暴力处置", 1),
        ("接到求助", 2),
        ("（一）后续跟进", 2),
    ]
    assert "机构 | 电话" in [b.text for b in doc.blocks] and "妇联 | 12338" in [b.text for b in doc.blocks]
    chunks = chunk_document(doc)
    assert chunks[0].location == "家庭暴力处置 › 接到求助" and "保护令" in chunks[0].text
    assert chunks[0].meta["path"] == ["家庭暴力处置", "接到求助"]
    assert chunks[1].location == "家庭暴力处置 › （一）后续跟进" and "12338" in chunks[1].text


def test_docx_table_of_contents_is_left_out(tmp_path):
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    toc = document.styles.add_style("toc 1", WD_STYLE_TYPE.PARAGRAPH)  # what Word names a contents line
    document.add_paragraph("一、证件遗失\t2", style=toc)
    document.add_paragraph("二、独居老人走访\t3", style=toc)
    document.add_paragraph("三、邻里纠纷…………………………4")  # typed by hand, Normal style
    document.add_paragraph("一、证件遗失")
    document.add_paragraph("居民身份证遗失的，到派出所申请补领。")
    document.add_paragraph("二、独居老人走访")
    document.add_paragraph("每周至少上门走访一次。")
    path = tmp_path / "手册.docx"
    document.save(str(path))

    chunks = chunk_document(load_file(path))
    assert [(c.location, c.text) for c in chunks] == [
        ("一、证件遗失", "居民身份证遗失的，到派出所申请补领。"),
        ("二、独居老人走访", "每周至少上门走访一次。"),
    ]


def ole_file(*stream_names: str) -> bytes:
    """The start of an OLE compound file (the container of .doc/.xls and of password-protected
    .docx/.xlsx) with its directory's stream names, as Office writes them in UTF-16."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    directory = b"".join(name.encode("utf-16-le").ljust(64, b"\0") + bytes(64) for name in ("Root Entry", *stream_names))
    return header + directory + bytes(2048)


@pytest.mark.parametrize("ext, app", [(".docx", "Word"), (".xlsx", "Excel")])
def test_password_protected_office_file_says_so(tmp_path, ext, app):
    path = tmp_path / f"加密{ext}"
    path.write_bytes(ole_file("\x06DataSpaces", "EncryptionInfo", "EncryptedPackage"))
    with pytest.raises(BadDocument, match=f"设置了打开密码.*{app}"):
        load_file(path)


def test_old_word_file_renamed_to_docx_says_so(tmp_path):
    path = tmp_path / "通知.docx"
    path.write_bytes(ole_file("WordDocument", "1Table"))
    with pytest.raises(BadDocument, match=r"旧版 \.doc 文件.*另存为 \.docx"):
        load_file(path)


def test_chapter_number_and_title_on_two_lines_are_one_heading(tmp_path):
    """A centred "第一章" with "总则" under it: before, the path said only "第一章" and "总则"
    became a chunk of its own."""
    import docx

    document = docx.Document()
    for line in ["某区困难群众临时救助实施办法", "第一章", "总则", "第一条　为了做好临时救助工作，制定本办法。",
                 "第二条　本办法适用于本区。", "第二章", "救助对象",
                 "第三条　因火灾等意外事件导致基本生活暂时出现严重困难的家庭，可以申请临时救助。"]:
        document.add_paragraph(line)
    path = tmp_path / "临时救助实施办法.docx"
    document.save(str(path))

    chunks = chunk_document(load_file(path))
    assert [c.location for c in chunks] == ["正文", "第一章 总则 › 第一条", "第一章 总则 › 第二条", "第二章 救助对象 › 第三条"]
    assert chunks[3].meta["path"] == ["第二章 救助对象"]


def test_short_numbered_lines_with_nothing_under_them_are_kept(tmp_path):
    """"1．身份证" with no punctuation reads as a level-3 heading; before, a list of them with no
    text under any was in no chunk at all, nor was a heading with nothing under it."""
    import docx

    document = docx.Document()
    for line in ["一、低保申请", "（一）所需材料", "1．身份证", "2．户口簿", "3．家庭收入证明", "（二）办理流程",
                 "居民向社区提出申请，社区受理后五个工作日内报街道审核。", "二、其他事项"]:
        document.add_paragraph(line)
    path = tmp_path / "手册.docx"
    document.save(str(path))

    chunks = chunk_document(load_file(path))
    assert [(c.location, c.text) for c in chunks] == [
        ("一、低保申请 › （一）所需材料", "1．身份证\n2．户口簿\n3．家庭收入证明"),
        ("一、低保申请 › （二）办理流程", "居民向社区提出申请，社区受理后五个工作日内报街道审核。"),
        ("正文", "二、其他事项"),
    ]


def test_docx_footnotes_are_kept_after_their_paragraph(tmp_path):
    """Before, footnotes (where a handbook names the law it relies on) were not read at all."""
    import docx
    from docx.opc.constants import CONTENT_TYPE as CT, RELATIONSHIP_TYPE as RT
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part
    from docx.oxml import parse_xml

    document = docx.Document()
    document.add_paragraph("一、低保申请")
    cited = document.add_paragraph("低保原则上向户籍所在地提出申请。")
    cited._p.append(parse_xml(f'<w:r {W_NS}><w:footnoteReference w:id="1"/></w:r>'))
    document.add_paragraph("二、临时救助")
    document.add_paragraph("因意外导致基本生活暂时困难的家庭可以申请临时救助。")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "临时救助热线", "12349"
    table.cell(0, 1).paragraphs[0]._p.append(parse_xml(f'<w:r {W_NS}><w:footnoteReference w:id="2"/></w:r>'))
    document.add_paragraph()._p.append(parse_xml(f'<w:r {W_NS}><w:footnoteReference w:id="3"/></w:r>'))  # a mark alone
    note = '<w:footnote w:id="{}"><w:p><w:r><w:footnoteRef/></w:r><w:r><w:t xml:space="preserve"> {}</w:t></w:r></w:p></w:footnote>'
    notes = (f'<w:footnotes {W_NS}><w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
             + note.format(1, "依据《社会救助暂行办法》第十一条。") + note.format(2, "工作日 8:30-17:30。")
             + note.format(3, "以上为示例。") + '</w:footnotes>')
    part = Part(PackURI("/word/footnotes.xml"), CT.WML_FOOTNOTES, notes.encode("utf-8"), document.part.package)
    document.part.relate_to(part, RT.FOOTNOTES)
    path = tmp_path / "手册.docx"
    document.save(str(path))

    chunks = chunk_document(load_file(path))
    assert [(c.location, c.text) for c in chunks] == [
        ("一、低保申请", "低保原则上向户籍所在地提出申请。\n注：依据《社会救助暂行办法》第十一条。"),
        ("二、临时救助", "因意外导致基本生活暂时困难的家庭可以申请临时救助。\n"
                        "临时救助热线 | 12349 （注：工作日 8:30-17:30。）\n注：以上为示例。"),
    ]


def test_docx_automatic_numbering_is_shown_as_in_word(tmp_path):
    """Word keeps the "一、" of a numbered heading in numbering.xml, not in the text. Before, the
    path said "总体要求" where the reader sees "一、总体要求", and "（一）开展入户核查" typed as a
    numbered list was no heading at all."""
    import docx
    from docx.oxml import parse_xml

    document = docx.Document()
    numbering = document.part.numbering_part.element
    levels = [("chineseCounting", "%1、"), ("chineseCounting", "（%2）"), ("decimal", "%3.")]
    numbering.insert(0, parse_xml(f'<w:abstractNum {W_NS} w:abstractNumId="90">' + "".join(
        f'<w:lvl w:ilvl="{i}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/><w:lvlText w:val="{text}"/></w:lvl>'
        for i, (fmt, text) in enumerate(levels)) + "</w:abstractNum>"))
    numbering.append(parse_xml(f'<w:num {W_NS} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))

    def numbered(text: str, level: int, style: str | None = None) -> None:
        paragraph = document.add_paragraph(text, style=style)
        paragraph._p.get_or_add_pPr().append(parse_xml(
            f'<w:numPr {W_NS}><w:ilvl w:val="{level}"/><w:numId w:val="90"/></w:numPr>'))

    numbered("总体要求", 0, "Heading 1")
    document.add_paragraph("坚持应保尽保、应退尽退。")
    numbered("主要任务", 0, "Heading 1")
    numbered("开展入户核查", 1)
    document.add_paragraph("街道每季度对低保家庭开展一次入户核查。")
    numbered("加强动态调整", 1)
    document.add_paragraph("家庭状况发生变化的，应当在30日内调整保障金额。")
    # numbered lines in a table cell count in the same list, and so does an empty numbered line (Word shows "3.")
    cell = document.add_table(rows=1, cols=1).cell(0, 0)
    for text in ("身份证", "", "收入证明"):
        paragraph = cell.add_paragraph(text)
        paragraph._p.get_or_add_pPr().append(parse_xml(f'<w:numPr {W_NS}><w:ilvl w:val="2"/><w:numId w:val="90"/></w:numPr>'))
    path = tmp_path / "通知.docx"
    document.save(str(path))

    chunks = chunk_document(load_file(path))
    assert [c.location for c in chunks] == ["一、总体要求", "二、主要任务 › （一）开展入户核查", "二、主要任务 › （二）加强动态调整"]
    assert chunks[-1].text.endswith("30日内调整保障金额。\n1.身份证 3.收入证明")


def test_docx_articles_numbered_automatically_are_articles(tmp_path):
    """A 办法 whose "第%1条" comes from Word's numbering. Before, the label was glued to the text
    ("第一条为了规范…"), no paragraph started an article, and the 办法 was read as a handbook."""
    import docx
    from docx.oxml import parse_xml

    document = docx.Document()
    numbering = document.part.numbering_part.element
    numbering.insert(0, parse_xml(f'<w:abstractNum {W_NS} w:abstractNumId="91"><w:lvl w:ilvl="0"><w:start w:val="1"/>'
                                  '<w:numFmt w:val="chineseCounting"/><w:lvlText w:val="第%1条"/></w:lvl></w:abstractNum>'))
    numbering.append(parse_xml(f'<w:num {W_NS} w:numId="91"><w:abstractNumId w:val="91"/></w:num>'))
    for text in ["为了规范社区网格管理，制定本办法。", "本办法适用于本市各街道。", "网格员应当每月走访辖区居民。"]:
        paragraph = document.add_paragraph(text)
        paragraph._p.get_or_add_pPr().append(parse_xml(
            f'<w:numPr {W_NS}><w:ilvl w:val="0"/><w:numId w:val="91"/></w:numPr>'))
    path = tmp_path / "网格管理办法.docx"
    document.save(str(path))

    blocks = load_file(path).blocks
    assert [(b.kind, b.label) for b in blocks] == [("article", "第一条"), ("article", "第二条"), ("article", "第三条")]
    assert blocks[2].text == "网格员应当每月走访辖区居民。"


def test_a_list_of_hotlines_with_dotted_leaders_is_not_a_table_of_contents(tmp_path):
    """"匪警……………110" looks like a contents line; without a contents title or Word's contents style before it,
    and in a PDF without page numbers that fit the document, it is text."""
    import docx

    hotlines = ["匪警……………………110", "火警……………………119", "急救……………………120", "社区服务中心……………12345"]
    document = docx.Document()
    document.add_paragraph("一、常用电话")
    for line in hotlines:
        document.add_paragraph(line)
    path = tmp_path / "电话.docx"
    document.save(str(path))
    text = "\n".join(c.text for c in chunk_document(load_file(path)))
    assert all(line in text for line in hotlines)

    pages = [["一、常用电话", *hotlines], ["二、走访", "每周走访一次。"], ["三、调解", "先听双方诉求。"]]
    text = "\n".join(c.text for c in chunk_document(load_file(make_pdf(tmp_path / "电话.pdf", pages))))
    assert all(line in text for line in hotlines)


def test_corrupt_docx_is_bad_document(tmp_path):
    path = tmp_path / "broken.docx"
    path.write_bytes(b"PK\x03\x04 not really a zip" * 10)
    with pytest.raises(BadDocument, match="Word"):
        load_file(path)


def test_docx_nested_table_text_is_kept(tmp_path):
    import docx

    document = docx.Document()
    outer = document.add_table(rows=2, cols=2)
    outer.cell(0, 0).text, outer.cell(0, 1).text = "事项", "联系方式"
    outer.cell(1, 0).text = "紧急求助"
    inner = outer.cell(1, 1).add_table(rows=2, cols=2)  # a table inside a cell
    inner.cell(0, 0).text, inner.cell(0, 1).text = "派出所", "110"
    inner.cell(1, 0).text, inner.cell(1, 1).text = "妇联", "12338"
    path = tmp_path / "联系表.docx"
    document.save(str(path))

    texts = [b.text for b in load_file(path).blocks]
    assert texts == ["事项 | 联系方式", "紧急求助 | （派出所 | 110；妇联 | 12338）"]


W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def test_docx_text_boxes_content_controls_tracked_insertions_and_fields_are_kept(tmp_path):
    """python-docx's paragraph.text reads only plain runs and hyperlinks: before, a text box, a
    content control (templates put 发文字号 and titles in them), text inserted with track changes
    on and a field's shown text were all dropped without a word."""
    import docx
    from docx.oxml import parse_xml

    document = docx.Document()
    document.add_paragraph("X民发〔2024〕12号")
    anchor = document.add_paragraph("遇到紧急情况请先拨打热线。")
    # a text box as Word 2010+ saves it: the shape, and a VML copy of it for old readers
    box = '<w:txbxContent><w:p><w:r><w:t>{}</w:t></w:r></w:p></w:txbxContent>'
    anchor._p.append(parse_xml(
        f'<w:r {W_NS} xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
        'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
        'xmlns:v="urn:schemas-microsoft-com:vml"><mc:AlternateContent>'
        f'<mc:Choice Requires="wps"><w:drawing><wps:txbx>{box.format("24小时救助热线：12345。")}</wps:txbx></w:drawing></mc:Choice>'
        f'<mc:Fallback><w:pict><v:shape><v:textbox>{box.format("24小时救助热线：12345。")}</v:textbox></v:shape></w:pict></mc:Fallback>'
        '</mc:AlternateContent></w:r>'))
    document.element.body.insert(0, parse_xml(  # a content control around a whole paragraph
        f'<w:sdt {W_NS}><w:sdtPr/><w:sdtContent><w:p><w:r><w:t>某区民政局关于做好低保动态管理工作的通知</w:t></w:r></w:p>'
        '</w:sdtContent></w:sdt>'))
    tracked = document.add_paragraph("低保家庭每季度核查一次")
    tracked._p.append(parse_xml(
        f'<w:ins {W_NS} w:id="1" w:author="督导" w:date="2024-03-01T00:00:00Z"><w:r><w:t>，结果记入台账。</w:t></w:r></w:ins>'))
    tracked._p.append(parse_xml(
        f'<w:del {W_NS} w:id="2" w:author="督导" w:date="2024-03-01T00:00:00Z"><w:r><w:delText>已删去的旧规定。</w:delText></w:r></w:del>'))
    field = document.add_paragraph("详见")
    field._p.append(parse_xml(f'<w:fldSimple {W_NS} w:instr=" REF _Ref1 \\h "><w:r><w:t>附件2</w:t></w:r></w:fldSimple>'))
    cell = document.add_table(rows=1, cols=1).cell(0, 0)
    cell._tc.append(parse_xml(f'<w:sdt {W_NS}><w:sdtContent><w:p><w:r><w:t>表格里的内容控件</w:t></w:r></w:p></w:sdtContent></w:sdt>'))
    toc_heading = document.styles["TOC Heading"].style_id  # Word's contents list is a content control too
    document.element.body.insert(1, parse_xml(
        f'<w:sdt {W_NS}><w:sdtPr><w:docPartObj><w:docPartGallery w:val="Table of Contents"/></w:docPartObj></w:sdtPr>'
        f'<w:sdtContent><w:p><w:pPr><w:pStyle w:val="{toc_heading}"/></w:pPr><w:r><w:t>目录</w:t></w:r></w:p>'
        '<w:p><w:r><w:t>一、总体要求</w:t></w:r><w:r><w:tab/></w:r><w:r><w:t>2</w:t></w:r></w:p></w:sdtContent></w:sdt>'))
    path = tmp_path / "通知.docx"
    document.save(str(path))

    texts = [b.text for b in load_file(path).blocks]
    assert texts == [
        "某区民政局关于做好低保动态管理工作的通知",
        "X民发〔2024〕12号",
        "遇到紧急情况请先拨打热线。",
        "24小时救助热线：12345。",  # the text box once, after the paragraph it is anchored to
        "低保家庭每季度核查一次，结果记入台账。",  # the deleted words are not shown in Word either
        "详见附件2",
        "表格里的内容控件",
    ]


# --- tables ---


CASES = [
    ["标题", "场景", "问题", "做法"],
    ["独居老人失联", "独居老人两天没有出门", "联系不上老人", "联系家属并请物业开门"],
    [None, None, None, None],
    ["邻里噪音纠纷", "楼上装修噪音", "邻居多次投诉", "组织人民调解"],
    ["低保申请", "老人不会填表", None, "网格员上门代办"],
]


def test_xlsx_rows_become_records(tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.title = "空表"
    sheet = workbook.create_sheet("案例")
    for row in CASES:
        sheet.append(row)
    path = tmp_path / "案例库.xlsx"
    workbook.save(str(path))

    doc = load_file(path)
    assert doc.doc_type == "case" and doc.meta["sheet"] == "案例"
    chunks = chunk_document(doc)
    assert [c.location for c in chunks] == ["案例 1 · 独居老人失联", "案例 2 · 邻里噪音纠纷", "案例 3 · 低保申请"]
    assert chunks[0].text == "标题：独居老人失联\n场景：独居老人两天没有出门\n问题：联系不上老人\n做法：联系家属并请物业开门"
    assert chunks[2].meta["fields"] == {"标题": "低保申请", "场景": "老人不会填表", "做法": "网格员上门代办"}
    assert "邻里噪音纠纷" in chunks[1].index_text and "人民调解" in chunks[1].index_text


def test_xlsx_with_header_only_is_refused(tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.append(["标题", "做法"])
    path = tmp_path / "空案例.xlsx"
    workbook.save(str(path))
    with pytest.raises(BadDocument, match="没有数据行"):
        load_file(path)


def test_corrupt_xlsx_is_bad_document(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"this is not a spreadsheet" * 10)
    with pytest.raises(BadDocument, match="Excel"):
        load_file(path)


def test_gbk_csv(tmp_path):
    path = tmp_path / "案例.csv"
    with open(path, "w", encoding="gbk", newline="") as f:
        csv.writer(f).writerows([[c or "" for c in row] for row in CASES])
    doc = load_file(path)
    assert doc.meta["encoding"] == "gb18030"
    records = [b for b in doc.blocks if b.kind == "record"]
    assert [r.label for r in records] == ["独居老人失联", "邻里噪音纠纷", "低保申请"]
    assert records[1].fields["做法"] == "组织人民调解"



def test_xlsx_every_sheet_is_imported_with_its_name(tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.title = "一月"
    workbook.active.append(["标题", "做法"])
    workbook.active.append(["独居老人失联", "联系家属"])
    second = workbook.create_sheet("二月")
    second.append(["标题", "做法"])
    second.append(["邻里噪音纠纷", "人民调解"])
    second.append(["低保申请", "上门代办"])
    path = tmp_path / "案例库.xlsx"
    workbook.save(str(path))

    doc = load_file(path)
    assert doc.meta["sheets"] == ["一月", "二月"] and doc.meta["rows"] == 3
    assert [c.location for c in chunk_document(doc)] == [
        "案例 1 · 一月 › 独居老人失联",
        "案例 2 · 二月 › 邻里噪音纠纷",
        "案例 3 · 二月 › 低保申请",
    ]


def test_xlsx_header_only_sheet_does_not_hide_the_data_sheet(tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.title = "模板"
    workbook.active.append(["标题", "做法"])
    data = workbook.create_sheet("数据")
    data.append(["标题", "做法"])
    data.append(["独居老人失联", "联系家属"])
    path = tmp_path / "案例库.xlsx"
    workbook.save(str(path))

    doc = load_file(path)
    assert [b.label for b in doc.blocks] == ["独居老人失联"]  # one sheet with data: no sheet prefix
    assert doc.meta["sheet"] == "数据"
    assert doc.warnings == ["以下工作表只有表头，没有数据行，已跳过：「模板」"]


def test_xlsx_title_row_above_header_is_skipped(tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["社区案例登记表", None, None])
    sheet.merge_cells("A1:C1")
    sheet.append([])
    sheet.append(["标题", "场景", "做法"])
    sheet.append(["独居老人失联", "两天没有出门", "联系家属"])
    path = tmp_path / "案例登记.xlsx"
    workbook.save(str(path))

    doc = load_file(path)
    assert [b.fields for b in doc.blocks] == [{"标题": "独居老人失联", "场景": "两天没有出门", "做法": "联系家属"}]
    assert doc.title == "案例登记" and doc.meta["table_title"] == "社区案例登记表"


def test_duplicate_column_names_keep_both_values(tmp_path):
    path = tmp_path / "案例.csv"
    path.write_text("标题,做法,做法,备注\n独居老人失联,第一步上门探访,第二步电话回访,\n", encoding="utf-8")
    record = load_file(path).blocks[0]
    assert record.fields == {"标题": "独居老人失联", "做法": "第一步上门探访；第二步电话回访"}
    assert record.text == "标题：独居老人失联\n做法：第一步上门探访；第二步电话回访"


def test_xlsx_formulas_without_saved_values(tmp_path):
    import openpyxl

    # openpyxl, like many export tools, writes formulas without their computed values
    workbook = openpyxl.Workbook()
    workbook.active.append(["标题", "做法"])
    workbook.active.append(['=CONCAT("独居","老人")', '="上门"'])
    only_formulas = tmp_path / "公式.xlsx"
    workbook.save(str(only_formulas))
    with pytest.raises(BadDocument, match="公式没有保存计算结果.*在 Excel 中打开并保存"):
        load_file(only_formulas)

    workbook = openpyxl.Workbook()
    workbook.active.append(["标题", "人数", "合计"])
    workbook.active.append(["独居老人", 3, "=B2*2"])
    some_formulas = tmp_path / "部分公式.xlsx"
    workbook.save(str(some_formulas))
    doc = load_file(some_formulas)
    assert doc.blocks[0].fields == {"标题": "独居老人", "人数": "3"}
    assert doc.warnings == ["工作表「Sheet」中有 1 个公式单元格没有保存计算结果，已留空。请在 Excel 中打开并保存后再导入"]
