"""Word (.docx) files via python-docx."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from shegong.chinese import to_cn_numeral
from shegong.errors import BadDocument
from ingest.loaders.furniture import TOC_TITLE, toc_entry
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
    reader = _Reader(_notes(document), _Numbering(document))
    in_contents = False  # inside a table of contents
    for part in _inner_content(document.element.body, document):
        if isinstance(part, Table):
            in_contents = False
            items.extend((row, None) for row in reader.table_rows(part))
            continue
        text, notes = reader.paragraph(part)
        cited = [(f"注：{note}", None) for note in notes]  # right after the text they explain
        if not text:
            items.extend(cited)  # a footnote mark on an empty line still brings its note
            continue
        style = _style_name(part)
        # Word's contents lines, and lines typed like them right after those or after a "目录" title
        # ("匪警……110" in a list of hotlines is text)
        if _TOC_STYLE.match(style) or TOC_TITLE.match(text) or (in_contents and toc_entry(text) is not None):
            in_contents = True
            continue
        in_contents = False
        match = _HEADING_STYLE.match(style)
        if style.lower() in ("title", "标题") and not title:
            title = text
        elif match:
            items.append(Block(kind="heading", text=text, level=int(match.group(1))))
        else:
            items.append((text, None))  # Normal text: Chinese-numbered headings are detected here
        items.extend(cited)
    return LoadedDocument(title=title, source=str(path), doc_type="handbook", blocks=build_blocks(items))


def _style_name(paragraph) -> str:
    try:
        return (paragraph.style.name or "").strip() if paragraph.style is not None else ""
    except Exception:  # a style id that the styles part does not define
        return ""


def _notes_cited(paragraph, notes: dict[tuple[str, str], str]) -> list[str]:
    """The footnotes and endnotes a paragraph refers to, in order."""
    refs = paragraph.iter(_W + "footnoteReference", _W + "endnoteReference")
    return [note for ref in refs if (note := notes.get((ref.tag, ref.get(_W + "id"))))]


@dataclass
class _Reader:
    """What every paragraph of a Word file is read with, in the body and in table cells alike:
    the file's footnotes and endnotes, and its list numbering (counted in reading order)."""

    notes: dict[tuple[str, str], str]
    numbering: _Numbering

    def paragraph(self, paragraph) -> tuple[str, list[str]]:
        """The text as Word shows it (with its list number) and the notes it cites."""
        label = self.numbering.label(paragraph)  # an empty numbered paragraph still counts, as in Word
        text = _paragraph_text(paragraph._p).strip()
        return (label + text if text else ""), _notes_cited(paragraph._p, self.notes)

    def table_rows(self, table) -> list[str]:
        """One paragraph per row, cells joined by ' | ' (merged cells appear once)."""
        rows = []
        for row in table.rows:
            cells: list[str] = []
            for cell in row.cells:
                text = " ".join(self.cell_text(cell).split())
                if text and (not cells or cells[-1] != text):
                    cells.append(text)
            if cells:
                rows.append(" | ".join(cells))
        return rows

    def cell_text(self, cell) -> str:
        """The cell's paragraphs and any table nested in it (``cell.text`` skips nested tables).

        A nested table with several cells is wrapped in （） with its rows separated by ；,
        so its cells do not read as more cells of the outer row. A footnote follows its text in （注：…）.
        """
        from docx.table import Table

        parts: list[str] = []
        for part in _inner_content(cell._tc, cell):
            if isinstance(part, Table):
                rows = self.table_rows(part)
                nested = "；".join(rows)
                parts.append(f"（{nested}）" if len(rows) > 1 or " | " in nested else nested)
            else:
                text, notes = self.paragraph(part)
                parts += [text, *(f"（注：{note}）" for note in notes)]
        return " ".join(parts)


# python-docx reads a paragraph's plain runs and hyperlinks only. What Word shows besides them
# (content controls, text boxes, tracked insertions, fields) is read from the XML here, so
# none of it is lost without a word.
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"  # old copy of a text box
_HIDDEN = {_W + "pPr", _W + "rPr", _W + "del", _W + "moveFrom", _W + "instrText", _W + "txbxContent", _FALLBACK}
_SPECIAL = {_W + "tab": "\t", _W + "cr": "\n", _W + "noBreakHyphen": "-"}


