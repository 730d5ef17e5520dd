"""KnowledgeBase: opening a KB directory, its FAISS generations, and every write (see the package doc)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ingest.types import Chunk, LoadedDocument
from knowledge.embed.base import Embedder
from knowledge.index.bm25 import TERMS_VERSION, BM25Index, keyword_terms
from knowledge.index.faiss_index import FaissIndex
from knowledge.store.reads import Reads
from knowledge.store.records import FAISS_FILE, SCHEMA, SCHEMA_VERSION, IngestResult
from shegong.errors import EmbedderMismatch, UserError, database_error

Report = Callable[[float, str], None]  # (fraction done, message); may raise ImportCancelled
ChunkProgress = Callable[[int, int], None]  # (chunks embedded, chunks to embed)
EMBED_BATCH = 32  # chunks per embedding call when a caller follows the progress (and may cancel between batches)


class KnowledgeBase(Reads):
    """A single KB directory. Thread-safe: one lock guards the connection and indexes."""

    def __init__(self, path: Path, embedder: Embedder, *, create: bool = True, description: str = ""):
        self.path = Path(path)
        self.name = self.path.name
        self.embedder = embedder
        db_file = self.path / "kb.sqlite"
        if not db_file.exists():
            if not create:
                raise UserError(f"知识库不存在：{self.path}")
            # (kb.sqlite* alone: another process is creating this same KB right now)
            if self.path.exists() and (not self.path.is_dir()
                                       or any(not p.name.startswith("kb.sqlite") for p in self.path.iterdir())):
                raise UserError(f"{self.path} 不是知识库，而是已有内容的{'文件夹' if self.path.is_dir() else '文件'}。"
                                "为免弄乱或删掉里面的文件，请给知识库指定一个新的或空的文件夹。")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"无法创建知识库文件夹 {self.path}：{e.strerror or e}") from e
        self._lock = threading.RLock()
        try:
            self._conn = sqlite3.connect(db_file, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.executescript(SCHEMA)
            st = db_file.stat()
            self._file_id = (st.st_dev, st.st_ino)
            self._init_meta(description)
            self._upgrade_terms()
            self._bm25: BM25Index | None = None
            self._doc_types: dict[int, str] = {}
            self._faiss = self._load_faiss()
            self._remove_crash_leftovers()
        except sqlite3.DatabaseError as e:  # any step may meet another process's commit: busy, not damage
            raise database_error(e, db_file) from e

    # ------------------------------------------------------------------ setup
    def _init_meta(self, description: str) -> None:
        meta = self.meta()
        if not meta:
            with self._conn:
                self._conn.execute("BEGIN IMMEDIATE")  # two processes creating the same new KB: one writes
                for key, value in {
                    "schema_version": str(SCHEMA_VERSION),
                    "embedder": self.embedder.name,
                    "dim": str(self.embedder.dim),
                    "generation": "0",
                    "terms_version": str(TERMS_VERSION),
                    "description": description,
                    "created_at": time.strftime("%Y-%m-%d %H:%M:%S"),
                }.items():
                    self._conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)", (key, value))
            meta = self.meta()  # the other process's settings if it was first
        self._check_embedder(meta)

    def _check_embedder(self, meta: dict[str, str]) -> None:
        if meta.get("embedder") != self.embedder.name or int(meta.get("dim", 0)) != self.embedder.dim:
            raise EmbedderMismatch(
                f"知识库「{self.name}」是用向量模型 {meta.get('embedder')}（{meta.get('dim')} 维）建立的，"
                f"当前配置的是 {self.embedder.name}（{self.embedder.dim} 维）；两种向量不能混用，所以暂不使用它。"
                f"运行 shegong kb reembed {self.name}（或在网页版「知识库」页点“重新向量化”）即可换成当前模型，"
                "资料不会丢失；也可以把设置 SHEGONG_EMBEDDER 改回原来的模型。")

    def _upgrade_terms(self) -> None:
        """Re-compute the stored BM25 terms of a KB written with an older keyword_terms().

        Only the ``tokens`` column changes (vectors and FAISS stay), so this takes
        seconds, not a re-import. KBs without the meta key predate bigram terms.
        """
        if self.meta().get("terms_version") == str(TERMS_VERSION):
            return
        with self._lock:
            rows = self._conn.execute("SELECT id, index_text FROM chunks").fetchall()
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany("UPDATE chunks SET tokens=? WHERE id=?",
                                       [(" ".join(keyword_terms(text)), cid) for cid, text in rows])
                self._conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('terms_version', ?)",
                                   (str(TERMS_VERSION),))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def meta(self) -> dict[str, str]:
        return dict(self._conn.execute("SELECT key, value FROM meta").fetchall())

    @property
    def generation(self) -> int:
        row = self._conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row[0]) if row else 0

    def _faiss_file(self, gen: int) -> Path:
        return self.path / f"vectors.{gen}.faiss"

    def _load_faiss(self) -> FaissIndex:
        """The committed generation's index: its file if it holds exactly the chunks in SQLite, else rebuilt."""
        own = not self._conn.in_transaction
        if own:  # one snapshot: another process cannot commit (and delete this generation's file) meanwhile
            self._conn.execute("BEGIN")
        try:
            gen = self.generation
            ids = np.array([r[0] for r in self._conn.execute("SELECT id FROM chunks ORDER BY id")], dtype=np.int64)
            path = self._faiss_file(gen)
            index = None
            if path.exists():
                try:
                    index = FaissIndex.load(path, self.embedder.dim)
                    if not np.array_equal(index.ids(), ids):  # same count is not enough: orphan and missing vectors
                        index = None
                except Exception:  # half-written or foreign file: rebuild below
                    index = None
            if index is None:
                index = self._rebuild_faiss()
                try:
                    index.save(path)
                except OSError:  # only a cache: rebuilt again at the next open
                    pass
        finally:
            if own:
                self._conn.execute("COMMIT")
        self._gen = gen
        self._remove_stale_files(gen)
        return index

    def _refresh(self) -> None:
        """Reload the indexes if another process committed since (caller holds the lock)."""
        if self.generation != self._gen:
            self._check_embedder(self.meta())  # another process may have re-embedded it with another model
            self._faiss = self._load_faiss()
            self._bm25 = None

    def _rebuild_faiss(self) -> FaissIndex:
        index = FaissIndex(self.embedder.dim)
        rows = self._conn.execute("SELECT id, vector FROM chunks ORDER BY id").fetchall()
        if rows:
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            vecs = np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
            index.add(ids, vecs)
        return index

    def _remove_stale_files(self, gen: int, *, newer: bool = False) -> None:
        # Older generations' files. Newer ones may be another process's commit in progress: only with ``newer``,
        # when the caller holds the write lock. Only our own files: --kb may point into a folder with the user's files.
        keep = self._faiss_file(gen)
        for f in self.path.glob("vectors.*.faiss*"):
            m = FAISS_FILE.fullmatch(f.name)
            if m and (int(m.group(1)) < gen or newer and f != keep):
                f.unlink(missing_ok=True)

    def _remove_crash_leftovers(self) -> None:
        """At open: newer generations' files are a crash's leftovers, unless another process is committing now."""
        conn = self._conn
        try:
            conn.execute("PRAGMA busy_timeout = 0")
            conn.execute("BEGIN IMMEDIATE")  # taken only if no commit is in progress
        except sqlite3.OperationalError:  # busy, or a read-only KB: leave them to the next commit
            return
        finally:
            conn.execute("PRAGMA busy_timeout = 5000")  # sqlite3.connect's default
        try:
            self._remove_stale_files(self.generation, newer=True)
        finally:
            conn.execute("ROLLBACK")

    def is_current(self) -> bool:
        """False once another process removed this KB (or removed and re-created it): our connection is to a deleted file."""
        try:
            st = (self.path / "kb.sqlite").stat()
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == self._file_id

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --------------------------------------------------------------- writes
    def add_document(self, doc: LoadedDocument, chunks: list[Chunk], *, content_hash: str,
                     progress: bool | ChunkProgress = False, vectors: np.ndarray | None = None,
                     report: Report | None = None) -> IngestResult:
        """Store a chunked document; replaces an earlier version from the same source.

        ``content_hash`` names the content the chunks came from: the same hash again is "unchanged", and
        under another source "duplicate" (nothing is stored twice), as is a document whose every chunk
        another document already holds. A new version keeps the stored vectors of the chunks it brings
        again with the same index text (only changed chunks are embedded). ``progress``: True for a progress
        bar on the terminal, or a function called with (embedded, to embed) as embedding goes on.
        ``report(fraction, message)`` hears about the embedding, batch by batch, and may raise
        ImportCancelled: nothing is written then. ``vectors`` lets a caller pass precomputed ones (benchmarks).
        """
        with self._lock:
            old = self.find_document(doc.source)
            if old and old.meta.get("content_hash") == content_hash:
                return IngestResult(doc.title, doc.source, "unchanged", doc_id=old.id, warnings=doc.warnings)
            if not chunks:
                return IngestResult(doc.title, doc.source, "error", error="文件中没有可用的文字内容")
            same = self._conn.execute("SELECT id, title FROM documents WHERE file_hash=? AND source != ?",
                                      (content_hash, doc.source)).fetchone()
            if same:
                return IngestResult(doc.title, doc.source, "duplicate", doc_id=same[0], same_as=same[1])
            old_hashes, stored = set(), {}
            if old:
                for h, index_text, blob in self._conn.execute(
                        "SELECT hash, index_text, vector FROM chunks WHERE doc_id=?", (old.id,)):
                    old_hashes.add(h)
                    stored[(h, index_text)] = blob
            fresh, keep, shared, seen = [], [], [], set()
            for i, ch in enumerate(chunks):
                h = ch.content_hash
                if h in seen:
                    shared.append(None)  # repeated within this document
                elif h not in old_hashes and self._conn.execute("SELECT 1 FROM chunks WHERE hash=?", (h,)).fetchone():
                    shared.append(h)  # another document has it: kept there, handed over if that one goes
                else:
                    fresh.append(ch)
                    keep.append(i)
                seen.add(h)
            duplicates = len(shared)
            if not old and not fresh and any(shared):  # every paragraph is another document's already
                holder = self._conn.execute(
                    "SELECT d.id, d.title FROM chunks c JOIN documents d ON d.id = c.doc_id "
                    f"WHERE c.hash IN ({','.join('?' * len(set(shared) - {None}))}) "
                    "GROUP BY d.id ORDER BY COUNT(*) DESC, d.id LIMIT 1", sorted(set(shared) - {None})).fetchone()
                if holder:
                    return IngestResult(doc.title, doc.source, "duplicate", doc_id=holder[0], same_as=holder[1])
        if vectors is not None:
            vecs = np.asarray(vectors, dtype=np.float32)[keep]
        else:  # embedding is the slow part: done outside the lock so searches keep working
            vecs = self._vectors_for(fresh, stored, progress, report)
        with self._lock:
            doc_meta = dict(doc.meta, content_hash=content_hash, warnings=doc.warnings,
                            shared_chunks=[h for h in shared if h])
            doc_id, old, added = self._commit(lambda conn: self._write_document(conn, doc, doc_meta, fresh, vecs))
        status = "replaced" if old else "added"
        return IngestResult(doc.title, doc.source, status, doc_id=doc_id, added=added,
                            duplicates=duplicates + len(fresh) - added, warnings=doc.warnings)

    def _vectors_for(self, chunks: list[Chunk], stored: dict[tuple[str, str], bytes],
                     progress: bool | ChunkProgress, report: Report | None) -> np.ndarray:
        """The previous version's vector for a chunk it had with the same text and index text (the embedder
        sees the index text: a new title or heading path is embedded again); the embedder for the rest,
        in batches of EMBED_BATCH when a caller follows the progress, so a long import shows it and can stop."""
        out = np.zeros((len(chunks), self.embedder.dim), dtype=np.float32)
        todo = []
        for i, ch in enumerate(chunks):
            blob = stored.get((ch.content_hash, ch.index_text))
            if blob is None:
                todo.append(i)
            else:
                out[i] = np.frombuffer(blob, dtype=np.float32)
        chunk_progress = progress if callable(progress) else None
        if chunk_progress:
            chunk_progress(0, len(todo))
        step = EMBED_BATCH if chunk_progress or report else max(len(todo), 1)
        for start in range(0, len(todo), step):
            part = todo[start:start + step]
            if report is not None:
                report(start / len(todo), f"正在计算 {len(todo)} 段的向量" if len(todo) <= step
                       else f"正在计算向量：{start}/{len(todo)} 段")
            out[part] = self.embedder.embed([chunks[i].index_text for i in part], kind="passage",
                                            progress=progress is True)
            if chunk_progress:
                chunk_progress(start + len(part), len(todo))
        return out

    def _write_document(self, conn, doc: LoadedDocument, doc_meta: dict, chunks: list[Chunk], vecs: np.ndarray):
        # Looked up again inside the write transaction: while we embedded, another process or thread may have
        # added this file (replace it, don't add it twice) or some of these paragraphs (share them, the hash is unique).
        old = self.find_document(doc.source)
        removed = []
        if old:
            removed = self._release_chunks(conn, old.id, keep_hashes={ch.content_hash for ch in chunks})
            conn.execute("DELETE FROM documents WHERE id=?", (old.id,))
        taken = {i for i, ch in enumerate(chunks)
                 if conn.execute("SELECT 1 FROM chunks WHERE hash=?", (ch.content_hash,)).fetchone()}
        if taken:
            doc_meta = dict(doc_meta, shared_chunks=doc_meta["shared_chunks"] + [chunks[i].content_hash for i in taken])
            vecs = np.asarray(vecs)[[i for i in range(len(chunks)) if i not in taken]]
            chunks = [ch for i, ch in enumerate(chunks) if i not in taken]
        cur = conn.execute(
            "INSERT INTO documents(title, source, doc_type, file_hash, meta, added_at) VALUES (?,?,?,?,?,?)",
            (doc.title, doc.source, doc.doc_type, doc_meta["content_hash"], json.dumps(doc_meta, ensure_ascii=False),
             time.strftime("%Y-%m-%d %H:%M:%S")))
        doc_id = cur.lastrowid
        ids = []
        for seq, (ch, vec) in enumerate(zip(chunks, vecs)):
            cur = conn.execute(
                "INSERT INTO chunks(doc_id, seq, text, index_text, tokens, location, meta, hash, vector)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (doc_id, seq, ch.text, ch.index_text, " ".join(keyword_terms(ch.index_text)), ch.location,
                 json.dumps(ch.meta, ensure_ascii=False), ch.content_hash, np.asarray(vec, np.float32).tobytes()))
            ids.append(cur.lastrowid)
        return (doc_id, old, len(chunks)), removed, (np.asarray(ids, dtype=np.int64), vecs)

    def remove_document(self, doc_id: int) -> bool:
        with self._lock:
            if not self._conn.execute("SELECT 1 FROM documents WHERE id=?", (doc_id,)).fetchone():
                return False

            def delete(conn):
                removed = self._release_chunks(conn, doc_id)
                conn.execute("DELETE FROM documents WHERE id=?", (doc_id,))
                return doc_id, removed, None

            self._commit(delete)
            return True

    def _release_chunks(self, conn, doc_id: int, keep_hashes: set[str] = frozenset()) -> list[int]:
        """Before a document is deleted: hand each chunk another document skipped as a duplicate to that
        document, so its text stays searchable; return the ids of the chunks that really go.

        A chunk whose hash the new version of the same document brings again (``keep_hashes``) goes:
        the new version inserts it afresh.
        """
        sharers: dict[str, int] = {}
        for other_id, meta in conn.execute("SELECT id, meta FROM documents WHERE id != ?", (doc_id,)):
            for h in json.loads(meta or "{}").get("shared_chunks", []):
                sharers.setdefault(h, other_id)
        removed = []
        for cid, h in conn.execute("SELECT id, hash FROM chunks WHERE doc_id=?", (doc_id,)).fetchall():
            if h in sharers and h not in keep_hashes:
                new_owner = sharers[h]
                conn.execute("UPDATE chunks SET doc_id=? WHERE id=?", (new_owner, cid))
                meta = json.loads(conn.execute("SELECT meta FROM documents WHERE id=?", (new_owner,)).fetchone()[0])
                meta["shared_chunks"] = [x for x in meta.get("shared_chunks", []) if x != h]
                conn.execute("UPDATE documents SET meta=? WHERE id=?", (json.dumps(meta, ensure_ascii=False), new_owner))
            else:
                removed.append(cid)
        return removed

    def _commit(self, mutate) -> int:
        """Run ``mutate`` in one transaction, then persist the next FAISS generation before COMMIT."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            self._refresh()  # another process committed: build on its index, not our stale copy
            result, removed, added = mutate(conn)
            self._faiss.remove(removed)
            if added is not None:
                self._faiss.add(*added)
            gen = self.generation + 1
            self._faiss.save(self._faiss_file(gen))
            conn.execute("UPDATE meta SET value=? WHERE key='generation'", (str(gen),))
            conn.execute("COMMIT")
        except BaseException as e:
            conn.execute("ROLLBACK")
            if not isinstance(e, EmbedderMismatch):  # (then the stored vectors are another model's: nothing to load)
                self._faiss = self._load_faiss()  # in-memory index may be half-changed
            raise
        self._gen = gen
        self._remove_stale_files(gen)
        self._bm25 = None  # rebuilt from stored tokens on next search
        return result
