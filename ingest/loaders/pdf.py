"""PDF files: the text layer via pypdf, OCR (RapidOCR) for scanned PDFs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from shegong.config import get_settings
from shegong.errors import BadDocument, UserError
from ingest.loaders.furniture import strip_page_furniture
from ingest.loaders.structure import build_blocks, join_wrapped_pages
from ingest.types import LoadedDocument

log = logging.getLogger(__name__)

MIN_PAGE_CHARS = 10  # a page with less text than this has no usable text layer
OCR_WARNING = "此 PDF 没有文字层，已用 OCR 识别，可能有错字"
DAMAGED = "PDF 文件已损坏，无法读取。请重新导出或下载后再上传"

# (pages done, pages in this step, what is being done); may raise ImportCancelled to stop the import
Progress = Callable[[int, int, str], None]


def _no_progress(done: int, total: int, what: str) -> None:
    pass


def load_pdf(path: Path, progress: Progress | None = None) -> LoadedDocument:
    report = progress or _no_progress
    reader = _open(path)
    try:
        count = len(reader.pages)
    except Exception as exc:  # a damaged page tree; pypdf raises many kinds of errors
        raise BadDocument(DAMAGED) from exc
    if not count:
        raise BadDocument("PDF 文件里没有任何页面")
    cap = get_settings().max_pdf_pages
    if count > cap:
        raise BadDocument(f"这个 PDF 有 {count} 页，超过了一次导入 {cap} 页的上限。请拆成几个小文件（例如按章节）分别上传")
    pages = []
    try:
        for i, page in enumerate(reader.pages):
            report(i, count, f"正在读取第 {i + 1}/{count} 页")
            pages.append(_page_text(page))
    except UserError:  # a cancel
        raise
    except Exception as exc:
        raise BadDocument(DAMAGED) from exc

    meta: dict = {"pages": len(pages)}
    warnings: list[str] = []
    no_text = [i for i, text in enumerate(pages) if len("".join(text.split())) < MIN_PAGE_CHARS]
    if len(no_text) == len(pages):
        if not any(_has_images(page) for page in reader.pages):
            raise BadDocument("这个 PDF 里没有文字，也没有图片（都是空白页，或只有线条图形），没有可以导入的内容")
        ocr = _OcrRun(len(pages), report)
        try:
            pages = [ocr.read(i, page) for i, page in enumerate(reader.pages)]
        except ImportError as exc:  # rapidocr-onnxruntime is not installed
            raise BadDocument("此 PDF 是扫描件，需要 OCR 文字识别，但本机没有安装 OCR 组件（rapidocr-onnxruntime）。"
                              "请安装后再导入，或提供带文字的版本") from exc
        if not any(text.strip() for text in pages):
            raise BadDocument("此 PDF 是扫描件且未能识别出文字，请提供带文字的版本")
        meta["ocr"] = True
        warnings.append(OCR_WARNING)
    elif no_text:
        # Some pages are scans (e.g. a signed page or an attachment): OCR just those pages
        # and tell the user about any page that still has no text, so no page is lost silently.
        read, unread, no_engine = [], [], False
        ocr = _OcrRun(len(no_text), report)
        for i in no_text:
            try:
                found = "" if no_engine else ocr.read(i, reader.pages[i])
            except UserError:  # the time cap, or a cancel
                raise
            except ImportError as exc:  # rapidocr-onnxruntime is not installed
                log.warning("OCR unavailable for %s: %s", path, exc)
                found, no_engine = "", True
            except Exception as exc:  # the engine failed on this page
                log.warning("OCR failed on page %d of %s: %s", i + 1, path, exc)
                found = ""
            if found.strip():
                pages[i] = f"{pages[i].strip()}\n{found}".strip()  # keep a page number from the text layer
                read.append(i + 1)
            else:
                unread.append(i + 1)
        if read:
            meta["ocr_pages"] = read
            warnings.append(f"第{_numbers(read)}页没有文字层，已用 OCR 识别，可能有错字")
        if unread:
            meta["unread_pages"] = unread
            why = "本机的 OCR 文字识别组件不可用" if no_engine else "可能是空白页，或是无法识别的扫描图片"
            warnings.append(f"第{_numbers(unread)}页没有读出文字（{why}），这些页的内容可能没有导入，请核对原文件")

    pages, removed = strip_page_furniture(pages)
    if removed:
        meta["removed"] = removed  # running headers, page numbers, table of contents
    paragraphs = join_wrapped_pages([text.split("\n") for text in pages])
    return LoadedDocument(
        title="", source=str(path), doc_type="handbook", blocks=build_blocks(paragraphs), meta=meta, warnings=warnings
    )


def _numbers(pages: list[int]) -> str:
    """Page numbers for a message, runs as ranges: [2, 3, 4, 7, 9, 10] -> "2–4、7、9–10"."""
    runs: list[list[int]] = []
    for n in sorted(set(pages)):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return "、".join(str(a) if a == b else f"{a}–{b}" for a, b in runs)


class _OcrRun:
    """OCR of ``todo`` pages with progress, cancel and a time cap (``ocr_time_limit_s``).

    After two pages the time for all of them is estimated; a scan that would run past the cap is
    refused then, not after the cap has been spent.
    """

    def __init__(self, todo: int, report: Progress):
        self.todo, self.report = todo, report
        self.done, self.spent = 0, 0.0
        self.limit = get_settings().ocr_time_limit_s

    def read(self, index: int, page) -> str:
        self.report(self.done, self.todo, f"正在用 OCR 识别第 {index + 1} 页（{self.done + 1}/{self.todo}）")
        started = time.monotonic()
        text = _ocr_page(page)
        self.spent += time.monotonic() - started
        self.done += 1
        per_page = self.spent / self.done
        if self.done < self.todo and (self.spent > self.limit or (self.done >= 2 and per_page * self.todo > self.limit)):
            raise BadDocument(
                f"这个 PDF 有 {self.todo} 页需要 OCR 文字识别，按本机的速度（每页约 {per_page:.1f} 秒）"
                f"约需 {per_page * self.todo / 60:.0f} 分钟，超过了 {self.limit / 60:.0f} 分钟的上限，未导入。"
                "请拆成几个小文件分别上传，或提供带文字的版本")
        return text


def _has_images(page) -> bool:
    try:
        return bool(page.images)
    except Exception:  # an image pypdf cannot list still makes the page a scan, not a blank page
        return True


def _open(path: Path):
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    try:
        reader = PdfReader(str(path))
    except Exception as exc:
        raise BadDocument("PDF 文件已损坏，无法读取。请重新导出或下载后再上传") from exc
    if reader.is_encrypted:
        try:
            unlocked = reader.decrypt("")  # many PDFs are "encrypted" with an empty user password
        except DependencyError as exc:
            log.warning("cannot decrypt PDF %s: %s", path, exc)
            unlocked = 0
        except Exception:
            unlocked = 0
        if not unlocked:
            raise BadDocument("该 PDF 已加密，请先解除密码保护后再上传")
    return reader


def _page_text(page) -> str:
    try:
        return page.extract_text() or ""
    except Exception as exc:
        log.warning("PDF page text extraction failed: %s", exc)
        return ""


@lru_cache(maxsize=1)
def _ocr_engine():
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR()


def _ocr_page(page) -> str:
    """OCR every image embedded in the page; lines top to bottom."""
    import numpy as np

    lines: list[tuple[float, float, str]] = []
    try:
        images = list(page.images)
    except Exception as exc:
        log.warning("cannot list PDF page images: %s", exc)
        return ""
    for offset, image_file in enumerate(images):
        try:
            image = np.array(image_file.image.convert("RGB"))
        except Exception as exc:
            log.warning("cannot decode PDF image %s: %s", image_file.name, exc)
            continue
        result, _ = _ocr_engine()(image)
        for box, text, _score in result or []:
            # several images on one page: keep them in order, then by position
            lines.append((offset * 1e6 + box[0][1], box[0][0], text))
    return "\n".join(text for _, _, text in sorted(lines))
