"""One knowledge base (知识库) = one directory.

    <kb dir>/kb.sqlite          documents, chunks (text, BM25 terms, metadata, vector), meta
    <kb dir>/vectors.<gen>.faiss the FAISS index for generation <gen>

SQLite is the source of truth; the FAISS file is a persisted cache of the
vectors stored in SQLite. Every change runs in one SQLite transaction that also
bumps ``generation`` and writes ``vectors.<gen+1>.faiss`` (temp file + rename)
before committing. A crash at any point leaves either the old or the new
generation complete; older generations' files are removed at the next open or
commit, and a missing FAISS file, or one whose ids differ from the chunks in
SQLite, is rebuilt from SQLite. Other processes may change the KB while this one
has it open (a CLI ingest while the app runs): searches and commits first check
the generation and reload the indexes if it moved. Stored BM25 terms written by an
older ``keyword_terms()`` (meta ``terms_version``) are re-computed on open.

The store keeps chunked documents; reading and chunking files is knowledge/importer.py's job.
"""

from knowledge.store.kb import ChunkProgress, KnowledgeBase
from knowledge.store.records import FAISS_FILE, DocumentInfo, IngestResult

__all__ = ["FAISS_FILE", "ChunkProgress", "DocumentInfo", "IngestResult", "KnowledgeBase"]
