"""Cut a LoadedDocument into retrievable chunks that follow its structure.

- ``article`` blocks: one chunk per article, never split (a law article is cited whole).
- ``record`` / ``qa`` blocks: one chunk each (a question with its answer is located at its heading path).
- paragraphs: grouped by heading path into chunks of about ``target_chars``, split only
  between sentences, with a short overlap between chunks of the same section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.injection import instruction_hint
from ingest.textutil import normalize, split_sentences
from ingest.types import Block, Chunk, LoadedDocument

SEP = " › "
MERGE_MAX_LEVEL = 2  # subsections below a level-2 heading may share one chunk
# Bump when chunking (or what a loader reads) changes: the store re-indexes documents chunked by an
# older version; an unchanged file is otherwise "unchanged" (its hash is of the file bytes).
CHUNKER_VERSION = 4
MIN_SECTION_CHARS = 25  # only fragments merge; a short 清单 item is still a whole item


@dataclass
class _Section:
    """Consecutive paragraph lines under one heading path."""

    headings: list[Block]
    lines: list[tuple[str, int | None]] = field(default_factory=list)  # (line, page)

    @property
    def path(self) -> list[str]:
        return [h.text for h in self.headings]

    @property
    def size(self) -> int:
        return sum(len(line) + 1 for line, _ in self.lines)  # + the newline between lines


@dataclass
class _Unit:
    sentence: str
    line_no: int
    page: int | None


def chunk_document(doc: LoadedDocument, max_chars: int = 600, target_chars: int = 400, overlap: int = 60) -> list[Chunk]:
    items: list[_Section | Chunk] = []
    headings: list[Block] = []
    record_no = 0
    blocks = [b for b in doc.blocks if b.text.strip() or b.kind == "article"]
    for i, block in enumerate(blocks):
        if block.kind == "heading":
            while headings and headings[-1].level >= block.level:
                headings.pop()
            following = blocks[i + 1] if i + 1 < len(blocks) else None
            if following is None or (following.kind == "heading" and following.level <= block.level):
                # nothing under it (short list lines such as "1．身份证" read as headings): keep it as text
                block = Block(kind="paragraph", text=block.text, page=block.page)
            else:
                headings.append(block)
                continue
        if block.kind == "paragraph":
            if not items or not isinstance(items[-1], _Section) or items[-1].headings != headings:
                items.append(_Section(headings=list(headings)))
            items[-1].lines.extend((line, block.page) for line in block.text.split("\n") if line.strip())
        elif block.kind == "article":
            items.append(_article_chunk(doc, block, [h.text for h in headings]))
        elif block.kind == "qa":
            items.append(_qa_chunk(doc, block, [h.text for h in headings]))
        else:  # record
            record_no += 1
            items.append(_record_chunk(doc, block, record_no))

    chunks: list[Chunk] = []
    for item in _merge_small_subsections(items, target_chars):
        if isinstance(item, Chunk):
            chunks.append(item)
        else:
            chunks.extend(_section_chunks(doc, item, max_chars, target_chars, overlap))
    chunks = _dedupe(chunks)
    _flag_instructions(doc, chunks)
    return chunks


def _flag_instructions(doc: LoadedDocument, chunks: list[Chunk]) -> None:
    """Mark chunks with a sentence that reads like an instruction to an AI, for a 督导 to check (the
    answerer leaves such sentences out either way; see ingest/injection.py)."""
    flagged = 0
    for chunk in chunks:
        hint = instruction_hint(chunk.text)
        if hint:
            chunk.meta["flagged"] = hint[:200]
            flagged += 1
    if flagged:
        doc.meta["flagged_chunks"] = flagged
        warning = (f"有 {flagged} 段含有像是对 AI 下指令的句子，已标记为待督导核查（回答时会略去这些句子）。"
                   "请核对原文件的来源，确认无误后可保留，否则请删除这份资料")
        if warning not in doc.warnings:
            doc.warnings.append(warning)


# --- articles and records ---


def _location(path: list[str], page: int | None, fallback: str = "正文") -> str:
    where = SEP.join(path)
    if page is not None:
        return f"第{page}页 · {where}" if where else f"第{page}页"
    return where or fallback


def _article_chunk(doc: LoadedDocument, block: Block, path: list[str]) -> Chunk:
    label = block.label or ""
    text = f"{label} {block.text.strip()}".strip()
    return _whole_chunk(doc, block, text, path, path + [label], {"article": label, "path": path, "law": doc.title})


def _qa_chunk(doc: LoadedDocument, block: Block, path: list[str]) -> Chunk:
    """A question with its answer, whatever its length: the answer is never cut off from it."""
    return _whole_chunk(doc, block, block.text.strip(), path, path, {"path": path, "question": block.label or ""})


def _whole_chunk(doc: LoadedDocument, block: Block, text: str, path: list[str], where: list[str], meta: dict) -> Chunk:
    """A block that is one chunk, never split, located by its heading path."""
    if block.page is not None:
        meta["page"] = block.page
    return Chunk(
        text=text,
        index_text=normalize(f"{doc.title} {' '.join(path)} {text}"),
        title=doc.title,
        doc_type=doc.doc_type,
        source=doc.source,
        location=_location(where, block.page),
        meta=meta,
    )


def _record_chunk(doc: LoadedDocument, block: Block, number: int) -> Chunk:
    label = block.label or f"第{number}条"
    location = f"案例 {number} · {label}" if doc.doc_type == "case" else label
    return Chunk(
        text=block.text.strip(),
        index_text=normalize(f"{doc.title} {label} {block.text}"),
        title=doc.title,
        doc_type=doc.doc_type,
        source=doc.source,
        location=location,
        meta={"fields": dict(block.fields), "row": number},
    )


# --- paragraphs ---


def _group_key(section: _Section) -> list[Block]:
    return [h for h in section.headings if h.level <= MERGE_MAX_LEVEL]


def _merge_small_subsections(items: list[_Section | Chunk], target_chars: int) -> list[_Section | Chunk]:
    """Merge a tiny section (< MIN_SECTION_CHARS) with its neighbour below the same level-2 heading.

    Sections of normal size stay separate so a citation can name the exact
    subsection (e.g. one 权责清单 item).
    The merged section is located at the level-2 heading; the subsection titles
    stay in the text so nothing is lost. Never merges across level-2 sections.
    """
    out: list[_Section | Chunk] = []
    for item in items:
        prev = out[-1] if out else None
        if (
            isinstance(item, _Section)
            and isinstance(prev, _Section)
            and _group_key(item)
            and _group_key(prev) == _group_key(item)
            and min(prev.size, item.size) < MIN_SECTION_CHARS
            and prev.size + item.size + sum(len(h.text) + 1 for h in item.headings) <= target_chars
        ):
            key = _group_key(item)
            if prev.headings != key:  # first merge: turn prev into a section at the level-2 heading
                prev = _Section(headings=key, lines=_with_titles(prev, key))
                out[-1] = prev
            prev.lines.extend(_with_titles(item, key))
        else:
            out.append(item)
    return out


def _with_titles(section: _Section, key: list[Block]) -> list[tuple[str, int | None]]:
    page = section.lines[0][1] if section.lines else None
    titles = [(h.text, page) for h in section.headings[len(key) :]]
    return titles + section.lines


def _section_chunks(doc: LoadedDocument, section: _Section, max_chars: int, target_chars: int, overlap: int) -> list[Chunk]:
    units = [_Unit(piece, n, page) for n, (line, page) in enumerate(section.lines)
             for s in split_sentences(line) for piece in _cut_long(s, max_chars)]
    chunks = []
    for group, fresh_start in _pack(units, max_chars, target_chars, overlap):
        text = _join(group)
        page = group[fresh_start].page
        path = section.path
        meta: dict = {"path": path}
        if page is not None:
            meta["page"] = page
        chunks.append(
            Chunk(
                text=text,
                index_text=normalize(f"{doc.title} {' '.join(path)} {text}"),
                title=doc.title,
                doc_type=doc.doc_type,
                source=doc.source,
                location=_location(path, page),
                meta=meta,
            )
        )
    return chunks


_SOFT_BREAK = re.compile(r"[，,、：:\s]")
_MIN_PIECE = 20


def _cut_long(sentence: str, max_chars: int) -> list[str]:
    """A "sentence" longer than a chunk (a roster or a table pasted without 。) cut at the last comma or
    space before ``max_chars``, or hard at ``max_chars``: one 360k-character chunk took 3 GB to embed."""
    pieces = []
    while len(sentence) > max_chars + _MIN_PIECE:  # never leave a stub such as the closing "。" on its own
        breaks = [m.end() for m in _SOFT_BREAK.finditer(sentence, 0, max_chars)]
        cut = breaks[-1] if breaks and breaks[-1] > max_chars // 2 else max_chars
        pieces.append(sentence[:cut].strip())
        sentence = sentence[cut:].strip()
    return [p for p in pieces + [sentence] if p]


def _join(units: list[_Unit]) -> str:
    text = ""
    for i, unit in enumerate(units):
        if i and unit.line_no != units[i - 1].line_no:
            text += "\n"
        text += unit.sentence
    return text


def _pack(units: list[_Unit], max_chars: int, target_chars: int, overlap: int) -> list[tuple[list[_Unit], int]]:
    """Greedy packing of sentences. Returns (units, index of the first non-overlap unit)."""
    packed: list[tuple[list[_Unit], int]] = []
    current: list[_Unit] = []
    n_overlap = 0
    for unit in units:
        size = len(_join(current + [unit]))
        fresh = len(current) - n_overlap
        # Close the chunk when this sentence takes it past target_chars, unless the chunk
        # is still small (under half the target) and the sentence fits under max_chars.
        if fresh and size > target_chars and (size > max_chars or len(_join(current)) >= target_chars // 2):
            packed.append((current, n_overlap))
            current = _tail(current, overlap)
            n_overlap = len(current)
            size = len(_join(current + [unit]))
        if not (len(current) - n_overlap) and size > max_chars:
            current, n_overlap = [], 0  # the overlap would push this chunk past max_chars
        current.append(unit)
    if len(current) > n_overlap:
        packed.append((current, n_overlap))
    return packed


def _tail(units: list[_Unit], overlap: int) -> list[_Unit]:
    """The last sentences of a chunk, at most ``overlap`` characters, never the whole chunk."""
    tail: list[_Unit] = []
    for unit in reversed(units[1:]):
        if len(_join([unit] + tail)) > overlap:
            break
        tail.insert(0, unit)
    return tail


def _dedupe(chunks: list[Chunk]) -> list[Chunk]:
    seen: set[str] = set()
    unique = []
    for chunk in chunks:
        if chunk.content_hash not in seen:
            seen.add(chunk.content_hash)
            unique.append(chunk)
    return unique
