"""What the store writes and reports: its schema, per-file results, document rows."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    source TEXT NOT NULL,
    doc_type TEXT NOT NULL,
    file_hash TEXT NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}',
    added_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    text TEXT NOT NULL,
    index_text TEXT NOT NULL,
    tokens TEXT NOT NULL,
    location TEXT NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}',
    hash TEXT NOT NULL UNIQUE,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
"""


@dataclass
class IngestResult:
    """What happened to one file; shown per file in the CLI and the app."""

    title: str
    source: str
    # duplicate: the same content is already stored as another document (``same_as``, ``doc_id``)
    status: Literal["added", "replaced", "unchanged", "duplicate", "error"]
    doc_id: int | None = None
    added: int = 0
    duplicates: int = 0
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    same_as: str | None = None
    kept_both: str | None = None  # the title of a different document that had this file's name: both kept

    def summary(self) -> str:
        if self.status == "error":
            return f"✗ {self.title}：{self.error}"
        if self.status == "unchanged":
            return f"· {self.title}：内容未变，跳过"
        if self.status == "duplicate":
            return f"· {self.title}：与《{self.same_as}》内容相同，未重复导入"
        verb = "已更新" if self.status == "replaced" else "已加入"
        text = f"✓ {self.title}：{verb} {self.added} 段"
        if self.duplicates:
            text += f"，跳过重复 {self.duplicates} 段"
        if self.kept_both is not None:
            text += (f"（知识库里已有同名文件《{self.kept_both}》，内容不同，没有替换它；"
                     f"这一份另存为 {self.source.replace(chr(92), '/').rsplit('/', 1)[-1]}）")
        for w in self.warnings:
            text += f"\n  ⚠ {w}"
        return text


@dataclass
class DocumentInfo:
    id: int
    title: str
    source: str
    doc_type: str
    n_chunks: int
    added_at: str
    meta: dict


FAISS_FILE = re.compile(r"vectors\.(\d+)\.faiss(?:\.\d+\.\d+)?(?:\.tmp)?")  # the file and its temp files
