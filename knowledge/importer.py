"""File -> load -> chunk -> store: how documents get into a knowledge base.

The store keeps chunked documents and nothing else; reading files and national laws and cutting
them into chunks (ingest/) happens here, before it. Every way in goes through ``add_document``,
so the content hash always names both the content and the chunker version that cut it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from ingest.chunking import CHUNKER_VERSION, chunk_document
from ingest.laws import load_law
from ingest.loaders import load_file
from ingest.textutil import split_sentences
from ingest.types import Chunk, LoadedDocument
from knowledge.store import ChunkProgress, DocumentInfo, IngestResult, KnowledgeBase
from shegong.errors import ImportCancelled, UserError


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def text_sha256(doc: LoadedDocument) -> str:
    return hashlib.sha256("\n".join(b.text for b in doc.blocks).encode("utf-8")).hexdigest()


Progress = Callable[[float, str], None]  # (fraction of this file, message); may raise ImportCancelled
# A file whose name a different document already has is a revision of it only with the same title and at least
# this share of the smaller one's sentences in common (otherwise both are kept: tests/test_uploads.py).
REVISION_SHARE = 0.5
LOADING, EMBEDDING = 0.8, 0.2  # the shares of a file's progress


def add_document(kb: KnowledgeBase, doc: LoadedDocument, *, content_hash: str | None = None,
                 progress: bool | ChunkProgress = False, keep_both: Callable[[str], str] | None = None,
                 report: Progress | None = None) -> IngestResult:
    """Chunk a loaded document and store it; replaces an earlier version from the same source.

    With ``keep_both``, an earlier document from the same source is replaced only if the new one is a
    revision of it (``is_revision``); otherwise the new one is stored under ``keep_both(source)`` and the
    result names the one that was kept. A new chunker version re-chunks every file once, even unchanged
    ones: the hash includes it.
    """
    content_hash = f"{content_hash or text_sha256(doc)}:c{CHUNKER_VERSION}"
    old = kb.find_document(doc.source)
    if old and old.meta.get("content_hash") == content_hash:  # skip the chunking; the store checks again
        return IngestResult(doc.title, doc.source, "unchanged", doc_id=old.id, warnings=doc.warnings)
    chunks = chunk_document(doc)
    kept = None
    if old and keep_both is not None and not is_revision(kb, old, doc, chunks):
        doc.source, kept = keep_both(doc.source), old.title
    embed_report = None if report is None else (lambda f, msg: report(LOADING + EMBEDDING * f, msg))
    result = kb.add_document(doc, chunks, content_hash=content_hash, progress=progress, report=embed_report)
    if kept is not None and result.status in ("added", "replaced"):
        result.kept_both = kept
    return result


def _sentences(texts) -> set[str]:
    return {"".join(s.split()) for text in texts for s in split_sentences(text) if len("".join(s.split())) >= 4}


def is_revision(kb: KnowledgeBase, old: DocumentInfo, doc: LoadedDocument, chunks: list[Chunk]) -> bool:
    """Whether ``doc`` is a new version of the stored ``old`` (same file name): the same title and at least
    REVISION_SHARE of the smaller one's sentences shared. 附件1.docx《低保申请表》 and 附件1.docx《临时救助审批表》
    are two documents; a notice with two dates changed is one."""
    if "".join(old.title.split()) != "".join(doc.title.split()):
        return False
    before, after = _sentences(h.text for h in kb.chunks_of(old.id)), _sentences(c.text for c in chunks)
    if not before or not after:
        return False
    return len(before & after) / min(len(before), len(after)) >= REVISION_SHARE


def add_file(kb: KnowledgeBase, path: Path | str, *, doc_type: str | None = None, title: str | None = None,
             source: str | None = None, progress: bool | ChunkProgress = False,
             keep_both: Callable[[str], str] | None = None, report: Progress | None = None) -> IngestResult:
    """Load, chunk, embed and index one file. Never raises for a bad file: the result says why.

    ``progress``: see ``KnowledgeBase.add_document``. ``keep_both``: see ``add_document``.
    ``report(fraction, message)`` hears about each page of a PDF and each batch of vectors, and may raise
    ImportCancelled, which is let through (nothing is stored then).
    """
    path = Path(path)
    try:
        source = source or str(path.resolve())
    except RuntimeError:  # Python's word for a symlink loop
        return IngestResult(title=title or path.name, source=str(path), status="error",
                            error="无法读取这个文件：快捷方式（符号链接）指来指去形成了循环")
    pages = None if report is None else (lambda done, total, what: report(LOADING * done / max(total, 1), what))
    try:
        doc = load_file(path, doc_type=doc_type, title=title, progress=pages)
        doc.source = source
        return add_document(kb, doc, content_hash=file_sha256(path), progress=progress, keep_both=keep_both,
                            report=report)
    except ImportCancelled:
        raise
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
