"""The read side of a knowledge base: documents, chunks, article lookups, BM25 and vector search.

A mixin of KnowledgeBase (knowledge/store/kb.py), which owns the connection, the lock and the indexes;
every search first reloads the indexes if another process committed since.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from knowledge.index.bm25 import BM25Index
from knowledge.store.records import DocumentInfo
from knowledge.types import Hit


class Reads:
    def find_document(self, source: str) -> DocumentInfo | None:
        docs = self.documents(source=source)
        return docs[0] if docs else None

    def documents(self, *, doc_type: str | None = None, source: str | None = None,
                  query: str | None = None) -> list[DocumentInfo]:
        sql = ("SELECT d.id, d.title, d.source, d.doc_type, d.added_at, d.meta, "
               "(SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.id) FROM documents d WHERE 1=1")
        args: list = []
        if doc_type:
            sql += " AND d.doc_type = ?"
            args.append(doc_type)
        if source:
            sql += " AND d.source = ?"
            args.append(source)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY d.id", args).fetchall()
        if query:  # what the user sees (title, file name), literally: not the folders of the stored path, no LIKE wildcards
            q = query.lower()
            rows = [r for r in rows if q in r[1].lower() or q in Path(r[2]).name.lower()]
        return [DocumentInfo(id=r[0], title=r[1], source=r[2], doc_type=r[3], added_at=r[4], meta=json.loads(r[5]),
                             n_chunks=r[6]) for r in rows]

    def get_document(self, doc_id: int) -> DocumentInfo | None:
        return next((d for d in self.documents() if d.id == doc_id), None)

    _HIT_SQL = ("SELECT c.id, c.text, c.location, c.meta, d.title, d.source, d.doc_type, d.id, c.seq "
                "FROM chunks c JOIN documents d ON d.id = c.doc_id ")

    def _hit(self, row, score: float = 0.0) -> Hit:
        meta = json.loads(row[3])
        meta["seq"] = row[8]
        return Hit(chunk_id=row[0], kb=self.name, text=row[1], score=score, title=row[4], source=row[5],
                   doc_type=row[6], location=row[2], doc_id=row[7], meta=meta)

    def get_hits(self, scored: list[tuple[int, float]]) -> list[Hit]:
        """Chunk ids with scores -> Hits, in the given order."""
        if not scored:
            return []
        ids = [cid for cid, _ in scored]
        with self._lock:
            rows = self._conn.execute(self._HIT_SQL + f"WHERE c.id IN ({','.join('?' * len(ids))})", ids).fetchall()
        by_id = {r[0]: r for r in rows}
        return [self._hit(by_id[cid], score) for cid, score in scored if cid in by_id]

    def chunks_of(self, doc_id: int) -> list[Hit]:
        with self._lock:
            rows = self._conn.execute(self._HIT_SQL + "WHERE c.doc_id = ? ORDER BY c.seq", (doc_id,)).fetchall()
        return [self._hit(r) for r in rows]

    def find_article(self, law: str, article: str) -> list[Hit]:
        """Chunks of law documents whose title contains ``law`` and whose article label is ``article``."""
        with self._lock:
            rows = self._conn.execute(
                # instr, not LIKE: a law name taken from a model's answer must not act as a wildcard ("《%》第一条")
                self._HIT_SQL + "WHERE d.doc_type IN ('law', 'policy') AND instr(d.title, ?) > 0 "
                "AND json_extract(c.meta, '$.article') = ?", (law, article)).fetchall()
        return [self._hit(r) for r in rows]

    def titles(self) -> list[str]:
        """Every document title (used to check the names an answer cites)."""
        with self._lock:
            return [r[0] for r in self._conn.execute("SELECT title FROM documents")]

    def stats(self) -> dict:
        with self._lock:
            n_docs = self._conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            n_chunks = self._conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
            by_type = dict(self._conn.execute(
                "SELECT d.doc_type, COUNT(*) FROM chunks c JOIN documents d ON d.id=c.doc_id GROUP BY d.doc_type"))
        meta = self.meta()
        size = sum(f.stat().st_size for f in self.path.iterdir() if f.is_file())
        return {"name": self.name, "path": str(self.path), "documents": n_docs, "chunks": n_chunks,
                "chunks_by_type": by_type, "embedder": meta.get("embedder"), "dim": int(meta.get("dim", 0)),
                "generation": self.generation, "description": meta.get("description", ""),
                "size_mb": round(size / 1e6, 2)}

    # ---------------------------------------------------------------- search
    def _ensure_bm25(self) -> BM25Index:
        if self._bm25 is None:
            rows = self._conn.execute(
                "SELECT c.id, c.tokens, d.doc_type FROM chunks c JOIN documents d ON d.id=c.doc_id ORDER BY c.id"
            ).fetchall()
            token_lists = [r[1].split() for r in rows]
            self._bm25 = BM25Index([r[0] for r in rows], token_lists)
            self._doc_freq = Counter(t for toks in token_lists for t in set(toks))
            self._doc_types = {r[0]: r[2] for r in rows}
            self._types_arr = np.array([r[2] for r in rows], dtype=object)
        return self._bm25

    def doc_freq(self, tokens: list[str]) -> tuple[dict[str, int], int]:
        """How many chunks contain each token, and the number of chunks (for IDF weights)."""
        with self._lock:
            self._refresh()
            self._ensure_bm25()
            return {t: self._doc_freq.get(t, 0) for t in tokens}, len(self._bm25)

    def bm25_search(self, query_tokens: list[str], k: int, doc_types: list[str] | None = None) -> list[tuple[int, float]]:
        with self._lock:
            self._refresh()
            bm25 = self._ensure_bm25()
            mask = np.isin(self._types_arr, doc_types) if doc_types else None
            return bm25.search(query_tokens, k, allowed_mask=mask)

    def dense_search(self, qvec: np.ndarray, k: int, doc_types: list[str] | None = None) -> list[tuple[int, float]]:
        with self._lock:
            self._refresh()
            allowed = None
            if doc_types:
                self._ensure_bm25()
                allowed = np.array([cid for cid, t in self._doc_types.items() if t in doc_types], dtype=np.int64)
            return self._faiss.search(qvec, k, allowed_ids=allowed)

    def __len__(self) -> int:
        with self._lock:
            self._refresh()
            return len(self._faiss)
