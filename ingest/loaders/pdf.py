"""PDF files: the text layer via pypdf, OCR (RapidOCR) for scanned PDFs."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from shegong.errors import BadDocument
from ingest.loaders.furniture import strip_page_furniture
from ingest.loaders.structure import build_blocks, join_wrapped_pages
from ingest.types import LoadedDocument

log = logging.getLogger(__name__)

MIN_PAGE_CHARS = 10  # a page with less text than this has no usable text layer
OCR_WARNING = "此 PDF 没有文字层，已用 OCR 识别，可能有错字"


def load_pdf(path: Path) -> LoadedDocument:
    reader = _open(path)
    try:
        pages = [_page_text(page) for page in reader.pages]
    except Exception as exc:  # a damaged page tree; pypdf raises many kinds of errors
        raise BadDocument("PDF 文件已损坏，无法读取。请重新导出或下载后再上传") from exc
    if not pages:
        raise BadDocument("PDF 文件里没有任何页面")

    meta: dict = {"pages": len(pages)}
    warnings: list[str] = []
    no_text = [i for i, text in enumerate(pages) if len("".join(text.split())) < MIN_PAGE_CHARS]
    if len(no_text) == len(pages):
        try:
            pages = [_ocr_page(page) for page in reader.pages]
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
        for i in no_text:
            try:
                found = _ocr_page(reader.pages[i])
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
    return "、".join(str(n) for n in pages)


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
