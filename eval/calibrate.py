"""Calibrate the refusal gate on in-scope vs out-of-scope questions (no LLM involved).

In-scope = every question of retrieval.jsonl and answers.jsonl; out-of-scope =
out_of_scope.jsonl. For each blend weight of dense cosine vs IDF-weighted word
coverage: ``low`` = highest score under which at most 2% of in-scope questions
fall (refused at once), ``high`` = lowest score above which at most 2% of
out-of-scope questions fall (answered at once). Questions in between are
judged by the LLM (yes/no); the best weight leaves the fewest to judge.

``--judge`` then asks the LLM about every question in that band and picks
``judge_threshold`` on the judge's P(能) (the mean over the top sources, each
judged on its own): the highest threshold at which at most 5% of all
in-scope questions end up refused (below ``low`` or judged no).

    python -m eval.calibrate [--judge [--model qwen2.5-coder-1.5b]]
"""

from __future__ import annotations

import json

import numpy as np

from assistant.answer import Answerer
from assistant.gate import RelevanceGate
from eval.common import DATA_DIR, load_jsonl
from knowledge.library import get_library
from knowledge.retrieve.hybrid import HybridRetriever


def _retriever() -> HybridRetriever:
    lib = get_library()
    if lib.needs_setup():
        lib.install_defaults()
    return HybridRetriever(lib)


def features(questions: list[str], gate: RelevanceGate, retriever: HybridRetriever) -> list[list[tuple[float, float]]]:
    out = []
    for q in questions:
        r = retriever.retrieve(q, k=8)
        out.append(gate.features(r.query.text, r.hits, retriever.idf))
    return out


def judge_probabilities(questions: list[str], answerer: Answerer) -> list[float | None]:
    """P(relevant) from the LLM for questions in the gate's band; None where the gate decides alone."""
    gate, retriever, out = answerer.gate, answerer.retriever, []
    for q in questions:
        r = retriever.retrieve(q, k=8)
        s = answerer.relevance(r)
        if gate.in_band(s):
            out.append(answerer.judge_retrieved(q, r))
        else:
            out.append(None if s >= gate.high else -1.0)  # -1: refused by the gate before any judge
    return out


def calibrate_judge(model: str = "qwen2.5-coder-1.5b", max_false_refusal: float = 0.05) -> dict:
    from assistant.llm import make_llm
    from shegong.config import get_settings

    settings = get_settings().model_copy(update={"llm_backend": "llama_cpp", "llm_default_model": model})
    answerer = Answerer(_retriever(), make_llm(settings))
    inscope = [x["q"] for x in load_jsonl(DATA_DIR / "retrieval.jsonl") + load_jsonl(DATA_DIR / "answers.jsonl")]
    oos = [x["q"] for x in load_jsonl(DATA_DIR / "out_of_scope.jsonl")]
    p_in, p_out = judge_probabilities(inscope, answerer), judge_probabilities(oos, answerer)

    def refused(ps, t):
        return sum(1 for p in ps if p is not None and p < t) / len(ps)

    rows = []
    for t in np.arange(0.0, 1.0001, 0.05):
        rows.append({"threshold": round(float(t), 2), "false_refusal": round(refused(p_in, t), 3),
                     "oos_refusal": round(refused(p_out, t), 3)})
        print(json.dumps(rows[-1]))
    ok = [r for r in rows if r["false_refusal"] <= max_false_refusal]
    best = max(ok, key=lambda r: (r["oos_refusal"], -r["threshold"])) if ok else rows[0]
    judged_in = sorted(round(p, 3) for p in p_in if p is not None and p >= 0)
    judged_out = sorted(round(p, 3) for p in p_out if p is not None and p >= 0)
    print("范围内、交给模型判断的 P(能)（逐条判断的平均）：", judged_in)
    print("范围外、交给模型判断的 P(能)（逐条判断的平均）：", judged_out)
    print(f"推荐 judge_threshold（范围内误拒 ≤ {max_false_refusal:.0%} 时拒答最多）：", json.dumps(best))
    return {"rows": rows, "best": best, "judged_in": judged_in, "judged_out": judged_out}


def scores(feats, gate: RelevanceGate) -> np.ndarray:
    return np.array([max((gate.combine(c, d) for c, d in f), default=0.0) for f in feats])


def main(max_false_refusal: float = 0.02, max_oos_accept: float = 0.02) -> dict:
    """Pick ``low`` (refuse below: almost no in-scope question there) and ``high`` (answer above:
    almost no out-of-scope question there); the band between goes to the LLM judge. Minimise that band."""
    retriever = _retriever()
    gate = RelevanceGate.for_embedder(retriever.embedder.name)
    inscope = [x["q"] for x in load_jsonl(DATA_DIR / "retrieval.jsonl") + load_jsonl(DATA_DIR / "answers.jsonl")]
    oos = [x["q"] for x in load_jsonl(DATA_DIR / "out_of_scope.jsonl")]
    f_in, f_out = features(inscope, gate, retriever), features(oos, gate, retriever)
    grid = np.arange(0.0, 1.001, 0.01)
    best = None
    # e5's cosines span a narrow range, so its best weights sit close to 1: a finer grid there
    for w in sorted(set(np.round(np.r_[np.arange(0.0, 1.01, 0.1), np.arange(0.9, 1.001, 0.01)], 2))):
        g = RelevanceGate(dense_weight=float(w))
        s_in, s_out = scores(f_in, g), scores(f_out, g)
        low = max((t for t in grid if (s_in < t).mean() <= max_false_refusal), default=0.0)
        high = min((t for t in grid if (s_out >= t).mean() <= max_oos_accept), default=1.0)
        high = max(high, low)
        band = float(((np.concatenate([s_in, s_out]) >= low) & (np.concatenate([s_in, s_out]) < high)).mean())
        row = {"dense_weight": round(float(w), 2), "low": round(float(low), 2), "high": round(float(high), 2),
               "judged_share": round(band, 3),
               "in_scope_judged": round(float(((s_in >= low) & (s_in < high)).mean()), 3),
               "oos_judged": round(float(((s_out >= low) & (s_out < high)).mean()), 3)}
        print(json.dumps(row, ensure_ascii=False))
        if best is None or row["judged_share"] < best["judged_share"]:
            best = row
    print(f"范围内问题 {len(inscope)} 个，范围外问题 {len(oos)} 个")
    print("当前设置：", json.dumps({"dense_weight": gate.dense_weight, "low": gate.low, "high": gate.high}))
    print("推荐（交给模型判断的比例最小）：", json.dumps(best, ensure_ascii=False))
    return best


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--judge", action="store_true", help="also calibrate the LLM judge's threshold (loads the model)")
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    args = ap.parse_args()
    main()
    if args.judge:
        calibrate_judge(args.model)
