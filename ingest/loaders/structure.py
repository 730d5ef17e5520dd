"""Turn a flat list of paragraphs into heading / paragraph / article blocks.

Shared by the PDF, Word and plain-text loaders.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ingest.textutil import (ARTICLE_START, ATTACHMENT, MAX_HEADING_CHARS, NUMERALS, SENTENCE_END, heading_level,
                             is_structural_heading)
from ingest.types import Block

# "第一章" alone on its line (a centred heading whose title "总则" is on the next line)
BARE_PART = re.compile(rf"^第[{NUMERALS}\d]+[编章节]$")
# 问答: "问：…" asks, "答：…" answers ("**问：…**" in Markdown, "问题1：", "Q:")
QUESTION = re.compile(r"^[*_]*(?:问|问题|Q)\s*\d*\s*[：:]", re.IGNORECASE)
ANSWER = re.compile(r"^[*_]*(?:答|回答|A)\s*\d*\s*[：:]", re.IGNORECASE)
MIN_PAIRS = 2  # one "问：" in a handbook's story is not a question-and-answer document
# A document is treated as a statute (办法、条例、规定...) once it has this many "第X条" paragraphs;
# a handbook that quotes one article stays a handbook.
MIN_ARTICLES = 3


def build_blocks(paragraphs: Iterable[tuple[str, int | None] | Block]) -> list[Block]:
    """``paragraphs``: (text, page) in reading order; page is None outside PDFs.
    Heading blocks the caller already knows (Word heading styles) may be passed as they are.

    In statute-like documents each "第X条 ..." paragraph starts an ``article`` block and the
    following paragraphs (items like "（一）...") belong to it until the next article or a
    编/章/节 heading.
    """
    items = [p if isinstance(p, Block) else (p[0].strip(), p[1]) for p in paragraphs]
    items = [p for p in items if isinstance(p, Block) or p[0]]
    statute = sum(1 for p in items if not isinstance(p, Block) and ARTICLE_START.match(p[0])) >= MIN_ARTICLES

    blocks: list[Block] = []
    article: Block | None = None
    label: Block | None = None  # a heading that is only a label ("附件1", "第一章"): its title may follow on the next line
    attachment_list = False  # inside "附件：1．…" in the body of a notice: "2．…" is its next line, not a heading
    for item in items:
        if isinstance(item, Block):
            article = label = None
            blocks.append(item)
            continue
        text, page = item
        level = heading_level(text)
        if statute and not is_structural_heading(level, text):
            level = None  # inside a statute, （一）/1. are list items of an article
        if label is not None and level is None and not ARTICLE_START.match(text) and _is_title(text):
            label.text, label = f"{label.text} {text}", None
            continue
        label = None
        if attachment_list and level == 3 and text[0].isdigit():
            blocks[-1].text += "\n" + text
            continue
        attachment_list = text.startswith(("附件：", "附件:"))
        if level is not None:
            article = None
            blocks.append(Block(kind="heading", text=text, level=level, page=page))
            if ATTACHMENT.match(text) or BARE_PART.match(text):
                label = blocks[-1]
            continue
        match = ARTICLE_START.match(text) if statute else None
        if match:
            article = Block(kind="article", text=text[match.end() :].strip(), label=match.group(1), page=page)
            blocks.append(article)
        elif article is not None:
            article.text = f"{article.text}\n{text}" if article.text else text
        else:
            blocks.append(Block(kind="paragraph", text=text, page=page))
    return group_qa(blocks, styled=[item for item in items if isinstance(item, Block)])


def group_qa(blocks: list[Block], styled: Iterable[Block] = ()) -> list[Block]:
    """In a question-and-answer document each question with its answer is one ``qa`` block (one
    chunk), so an answer is never cut off from its question. The answer runs to the next question
    or heading; numbered lines in it ("1．身份证和户口簿") are its list, not headings. A heading the
    document marks as one (``styled``: Markdown ``## 2. 低保申请``, a Word heading style) ends it."""
    marked = {id(block) for block in styled}
    lines = [line for block in blocks if block.kind == "paragraph" for line in block.text.split("\n")]
    if sum(1 for line in lines if QUESTION.match(line)) < MIN_PAIRS or sum(1 for line in lines if ANSWER.match(line)) < MIN_PAIRS:
        return blocks
    out: list[Block] = []
    pair: Block | None = None
    for block in blocks:
        if pair is not None and block.kind == "heading" and id(block) not in marked and heading_level(block.text) == 3:
            pair.text += "\n" + block.text
            continue
        if block.kind != "paragraph":
            pair = None
            out.append(block)
            continue
        text: list[str] = []  # lines of this paragraph outside any question and answer
        for line in block.text.split("\n"):
            if QUESTION.match(line):
                if text:
                    out.append(Block(kind="paragraph", text="\n".join(text), page=block.page))
                    text = []
                pair = Block(kind="qa", text=line, label=line.strip("*_ "), page=block.page)
                out.append(pair)
            elif pair is not None:
                pair.text += "\n" + line
            else:
                text.append(line)
        if text:
            out.append(Block(kind="paragraph", text="\n".join(text), page=block.page))
    return out


def _is_title(text: str) -> bool:
    """A short line that reads as a title: no sentence punctuation, not a table row."""
    return len(text) <= MAX_HEADING_CHARS and not SENTENCE_END.search(text) and " | " not in text


def join_wrapped_lines(lines: list[str]) -> list[str]:
    """Re-join visual lines (PDF text, OCR output) into paragraphs.

    A paragraph ends at a line ending in 。！？；：, at a heading line, or at a line
    clearly shorter than a full line (the last line of a paragraph). The full line
    width is the 90th percentile of line lengths, so a few long lines do not skew it.
    """
    return [paragraph for paragraph, _ in join_wrapped_pages([lines])]


def join_wrapped_pages(pages: list[list[str]]) -> list[tuple[str, int]]:
    """``join_wrapped_lines`` over a whole document: a sentence that runs over a page break
    becomes one paragraph. Returns (paragraph, number of the page it starts on, from 1)."""
    lines = [(line.strip(), number) for number, page in enumerate(pages, start=1) for line in page]
    lengths = sorted(len(line) for line, _ in lines if line)
    width = lengths[int(0.9 * (len(lengths) - 1))] if lengths else 0
    paragraphs: list[tuple[str, int]] = []
    current, start = "", 0
    for line, page in lines:
        if not line:
            if current:
                paragraphs.append((current, start))
            current = ""
            continue
        if heading_level(line) is not None or ARTICLE_START.match(line) or QUESTION.match(line) or ANSWER.match(line):
            if current:
                paragraphs.append((current, start))
            current = ""
        if not current:
            start = page
        if current and current[-1].isascii() and current[-1].isalnum() and line[0].isascii() and line[0].isalnum():
            current += " " + line  # wrapped English words or numbers
        else:
            current += line
        if heading_level(line) is not None or line[-1] in "。！？；：!?:;" or len(line) < 0.6 * width:
            paragraphs.append((current, start))
            current = ""
    if current:
        paragraphs.append((current, start))
    return paragraphs
