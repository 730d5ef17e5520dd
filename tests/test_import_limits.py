"""Long PDF imports: a page cap, an OCR time cap, progress and cancel; and what a PDF's pages are called.

OCR runs at ~5 s a page on an office PC: a 1,000-page scan would hold the import for 1.5 hours.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ingest.loaders import load_file
from shegong.config import reset_settings
from shegong.errors import BadDocument, ImportCancelled
from sample_files import make_pdf

pytestmark = pytest.mark.unit


def scan_pdf(path: Path, pages: int) -> Path:
    """A PDF of ``pages`` image-only pages (a scan), each with a dark box so the page is not blank."""
    from PIL import Image, ImageDraw

    images = []
    for i in range(pages):
        image = Image.new("RGB", (400, 300), "white")
        ImageDraw.Draw(image).rectangle((40, 40, 40 + 10 * (i % 20 + 1), 120), fill="black")
        images.append(image)
    images[0].save(path, "PDF", resolution=72, save_all=True, append_images=images[1:])
    return path


def blank_pdf(path: Path, pages: int) -> Path:
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    for _ in range(pages):
        c.showPage()
    c.save()
    return path


TEXTS = ["居民反映楼道灯坏了，网格员当天报修。", "独居老人家中燃气报警，社工联系家属。", "邻里噪声纠纷经调解后双方和好。",
         "社区食堂每天中午开餐，老人凭卡就餐。", "暴雨前物业清理了地下车库的排水沟。"]


@pytest.fixture
def slow_ocr(monkeypatch):
    """OCR that takes 0.2 s a page and reads one line; counts the pages it was asked to read."""
    import ingest.loaders.pdf as pdf

    calls = []

    def ocr(page):
        calls.append(page)
        time.sleep(0.2)
        return TEXTS[len(calls) % len(TEXTS)]
    monkeypatch.setattr(pdf, "_ocr_page", ocr)
    return calls


def test_long_page_lists_in_warnings_are_ranges(tmp_path, monkeypatch):
    import ingest.loaders.pdf as pdf

    monkeypatch.setattr(pdf, "_ocr_page", lambda page: "")  # nothing on these pages can be read
    pages = [["一、走访", "网格员每周上门走访独居老人一次。"]] + [[]] * 30 + [["二、调解", "先分别倾听双方诉求。"]] + [[], []]
    doc = load_file(make_pdf(tmp_path / "手册.pdf", pages))
    (warning,) = doc.warnings
    assert warning.startswith("第2–31、33–34页没有读出文字"), warning


def test_an_all_blank_pdf_is_not_called_a_scan(tmp_path):
    with pytest.raises(BadDocument) as err:
        load_file(blank_pdf(tmp_path / "空白.pdf", 3))
    assert "扫描件" not in str(err.value)
    assert "空白" in str(err.value)


def test_a_pdf_over_the_page_cap_is_refused_before_any_page_is_read(tmp_path, monkeypatch):
    import ingest.loaders.pdf as pdf

    monkeypatch.setenv("SHEGONG_MAX_PDF_PAGES", "5")
    reset_settings()
    read = []
    monkeypatch.setattr(pdf, "_page_text", lambda page: read.append(page) or "")
    path = make_pdf(tmp_path / "很厚的文件.pdf", [[f"第{i}页", "正文内容。"] for i in range(6)])
    with pytest.raises(BadDocument) as err:
        load_file(path)
    assert "6 页" in str(err.value) and "5 页" in str(err.value) and "拆" in str(err.value)
    assert read == []


def test_ocr_stops_when_it_would_run_past_the_time_cap(tmp_path, monkeypatch, slow_ocr):
    """40 scanned pages at 0.2 s with a 2 s cap: refused after a few pages, with a clear message."""
    monkeypatch.setenv("SHEGONG_OCR_TIME_LIMIT_S", "2")
    reset_settings()
    started = time.monotonic()
    with pytest.raises(BadDocument) as err:
        load_file(scan_pdf(tmp_path / "扫描件.pdf", 40))
    message = str(err.value)
    assert "OCR" in message and "40 页" in message and "拆" in message, message
    assert len(slow_ocr) < 40 and time.monotonic() - started < 4


def test_ocr_within_the_time_cap_reads_every_page(tmp_path, monkeypatch, slow_ocr):
    monkeypatch.setenv("SHEGONG_OCR_TIME_LIMIT_S", "60")
    reset_settings()
    doc = load_file(scan_pdf(tmp_path / "扫描件.pdf", 4))
    assert len(slow_ocr) == 4 and doc.meta["ocr"] is True


def test_progress_is_reported_per_page_and_an_import_can_be_cancelled(tmp_path, slow_ocr):
    seen = []

    def progress(done: int, total: int, what: str) -> None:
        seen.append((done, total, what))
        if "OCR" in what and done == 3:
            raise ImportCancelled("已取消导入")
    with pytest.raises(ImportCancelled):
        load_file(scan_pdf(tmp_path / "扫描件.pdf", 10), progress=progress)
    assert len(slow_ocr) == 3
    reading = [s for s in seen if "读取" in s[2]]
    ocr = [s for s in seen if "OCR" in s[2]]
    assert [s[0] for s in reading] == list(range(10)) and reading[0][1] == 10
    assert [s[0] for s in ocr] == [0, 1, 2, 3] and ocr[0][1] == 10
