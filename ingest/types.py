"""Typed hand-over between loaders, the chunker and the store."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

from shegong.errors import UserError

DocType = Literal["handbook", "policy", "law", "case"]
DOC_TYPES: tuple[str, ...] = ("handbook", "policy", "law", "case")
DOC_TYPE_LABELS = {"handbook": "工作手册", "policy": "政策文件", "law": "法律法规", "case": "案例"}


def check_doc_type(doc_type: str | None) -> None:
    """None or "" means "decide from the file"; anything else must be one of DOC_TYPES."""
    if doc_type and doc_type not in DOC_TYPES:
        raise UserError(f"未知的资料类型：{doc_type}。可选：" + "、".join(f"{k}（{v}）" for k, v in DOC_TYPE_LABELS.items()))

BlockKind = Literal["heading", "paragraph", "article", "record", "qa"]


@dataclass
class Block:
    """One structural unit of a loaded document, in reading order.

    - ``heading``: a title line; ``level`` 1 = top (编/章/一、), deeper numbers are nested.
    - ``paragraph``: running text under the current headings.
    - ``article``: one whole law article (第X条 ...), never split by the chunker.
    - ``record``: one self-contained item (a case row): always one chunk.
    - ``qa``: a question ("问：…") with its answer: always one chunk, under the current headings.
    ``fields`` holds labelled columns for records (场景/问题/做法...).
    """

    kind: BlockKind
    text: str
    level: int = 0
    page: int | None = None
    label: str | None = None  # e.g. "第十八条" for articles, a case title for records, the question for qa
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class LoadedDocument:
    title: str
    source: str  # file path (or "laws.db:<law name>")
    doc_type: DocType
    blocks: list[Block]
    meta: dict = field(default_factory=dict)  # loader extras: encoding, ocr=True, pages, sample=True...
    warnings: list[str] = field(default_factory=list)  # Chinese, shown to the user


@dataclass
class Chunk:
    """A retrievable passage.

    ``text`` is what the user sees (original wording, original script);
    ``index_text`` is what BM25 and the embedder see (title + heading path + text,
    traditional characters converted to simplified).
    """

    text: str
    index_text: str
    title: str
    doc_type: DocType
    source: str
    location: str  # human readable: "第3页 · 一、证件遗失" / "第二章 家庭赡养与扶养 › 第十四条"
    meta: dict = field(default_factory=dict)  # page, article, path (list[str]), law, fields...

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.text.strip().encode("utf-8")).hexdigest()