class _Numbering:
    """The number Word shows before an automatically numbered paragraph ("一、", "（二）", "3."),
    which lives in numbering.xml, not in the text. Counters run per list definition (Word's
    "continue numbering"), a list that restarts at 1 (startOverride) starts again, and a deeper
    level starts again after a higher one. Bullets and formats not listed give no label."""

    def __init__(self, document):
        self.abstract: dict[str, dict[int, tuple[int, str, str]]] = {}  # id -> level -> (start, format, text)
        self.nums: dict[str, str] = {}  # numId -> abstractNumId
        self.restarts: dict[str, dict[int, int]] = {}  # numId -> level -> start, applied on the list's first use
        self.counters: dict[str, dict[int, int]] = {}
        try:
            root = document.part.numbering_part.element
        except Exception:  # no numbering part
            return
        for abstract in root.iter(_W + "abstractNum"):
            levels = {}
            for lvl in abstract.iter(_W + "lvl"):
                levels[int(lvl.get(_W + "ilvl", "0"))] = (int(_val(lvl, "start") or 1), _val(lvl, "numFmt") or "decimal",
                                                          _val(lvl, "lvlText") or "")
            self.abstract[abstract.get(_W + "abstractNumId")] = levels
        for num in root.iter(_W + "num"):
            self.nums[num.get(_W + "numId")] = _val(num, "abstractNumId")
            self.restarts[num.get(_W + "numId")] = {
                int(o.get(_W + "ilvl", "0")): int(_val(o, "startOverride"))
                for o in num.iter(_W + "lvlOverride") if _val(o, "startOverride") is not None}

    def label(self, paragraph) -> str:
        num_id, level = self._num_pr(paragraph)
        abstract_id = self.nums.get(num_id)
        levels = self.abstract.get(abstract_id)
        if not levels or level not in levels:
            return ""
        counters = self.counters.setdefault(abstract_id, {})
        for restart_level, start in self.restarts.pop(num_id, {}).items():
            counters[restart_level] = start - 1
        counters[level] = counters.get(level, levels[level][0] - 1) + 1
        for deeper in [k for k in counters if k > level]:
            del counters[deeper]
        text = levels[level][2]
        for i in range(level + 1):
            start, fmt, _ = levels.get(i, (1, "decimal", ""))
            number = _format_number(counters.get(i, start), fmt)
            if number is None:
                return ""
            text = text.replace(f"%{i + 1}", number)
        # Word shows a tab after the number: "第一条" must stay a word of its own to start an article ("一、" needs no space)
        return f"{text} " if text[-1:].isalnum() else text

    @staticmethod
    def _num_pr(paragraph) -> tuple[str | None, int]:
        """numId and level from the paragraph, else from its style (Heading 1 numbered in the style)."""
        elements = [paragraph._p.pPr]
        try:
            style = paragraph.style
            while style is not None:
                elements.append(style.element.pPr)
                style = style.base_style
        except Exception:  # a style id that the styles part does not define
            pass
        for pPr in elements:
            num_pr = pPr.find(_W + "numPr") if pPr is not None else None
            if num_pr is not None and _val(num_pr, "numId") is not None:
                return _val(num_pr, "numId"), int(_val(num_pr, "ilvl") or 0)
        return None, 0


def _val(element, child: str) -> str | None:
    found = element.find(_W + child)
    return found.get(_W + "val") if found is not None else None


def _format_number(n: int, fmt: str) -> str | None:
    if fmt in ("decimal", "decimalZero"):
        return str(n) if fmt == "decimal" else f"{n:02d}"
    if fmt in ("chineseCounting", "chineseCountingThousand", "taiwaneseCounting"):
        return to_cn_numeral(n)
    if fmt == "decimalFullWidth":
        return "".join(chr(ord(d) + 0xFEE0) for d in str(n))
    if fmt.startswith("decimalEnclosedCircle") and 1 <= n <= 20:
        return chr(0x2460 + n - 1)
    if fmt in ("lowerLetter", "upperLetter") and 1 <= n <= 26:
        return chr((0x61 if fmt == "lowerLetter" else 0x41) + n - 1)
    return None  # bullets and rare formats: better no number than a wrong one


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
