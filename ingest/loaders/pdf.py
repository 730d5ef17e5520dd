"""PDF files: the text layer via pypdf, OCR (RapidOCR) for scanned PDFs."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from shegong.errors import BadDocument
from ingest.loaders.structure import build_blocks, join_wrapped_lines
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
    if all(len("".join(text.split())) < MIN_PAGE_CHARS for text in pages):
        pages = [_ocr_page(page) for page in reader.pages]
        if not any(text.strip() for text in pages):
            raise BadDocument("此 PDF 是扫描件且未能识别出文字，请提供带文字的版本")
        meta["ocr"] = True
        warnings.append(OCR_WARNING)

    paragraphs = [(para, number) for number, text in enumerate(pages, start=1) for para in join_wrapped_lines(text.split("\n"))]
    return LoadedDocument(
        title="", source=str(path), doc_type="handbook", blocks=build_blocks(paragraphs), meta=meta, warnings=warnings
    )


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
