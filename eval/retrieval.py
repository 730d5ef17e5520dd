"""Retrieval eval: recall@1/5/10, MRR@10 and latency for hybrid vs plain BM25 vs plain dense.

All variants run in the same process on the same KBs, so the ratios are fair
even on a noisy machine. Usage: ``shegong eval retrieval`` or ``python -m eval.retrieval``.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

from eval.common import DATA_DIR, first_gold_rank, load_jsonl, percentile
from knowledge.library import get_library
from knowledge.retrieve.hybrid import HybridRetriever, RetrievalConfig


def variants_for(embedder_name: str) -> dict[str, RetrievalConfig]:
    """References (plain BM25, plain dense, simple RRF) and ablations of the default for this embedder."""
    base = RetrievalConfig.for_embedder(embedder_name)
    return {
        "bm25 (plain)": RetrievalConfig(method="bm25", synonyms=False),
        "dense (plain)": RetrievalConfig(method="dense", synonyms=False),
        "rrf (bm25+dense)": RetrievalConfig(method="hybrid", synonyms=False, fusion="rrf", w_dense=1.0),
        "bm25 + synonyms": RetrievalConfig(method="bm25", synonyms=True),
        # ablations of the default: each changes one thing back
        "default, rrf fusion": replace(base, fusion="rrf", w_dense=1.0),
        f"default, w_dense={base.w_dense - 0.5:g}": replace(base, w_dense=base.w_dense - 0.5),
        f"default, w_dense={base.w_dense + 0.5:g}": replace(base, w_dense=base.w_dense + 0.5),
        f"default, dense expansion {'off' if base.dense_expansion else 'on'}":
            replace(base, dense_expansion=not base.dense_expansion),
        "default, no synonyms": replace(base, synonyms=False, dense_expansion=False),
        "hybrid (default)": base,
    }


def split_of(item: dict) -> str:
    """dev = odd ids, test = even ids: tune on dev, confirm on test (a held-out set is run separately)."""
    digits = "".join(ch for ch in str(item.get("id", "")) if ch.isdigit())
    return "dev" if digits and int(digits) % 2 else "test"


def evaluate(retriever: HybridRetriever, questions: list[dict], config: RetrievalConfig, kbs=None) -> dict:
    ranks, latencies, misses, per_kind, per_split = [], [], [], {}, {}
    retriever.search(questions[0]["q"], 10, kbs=kbs, config=config)  # warm caches (BM25 build, embedder load)
    for item in questions:
        t = time.perf_counter()
        hits = retriever.search(item["q"], 10, kbs=kbs, config=config)
        latencies.append((time.perf_counter() - t) * 1000)
        rank = first_gold_rank(hits, item["gold"])
        ranks.append(rank)
        per_kind.setdefault(item.get("kind", "-"), []).append(rank)
        per_split.setdefault(split_of(item), []).append(rank)
        if rank is None or rank > 5:
            misses.append({"id": item.get("id"), "q": item["q"], "rank": rank,
                           "top3": [f"{h.title}｜{h.location}" for h in hits[:3]]})
    return {
        **_scores(ranks),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p95_ms": round(percentile(latencies, 95), 2),
        "by_kind": {k: _scores(v) for k, v in sorted(per_kind.items())},
        "by_split": {k: _scores(v) for k, v in sorted(per_split.items())},
        "misses": misses,
    }


def _scores(ranks: list[int | None]) -> dict:
    n = max(len(ranks), 1)
    return {
        "n": len(ranks),
        "recall@1": round(sum(1 for r in ranks if r and r <= 1) / n, 3),
        "recall@5": round(sum(1 for r in ranks if r and r <= 5) / n, 3),
        "recall@10": round(sum(1 for r in ranks if r and r <= 10) / n, 3),
        "mrr@10": round(sum(1 / r for r in ranks if r and r <= 10) / n, 3),
    }


def main(data: Path | None = None, kbs: list[str] | None = None, out: Path | None = None,
         variants: dict[str, RetrievalConfig] | None = None, verbose: bool = True,
         hyde_model: str | None = None) -> dict:
    questions = load_jsonl(data or DATA_DIR / "retrieval.jsonl")
    library = get_library()
    if library.needs_setup():
        library.install_defaults()
    retriever = HybridRetriever(library)
    results = {}
    for name, cfg in (variants or variants_for(library.embedder.name)).items():
        results[name] = evaluate(retriever, questions, replace(cfg), kbs)
    if hyde_model:  # one LLM call per question: its latency columns include the model
        results["hybrid + HyDE"] = evaluate(HybridRetriever(library, expander=_hyde(hyde_model)), questions,
                                            RetrievalConfig.for_embedder(library.embedder.name), kbs)
    if verbose:
        print(f"检索评测：{len(questions)} 个问题，知识库 {', '.join(kbs or library.names())}，向量模型 {library.embedder.name}")
        print(f"{'方法':<22}{'R@1':>7}{'R@5':>7}{'R@10':>7}{'MRR@10':>8}{'p50 ms':>9}{'p95 ms':>9}")
        for name, r in results.items():
            print(f"{name:<22}{r['recall@1']:>7.3f}{r['recall@5']:>7.3f}{r['recall@10']:>7.3f}{r['mrr@10']:>8.3f}"
                  f"{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}")
        print(f"{'方法':<22}{'dev R@5':>9}{'dev MRR':>9}{'test R@5':>10}{'test MRR':>10}")
        for name, r in results.items():
            d, t = r["by_split"].get("dev", {}), r["by_split"].get("test", {})
            print(f"{name:<22}{d.get('recall@5', 0):>9.3f}{d.get('mrr@10', 0):>9.3f}"
                  f"{t.get('recall@5', 0):>10.3f}{t.get('mrr@10', 0):>10.3f}")
        best = results["hybrid (default)"]
        print("默认方法按类别：", json.dumps({k: (v["recall@5"], v["n"]) for k, v in best["by_kind"].items()},
                                           ensure_ascii=False))
        print(f"默认方法未进前 5 的问题：{len(best['misses'])}")
        for m in best["misses"]:
            print(f"  {m['id']} {m['q']} → rank {m['rank']}; top3: {m['top3']}")
    if out:
        Path(out).write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    return results


def _hyde(model: str):
    from assistant.llm import make_llm
    from knowledge.retrieve.hyde import HydeExpander
    from shegong.config import get_settings

    settings = get_settings().model_copy(update={"llm_backend": "llama_cpp", "llm_default_model": model})
    return HydeExpander(make_llm(settings))


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    main(args.data, out=args.out)
