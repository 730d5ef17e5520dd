"""PDF loading on real files made in tmp_path: text layers, page furniture, OCR, and bad PDFs."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.chunking import chunk_document
from ingest.loaders import load_file
from shegong.errors import BadDocument

from sample_files import cjk_font, make_pdf


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


# --- PDF ---


@pytest.mark.unit
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


@pytest.mark.unit
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


@pytest.mark.unit
def test_pdf_text_on_either_side_of_an_unread_page_does_not_join(tmp_path, monkeypatch):
    import ingest.loaders.pdf as pdf

    monkeypatch.setattr(pdf, "_ocr_page", lambda page: "")  # the middle page is a scan nothing can read
    path = make_pdf(tmp_path / "手册.pdf", [["一、走访", "网格员每周上门走访独居老人一次，发现异常情况应当及时联系老人的"],
                                            [], ["家属并记录在案。", "二、调解", "先分别倾听双方诉求。"]])
    doc = load_file(path)
    assert doc.meta["unread_pages"] == [2]
    paragraphs = [b.text for b in doc.blocks if b.kind == "paragraph"]
    assert paragraphs[:2] == ["网格员每周上门走访独居老人一次，发现异常情况应当及时联系老人的", "家属并记录在案。"]


@pytest.mark.unit
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


@pytest.mark.unit
def test_pdf_encrypted_is_refused(tmp_path):
    from pypdf import PdfWriter

    plain = make_pdf(tmp_path / "plain.pdf", HANDBOOK_PAGES)
    writer = PdfWriter(clone_from=str(plain))
    writer.encrypt("secret")
    locked = tmp_path / "locked.pdf"
    writer.write(str(locked))
    with pytest.raises(BadDocument, match="加密"):
        load_file(locked)


@pytest.mark.unit
def test_pdf_with_empty_user_password_opens(tmp_path):
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=str(make_pdf(tmp_path / "plain.pdf", HANDBOOK_PAGES)))
    writer.encrypt("", owner_password="owner-only")  # opens without a password in any viewer
    path = tmp_path / "owner.pdf"
    writer.write(str(path))
    assert any("独居老人" in b.text for b in load_file(path).blocks)


@pytest.mark.unit
@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9])
def test_pdf_truncated_is_bad_document(tmp_path, keep):
    data = make_pdf(tmp_path / "full.pdf", HANDBOOK_PAGES).read_bytes()
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(BadDocument, match="损坏"):
        load_file(broken)


@pytest.mark.unit
def test_not_a_pdf_is_bad_document(tmp_path):
    fake = tmp_path / "report.pdf"
    fake.write_text("这其实是一段文字，不是 PDF。" * 20, encoding="utf-8")
    with pytest.raises(BadDocument, match="损坏"):
        load_file(fake)


@pytest.mark.integration
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


@pytest.mark.integration
def test_pdf_without_text_or_readable_images_is_refused(tmp_path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "blank.pdf"
    c = canvas.Canvas(str(path))
    c.rect(100, 100, 200, 200)  # a drawing, no text, no image: not a scan
    c.showPage()
    c.save()
    with pytest.raises(BadDocument, match="没有文字，也没有图片"):
        load_file(path)
    from PIL import Image

    scan = tmp_path / "blank-scan.pdf"
    Image.new("RGB", (600, 400), "white").save(scan, "PDF")  # an image with nothing OCR can read: a scan
    with pytest.raises(BadDocument, match="扫描件且未能识别出文字"):
        load_file(scan)


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


@pytest.mark.integration
def test_pdf_scanned_page_among_text_pages_is_read_with_ocr(tmp_path):
    doc = load_file(make_text_then_scan_pdf(tmp_path / "通知.pdf"))
    by_page = {b.page: b.text for b in doc.blocks}
    assert "请按附件要求开展走访" in by_page[1]
    assert "12345" in by_page[2]
    assert doc.meta["ocr_pages"] == [2] and "ocr" not in doc.meta
    assert doc.warnings == ["第2页没有文字层，已用 OCR 识别，可能有错字"]


@pytest.mark.unit
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
