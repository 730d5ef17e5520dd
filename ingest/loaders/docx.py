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
    notes = _notes(document)
    for part in _inner_content(document.element.body, document):
        if isinstance(part, Table):
            items.extend((row, None) for row in _table_rows(part))
            continue
        text = _paragraph_text(part._p).strip()
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
        for ref in part._p.iter(_W + "footnoteReference", _W + "endnoteReference"):
            note = notes.get((ref.tag, ref.get(_W + "id")))
            if note:
                items.append((f"注：{note}", None))  # right after the text it explains
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
    for part in _inner_content(cell._tc, cell):
        if isinstance(part, Table):
            rows = _table_rows(part)
            nested = "；".join(rows)
            parts.append(f"（{nested}）" if len(rows) > 1 or " | " in nested else nested)
        else:
            parts.append(_paragraph_text(part._p))
    return " ".join(parts)


# python-docx reads a paragraph's plain runs and hyperlinks only. What Word shows besides them
# (content controls, text boxes, tracked insertions, fields) is read from the XML here, so
# none of it is lost without a word.
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"  # old copy of a text box
_HIDDEN = {_W + "pPr", _W + "rPr", _W + "del", _W + "moveFrom", _W + "instrText", _W + "txbxContent", _FALLBACK}
_SPECIAL = {_W + "tab": "\t", _W + "cr": "\n", _W + "noBreakHyphen": "-"}


def _notes(document) -> dict[tuple[str, str], str]:
    """Footnote and endnote texts by (tag of the reference to them, id)."""
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.oxml import parse_xml

    notes = {}
    for rel in document.part.rels.values():
        kind = {RT.FOOTNOTES: "footnote", RT.ENDNOTES: "endnote"}.get(rel.reltype)
        if kind is None or rel.is_external:
            continue
        try:
            root = parse_xml(rel.target_part.blob)
        except Exception:  # a damaged notes part: the body is still worth reading
            continue
        for note in root.iter(_W + kind):
            text = " ".join(t for t in (_paragraph_text(p).strip() for p in note.iter(_W + "p")) if t)
            if text:
                notes[(f"{_W}{kind}Reference", note.get(_W + "id"))] = text
    return notes


def _inner_content(container, parent):
    """Paragraphs and tables of a body, cell or text box in reading order, looking inside
    content controls; the paragraphs of a text box follow the paragraph it is anchored to."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for child in container:
        if child.tag == _W + "p":
            yield Paragraph(child, parent)
            for box in _text_boxes(child):
                yield from _inner_content(box, parent)
        elif child.tag == _W + "tbl":
            yield Table(child, parent)
        elif child.tag in (_W + "sdtContent", _W + "customXml") or (child.tag == _W + "sdt" and not _is_toc(child)):
            yield from _inner_content(child, parent)


def _is_toc(sdt) -> bool:
    """Word's table of contents: a content control of the "Table of Contents" gallery."""
    properties = sdt.find(_W + "sdtPr")
    galleries = properties.iter(_W + "docPartGallery") if properties is not None else ()
    return any(g.get(_W + "val") == "Table of Contents" for g in galleries)


def _text_boxes(element) -> list:
    boxes = []
    for child in element:
        if child.tag == _W + "txbxContent":
            boxes.append(child)
        elif child.tag != _FALLBACK:
            boxes.extend(_text_boxes(child))
    return boxes


def _paragraph_text(element) -> str:
    """The text Word shows for a paragraph: runs wherever they are nested, without deleted
    text, field codes and text boxes (those are paragraphs of their own)."""
    parts = []
    for child in element:
        if child.tag in _HIDDEN:
            continue
        if child.tag == _W + "t":
            parts.append(child.text or "")
        elif child.tag == _W + "br":
            parts.append("\n" if child.get(_W + "type", "textWrapping") == "textWrapping" else "")
        elif child.tag in _SPECIAL:
            parts.append(_SPECIAL[child.tag])
        else:
            parts.append(_paragraph_text(child))
    return "".join(parts)
