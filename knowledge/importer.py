"""File -> load -> chunk -> store: how documents get into a knowledge base.

The store keeps chunked documents and nothing else; reading files and national laws and cutting
them into chunks (ingest/) happens here, before it. Every way in goes through ``add_document``,
so the content hash always names both the content and the chunker version that cut it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ingest.chunking import CHUNKER_VERSION, chunk_document
from ingest.laws import load_law
from ingest.loaders import load_file
from ingest.types import LoadedDocument
from knowledge.store import ChunkProgress, IngestResult, KnowledgeBase
from shegong.errors import UserError


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def text_sha256(doc: LoadedDocument) -> str:
    return hashlib.sha256("\n".join(b.text for b in doc.blocks).encode("utf-8")).hexdigest()


def add_document(kb: KnowledgeBase, doc: LoadedDocument, *, content_hash: str | None = None,
                 progress: bool | ChunkProgress = False) -> IngestResult:
    """Chunk a loaded document and store it; replaces an earlier version from the same source.

    A new chunker version re-chunks every file once, even unchanged ones: the hash includes it.
    """
    content_hash = f"{content_hash or text_sha256(doc)}:c{CHUNKER_VERSION}"
    old = kb.find_document(doc.source)
    if old and old.meta.get("content_hash") == content_hash:  # skip the chunking; the store checks again
        return IngestResult(doc.title, doc.source, "unchanged", doc_id=old.id, warnings=doc.warnings)
    return kb.add_document(doc, chunk_document(doc), content_hash=content_hash, progress=progress)


def add_file(kb: KnowledgeBase, path: Path | str, *, doc_type: str | None = None, title: str | None = None,
             source: str | None = None, progress: bool | ChunkProgress = False) -> IngestResult:
    """Load, chunk, embed and index one file. Never raises for a bad file: the result says why.
    ``progress``: see ``KnowledgeBase.add_document``."""
    path = Path(path)
    try:
        source = source or str(path.resolve())
    except RuntimeError:  # Python's word for a symlink loop
        return IngestResult(title=title or path.name, source=str(path), status="error",
                            error="无法读取这个文件：快捷方式（符号链接）指来指去形成了循环")
    try:
        doc = load_file(path, doc_type=doc_type, title=title)
        doc.source = source
        return add_document(kb, doc, content_hash=file_sha256(path), progress=progress)
    except UserError as e:
        return IngestResult(title=title or path.name, source=source, status="error", error=str(e))
    except OSError as e:  # unreadable or vanished file
        why = "没有读取权限" if isinstance(e, PermissionError) else (e.strerror or str(e))
        return IngestResult(title=title or path.name, source=source, status="error", error=f"无法读取这个文件：{why}")


def import_law(kb: KnowledgeBase, name: str, db: Path | None = None, *,
               progress: bool | ChunkProgress = False) -> IngestResult:
    """One national law from the law database, one chunk per article."""
    try:
        doc = load_law(name, db)
    except UserError as e:
        return IngestResult(title=name, source=f"laws.db:{name}", status="error", error=str(e))
    return add_document(kb, doc, progress=progress)


def step_progress(progress, start: float, end: float, label: str) -> ChunkProgress:
    """Chunk-by-chunk progress of one file as a share of a longer job: ``progress(frac, message)`` between
    ``start`` and ``end``, the message saying how many of the file's chunks are embedded."""
    def report(done: int, total: int) -> None:
        if total:
            progress(start + (end - start) * done / total, f"{label}（向量化 {done}/{total} 段）")
    return report
