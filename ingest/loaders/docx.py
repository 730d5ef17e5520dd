"""Word (.docx) files via python-docx."""

from __future__ import annotations

import re
from pathlib import Path

from shegong.errors import BadDocument
from ingest.loaders.furniture import TOC_LINE
from ingest.loaders.structure import build_blocks
from ingest.types import Block, LoadedDocument

# "Heading 2" in English Word, "标题 2" in some Chinese Word/WPS versions
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)
# the lines of a table of contents ("toc 1" in Word, "目录 1" in Chinese Word/WPS)
_TOC_STYLE = re.compile(r"^(?:toc|目录)\s*\d$", re.IGNORECASE)


def load_docx(path: Path) -> LoadedDocument:
    import docx
    from docx.table import Table

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # BadZipFile, PackageNotFoundError, KeyError on broken parts...
        raise BadDocument("Word 文件已损坏，无法读取。如果是旧版 .doc 文件，请先用 Word 或 WPS 另存为 .docx 再上传") from exc

    title = ""
    items: list[tuple[str, None] | Block] = []
    for part in document.iter_inner_content():
        if isinstance(part, Table):
            items.extend((row, None) for row in _table_rows(part))
            continue
        text = part.text.strip()
        if not text:
            continue
        style = _style_name(part)
        if _TOC_STYLE.match(style) or TOC_LINE.match(text):
            continue
        match = _HEADING_STYLE.match(style)
        if style.lower() in ("title", "标题") and not title:
            title = text
        elif match:
            items.append(Block(kind="heading", text=text, level=int(match.group(1))))
        else:
            items.append((text, None))  # Normal text: Chinese-numbered headings are detected here
    return LoadedDocument(title=title, source=str(path), doc_type="handbook", blocks=build_blocks(items))


def _style_name(paragraph) -> str:
    try:
        return (paragraph.style.name or "").strip() if paragraph.style is not None else ""
    except Exception:  # a style id that the styles part does not define
        return ""


def _table_rows(table) -> list[str]:
    """One paragraph per row, cells joined by ' | ' (merged cells appear once)."""
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(_cell_text(cell).split())
            if text and (not cells or cells[-1] != text):
                cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return rows


def _cell_text(cell) -> str:
    """The cell's paragraphs and any table nested in it (``cell.text`` skips nested tables).

    A nested table with several cells is wrapped in （） with its rows separated by ；,
    so its cells do not read as more cells of the outer row.
    """
    from docx.table import Table

    parts: list[str] = []
    for part in cell.iter_inner_content():
        if isinstance(part, Table):
            rows = _table_rows(part)
            nested = "；".join(rows)
            parts.append(f"（{nested}）" if len(rows) > 1 or " | " in nested else nested)
        else:
            parts.append(part.text)
    return " ".join(parts)
