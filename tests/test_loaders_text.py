"""Text, Markdown and policy files, and the checks every file goes through (empty, unsupported, too big)."""

from __future__ import annotations

import csv
import time

import pytest

from ingest.chunking import chunk_document
from ingest.loaders import load_file
from ingest.textutil import normalize
from shegong.config import reset_settings
from shegong.errors import BadDocument, UnsupportedFile, UserError

from sample_files import make_pdf

pytestmark = pytest.mark.unit


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
    """A copy cut short (or one stray byte) is read, not the whole file rejected with "另存为 UTF-8" advice."""
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
