"""Page furniture in PDFs: running headers and footers, page numbers, a table of contents.

A handbook exported from Word or WPS repeats its title and "— 3 —" on every page. Left in,
they are glued into the paragraph that crosses a page break, end a paragraph in the middle
of a sentence, and put the same words into every chunk (where BM25 then matches them for any
question). Text is only dropped when its place on the page and its repetition say what it is.
"""

from __future__ import annotations

import re
from collections import Counter

from ingest.textutil import heading_level

EDGE_LINES = 2  # headers and footers sit among the first / last lines of a page's text
MIN_PAGES = 3  # fewer pages cannot show that a line repeats
MIN_SHARE = 0.4  # a running line is on this share of pages at least (a book title on every other page)
MAX_RUNNING_CHARS = 40

_DASH = r"[-‐‑–—―－~～·\s]*"
# "3", "- 3 -", "— 3 —": a bare number is a page number only where it counts the pages (below)
BARE_PAGE_NUMBER = re.compile(rf"^{_DASH}(\d{{1,4}}){_DASH}$")
PAGE_NUMBER = re.compile(
    r"^(?:"
    r"第\s*\d{1,4}\s*页(?:\s*[,，/、]?\s*共\s*\d{1,4}\s*页)?"  # 第3页 / 第 3 页，共 40 页
    r"|\d{1,4}\s*/\s*\d{1,4}"  # 3 / 40
    r"|(?:page|p\.)\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?"  # Page 3 of 40
    r")$",
    re.IGNORECASE,
)
TOC_TITLE = re.compile(r"^目\s*录$")
_TOC_NUMBER = re.compile(r"(?:第\s*)?(\d{1,4})\s*页?$")
_LEADERS = ".．。…·•_－-"


def toc_entry(line: str) -> int | None:
    """The page number of a contents line ("一、证件遗失……………5", "第一章 总则 ........ 1"), else None.

    So are "匪警……………110" in a list of hotlines: callers decide by the number and the lines around it.
    (Read from the right, so a long run of dots costs no more than its length.)
    """
    number = _TOC_NUMBER.search(line)
    if not number:
        return None
    head = line[: number.start()].rstrip()
    title = head.rstrip(_LEADERS + " \t\u3000")
    leaders = sum(1 for ch in head[len(title) :] if ch in _LEADERS)
    return int(number.group(1)) if leaders >= 3 and title.strip() else None


def strip_page_furniture(pages: list[str]) -> tuple[list[str], dict]:
    """Remove running headers/footers, page numbers and table-of-contents lines.

    Headers and footers are peeled from the outside in (at most EDGE_LINES at the top and at
    the bottom of a page), so a repeated label inside the text is never taken for one.
    Returns the cleaned pages and what was removed (for the document's metadata).
    """
    split = [[line.strip() for line in page.strip().split("\n")] if page.strip() else [] for page in pages]
    offset = _page_number_offset(split)
    running: set[str] = set()
    for depth in range(EDGE_LINES):  # the outermost lines first: a header under a header
        running |= _running_at(split, depth, running, offset)
    removed = {"running": sorted(running), "page_numbers": 0, "toc_lines": 0}
    cleaned = []
    for number, lines in enumerate(split, start=1):
        furniture = [_furniture(line, number, running, offset) for line in lines]
        top = _edge_count(furniture)
        bottom = _edge_count(furniture[top:][::-1])
        removed["page_numbers"] += furniture[:top].count("page") + furniture[len(lines) - bottom :].count("page")
        body = lines[top : len(lines) - bottom]
        # a contents page lists 2+ lines whose numbers are pages of this document ("匪警……110" is not one)
        entries = {i for i, line in enumerate(body) if (page := toc_entry(line)) is not None and page <= len(pages)}
        toc_page = len(entries) >= 2
        keep = [line for i, line in enumerate(body) if not (toc_page and (i in entries or TOC_TITLE.match(line)))]
        removed["toc_lines"] += len(body) - len(keep)
        cleaned.append("\n".join(keep))
    return cleaned, {k: v for k, v in removed.items() if v}


def _furniture(line: str, page: int, running: set[str], offset: int | None) -> str | None:
    bare = BARE_PAGE_NUMBER.match(line)
    if PAGE_NUMBER.match(line) or (bare and offset is not None and int(bare.group(1)) - page == offset):
        return "page"
    return "running" if _shape(line) in running else None


def _edge_count(kinds: list[str | None]) -> int:
    """How many lines from this end are furniture, stopping at the first that is not."""
    count = 0
    while count < min(EDGE_LINES, len(kinds)) and kinds[count]:
        count += 1
    return count


def _page_number_offset(pages: list[list[str]]) -> int | None:
    """How printed bare numbers relate to page order (0 when page 3 says "3"), if they do.

    Numbers at the edge of pages that go up one a page are page numbers; "119" at the end of
    one page and "2024" at the end of the next are not.
    """
    offsets: Counter[int] = Counter()
    for number, lines in enumerate(pages, start=1):
        edge = lines[:EDGE_LINES] + lines[-EDGE_LINES:]
        offsets.update({int(m.group(1)) - number for m in map(BARE_PAGE_NUMBER.match, edge) if m})
    best = offsets.most_common(1)
    return best[0][0] if best and best[0][1] >= 2 else None


def _shape(line: str) -> str:
    """A line with its digits masked: "手册 第3页" and "手册 第4页" are one running line."""
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", line))


def _running_at(pages: list[list[str]], depth: int, running: set[str], offset: int | None) -> set[str]:
    """Lines repeated at this depth from the top or the bottom of most pages, where every
    line outside them is furniture already. A heading, a sentence or a label is text."""
    if len(pages) < MIN_PAGES:
        return set()
    counts: Counter[str] = Counter()
    for number, lines in enumerate(pages, start=1):
        found = set()
        for side in (lines, lines[::-1]):
            if len(side) <= depth or any(not _furniture(line, number, running, offset) for line in side[:depth]):
                continue
            line = side[depth]
            if line and len(line) <= MAX_RUNNING_CHARS and not _furniture(line, number, running, offset) and not _is_text(line):
                found.add(_shape(line))
        counts.update(found)
    return {shape for shape, n in counts.items() if n >= max(MIN_PAGES, MIN_SHARE * len(pages))}


def _is_text(line: str) -> bool:
    return bool(BARE_PAGE_NUMBER.match(line)) or heading_level(line) is not None or line[-1] in "。！？；：!?;:"
