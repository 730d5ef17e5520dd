"""Re-embed a knowledge base built with another embedder: resumable, crash-safe, never mixed.

A KB stores the name and dim of the embedder that made its vectors, and a KB of another embedder is refused
(``EmbedderMismatch``). This moves one to a new embedder in two phases:

1. **Staging** (the slow part, with progress): every chunk's index text is embedded with the new model in
   batches, and each batch is committed to a side table ``reembed_staging`` tagged (meta
   ``reembed_target``) with the new model's name and dim. The KB itself is not touched: its old vectors,
   old FAISS file and old meta keep serving the old embedder. Interrupted (Ctrl-C, crash, power cut), the
   next run resumes from the committed batches; a run for another target model starts the staging afresh.
2. **Swap** (seconds): one SQLite transaction copies the staged vectors into ``chunks.vector``, writes the
   next FAISS generation from them (temp file + rename, before COMMIT, as every store commit does), and sets
   the meta embedder/dim/generation. Chunks added or changed meanwhile (another process using the old model)
   are embedded before the swap, which runs only when every chunk has its staged vector: the KB is all old
   or all new. A crash before COMMIT leaves the old generation complete; the new FAISS file is a leftover
   that ``KnowledgeBase`` removes when it next opens the KB.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from knowledge.index.faiss_index import FaissIndex
from knowledge.store import FAISS_FILE

Progress = Callable[[int, int], None]  # (done, total)

STAGING = """
CREATE TABLE IF NOT EXISTS reembed_staging (
    id INTEGER PRIMARY KEY,      -- chunks.id
    hash TEXT NOT NULL,          -- chunks.hash when it was embedded: a changed chunk is embedded again
    vector BLOB NOT NULL
)"""


def stored_embedder(kb_dir: Path) -> tuple[str, int]:
    """(name, dim) of the embedder a KB's vectors were made with."""
    path = Path(kb_dir) / "kb.sqlite"
    if not path.exists():  # a KB being created or removed: read-only, so never created here
        return "", 0
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('embedder', 'dim')").fetchall())
    finally:
        conn.close()
    return meta.get("embedder", ""), int(meta.get("dim", 0))


def needs_reembed(kb_dir: Path, embedder) -> bool:
    name, dim = stored_embedder(kb_dir)
    return bool(name) and (name, dim) != (embedder.name, embedder.dim)  # no name yet: a KB being created


def plan(kb_dir: Path, embedder) -> dict:
    """What re-embedding this KB costs: its chunks, how many a previous, interrupted run already staged for
    this embedder, and how many of the rest have a shipped vector (free) or must be computed."""
    conn = sqlite3.connect(f"file:{Path(kb_dir) / 'kb.sqlite'}?mode=ro", uri=True)
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        total = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        if meta.get("reembed_target") == f"{embedder.name}:{embedder.dim}":
            texts = [r[0] for r in conn.execute(
                "SELECT c.index_text FROM chunks c LEFT JOIN reembed_staging s ON s.id = c.id "
                "WHERE s.id IS NULL OR s.hash != c.hash")]
        else:
            texts = [r[0] for r in conn.execute("SELECT index_text FROM chunks")]
    finally:
        conn.close()
    shipped = getattr(embedder, "shipped_count", lambda t: 0)(texts)
    return {"embedder": meta.get("embedder", ""), "dim": int(meta.get("dim", 0)), "chunks": total, "staged": total - len(texts),
            "shipped": shipped, "to_compute": len(texts) - shipped}


def reembed(kb_dir: Path, embedder, progress: Progress | None = None, batch: int = 64,
            _before_swap: Callable[[], None] | None = None) -> int:
    """Move the KB at ``kb_dir`` to ``embedder``; returns the number of chunks embedded in this run.

    Safe to interrupt at any point and to run again. A KB already on ``embedder`` is left as it is.
    """
    kb_dir = Path(kb_dir)
    conn = sqlite3.connect(kb_dir / "kb.sqlite", isolation_level=None, timeout=30)
    try:
        if not needs_reembed(kb_dir, embedder):
            return 0
        target = f"{embedder.name}:{embedder.dim}"
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(STAGING)
        row = conn.execute("SELECT value FROM meta WHERE key='reembed_target'").fetchone()
        if row is None or row[0] != target:  # a run for another model left rows: they are no use here
            conn.execute("DELETE FROM reembed_staging")
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('reembed_target', ?)", (target,))
        conn.execute("COMMIT")
        embedded = 0
        while True:
            todo = conn.execute(
                "SELECT c.id, c.hash, c.index_text FROM chunks c LEFT JOIN reembed_staging s ON s.id = c.id "
                "WHERE s.id IS NULL OR s.hash != c.hash ORDER BY c.id").fetchall()
            total = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
            done = total - len(todo)
            if progress:
                progress(done, total)
            for start in range(0, len(todo), batch):
                part = todo[start:start + batch]
                vecs = embedder.embed([r[2] for r in part], kind="passage")
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("INSERT OR REPLACE INTO reembed_staging(id, hash, vector) VALUES (?, ?, ?)",
                                 [(r[0], r[1], np.asarray(v, np.float32).tobytes()) for r, v in zip(part, vecs)])
                conn.execute("COMMIT")
                embedded += len(part)
                done += len(part)
                if progress:
                    progress(done, total)
            if _before_swap:
                _before_swap()
            if _swap(conn, kb_dir, embedder):
                return embedded
            # chunks were added or changed between the last batch and the swap: embed those, then swap
    finally:
        conn.close()


def _swap(conn: sqlite3.Connection, kb_dir: Path, embedder) -> bool:
    conn.execute("BEGIN IMMEDIATE")
    try:
        missing = conn.execute(
            "SELECT COUNT(*) FROM chunks c LEFT JOIN reembed_staging s ON s.id = c.id "
            "WHERE s.id IS NULL OR s.hash != c.hash").fetchone()[0]
        if missing:
            conn.execute("ROLLBACK")
            return False
        conn.execute("UPDATE chunks SET vector = (SELECT s.vector FROM reembed_staging s WHERE s.id = chunks.id)")
        rows = conn.execute("SELECT id, vector FROM chunks ORDER BY id").fetchall()
        index = FaissIndex(embedder.dim)
        if rows:
            index.add(np.array([r[0] for r in rows], dtype=np.int64),
                      np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows]))
        gen = int(conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()[0]) + 1
        index.save(kb_dir / f"vectors.{gen}.faiss")
        for key, value in (("embedder", embedder.name), ("dim", str(embedder.dim)), ("generation", str(gen)),
                           ("reembedded_at", time.strftime("%Y-%m-%d %H:%M:%S"))):
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))
        conn.execute("DELETE FROM reembed_staging")
        conn.execute("DELETE FROM meta WHERE key='reembed_target'")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    for f in kb_dir.glob("vectors.*.faiss*"):  # older generations (the store does the same after a commit)
        m = FAISS_FILE.fullmatch(f.name)
        if m and int(m.group(1)) < gen:
            f.unlink(missing_ok=True)
    return True
