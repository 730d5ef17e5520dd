"""Calibrate the refusal gate on in-scope vs out-of-scope questions (no LLM involved).

In-scope = every question of retrieval.jsonl and answers.jsonl; out-of-scope =
out_of_scope.jsonl. For each blend weight of dense cosine vs IDF-weighted word
coverage: ``low`` = highest score under which at most 2% of in-scope questions
fall (refused at once), ``high`` = lowest score above which at most 2% of
out-of-scope questions fall (answered at once). Questions in between are
judged by the LLM (yes/no); the best weight leaves the fewest to judge.

    python -m eval.calibrate
"""

from __future__ import annotations

import json

import numpy as np

from assistant.answer import RelevanceGate
from eval.common import DATA_DIR, load_jsonl
from knowledge.library import get_library
from knowledge.retrieve.hybrid import HybridRetriever


def features(questions: list[str], gate: RelevanceGate) -> list[list[tuple[float, float]]]:
    lib = get_library()
    if lib.needs_setup():
        lib.install_defaults()
    retriever = HybridRetriever(lib)
    out = []
    for q in questions:
        r = retriever.retrieve(q, k=8)
        out.append(gate.features(r.query.text, r.hits, retriever.idf))
    return out


def scores(feats, gate: RelevanceGate) -> np.ndarray:
    return np.array([max((gate.combine(c, d) for c, d in f), default=0.0) for f in feats])


def main(max_false_refusal: float = 0.02, max_oos_accept: float = 0.02) -> dict:
    """Pick ``low`` (refuse below: almost no in-scope question there) and ``high`` (answer above:
    almost no out-of-scope question there); the band between goes to the LLM judge. Minimise that band."""
    gate = RelevanceGate()
    inscope = [x["q"] for x in load_jsonl(DATA_DIR / "retrieval.jsonl") + load_jsonl(DATA_DIR / "answers.jsonl")]
    oos = [x["q"] for x in load_jsonl(DATA_DIR / "out_of_scope.jsonl")]
    f_in, f_out = features(inscope, gate), features(oos, gate)
    grid = np.arange(0.0, 1.001, 0.01)
    best = None
    for w in np.arange(0.0, 1.01, 0.1):
        g = RelevanceGate(dense_weight=float(w))
        s_in, s_out = scores(f_in, g), scores(f_out, g)
        low = max((t for t in grid if (s_in < t).mean() <= max_false_refusal), default=0.0)
        high = min((t for t in grid if (s_out >= t).mean() <= max_oos_accept), default=1.0)
        high = max(high, low)
        band = float(((np.concatenate([s_in, s_out]) >= low) & (np.concatenate([s_in, s_out]) < high)).mean())
        row = {"dense_weight": round(float(w), 1), "low": round(float(low), 2), "high": round(float(high), 2),
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
    main()
