"""Plain text (.txt) and Markdown (.md) files."""

from __future__ import annotations

import re
from itertools import zip_longest
from pathlib import Path

from ingest.loaders.structure import build_blocks, group_qa, join_wrapped_lines
from ingest.textutil import Decoded, detect_decode
from ingest.types import Block, LoadedDocument

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_MD_FENCE = re.compile(r"^(```|~~~)")
_MD_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_MD_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")  # | --- | :---: |


def _read(path: Path) -> tuple[str, Decoded]:
    decoded = detect_decode(path.read_bytes())
    return decoded.text.replace("\r\n", "\n").replace("\r", "\n"), decoded


def load_txt(path: Path) -> LoadedDocument:
    """Paragraphs from lines (hard-wrapped lines are re-joined); Chinese-numbered short lines become headings."""
    text, decoded = _read(path)
    blocks = build_blocks((paragraph, None) for paragraph in join_wrapped_lines(text.split("\n")))
    return LoadedDocument(title="", source=str(path), doc_type="handbook", blocks=blocks,
                          meta={"encoding": decoded.encoding}, warnings=decoded.warnings)


def load_markdown(path: Path) -> LoadedDocument:
    """``#`` headings give the structure; a single ``#`` line is the document title.

    Paragraphs are runs of non-blank lines; numbered lists stay paragraphs.
    """
    text, decoded = _read(path)
    lines: list[tuple[str, bool]] = []  # (line, inside a ``` code block)
    in_code = False
    for line in text.split("\n"):
        if _MD_FENCE.match(line.strip()):
            in_code = not in_code
        else:
            lines.append((line, in_code))
    lines = _tables_as_fields(lines)
    h1 = [m for line, code in lines if not code and (m := _MD_HEADING.match(line)) and len(m.group(1)) == 1]
    title = h1[0].group(2) if len(h1) == 1 else ""

    blocks: list[Block] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Block(kind="paragraph", text="\n".join(paragraph)))
            paragraph.clear()

    for line, code in lines:
        heading = None if code else _MD_HEADING.match(line)
        if heading:
            flush()
            level, heading_text = len(heading.group(1)), heading.group(2).strip()
            if not (level == 1 and title):
                blocks.append(Block(kind="heading", text=heading_text, level=level))
        elif line.strip():
            paragraph.append(line.rstrip())
        else:
            flush()
    flush()
    return LoadedDocument(title=title, source=str(path), doc_type="handbook", blocks=group_qa(blocks, styled=blocks),
                          meta={"encoding": decoded.encoding}, warnings=decoded.warnings)


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def _tables_as_fields(lines: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """A Markdown table's rows as labelled lines ("事项：补办身份证；部门：派出所"), like a spreadsheet's records:
    each row reads on its own, also in a later chunk of a long table, and the | --- | rule is not shown."""
    out: list[tuple[str, bool]] = []
    header: list[str] = []
    for i, (line, code) in enumerate(lines):
        is_row = not code and bool(_MD_TABLE_ROW.match(line))
        next_line = lines[i + 1][0] if i + 1 < len(lines) else ""
        if is_row and _MD_TABLE_RULE.match(next_line) and not _MD_TABLE_RULE.match(line):
            header = _cells(line)  # a header row: its names label the rows below
        elif is_row and header and _MD_TABLE_RULE.match(line):
            continue
        elif is_row and header:
            cells = zip_longest(header, _cells(line), fillvalue="")  # a cell beyond the header is kept unlabelled
            fields = [f"{name}：{value}" if name else value for name, value in cells if value]
            out.append(("；".join(fields), code))
        else:
            header = []
            out.append((line, code))
    return out
