"""Calibrate the refusal gate: relevance scores of in-scope vs out-of-scope questions.

In-scope = every question of retrieval.jsonl and answers.jsonl; out-of-scope =
out_of_scope.jsonl. Prints, for each threshold, the refusal rate on each side,
and the threshold that keeps false refusals lowest while refusing >= 95% of
out-of-scope questions. No LLM is involved.

    python -m eval.calibrate
"""

from __future__ import annotations

import json

import numpy as np

from assistant.answer import RelevanceGate
from eval.common import DATA_DIR, load_jsonl
from knowledge.library import get_library
from knowledge.retrieve.hybrid import HybridRetriever


def gate_scores(questions: list[str], gate: RelevanceGate) -> list[float]:
    lib = get_library()
    if lib.needs_setup():
        lib.install_defaults()
    retriever = HybridRetriever(lib)
    out = []
    for q in questions:
        r = retriever.retrieve(q, k=8)
        out.append(gate.score(r.query.keyword_text, r.hits))
    return out


def main() -> dict:
    gate = RelevanceGate()
    inscope = [x["q"] for x in load_jsonl(DATA_DIR / "retrieval.jsonl") + load_jsonl(DATA_DIR / "answers.jsonl")]
    oos = [x["q"] for x in load_jsonl(DATA_DIR / "out_of_scope.jsonl")]
    s_in, s_out = np.array(gate_scores(inscope, gate)), np.array(gate_scores(oos, gate))
    rows = []
    for t in np.arange(0.30, 0.81, 0.02):
        rows.append({"threshold": round(float(t), 2), "false_refusal": round(float((s_in < t).mean()), 3),
                     "oos_refusal": round(float((s_out < t).mean()), 3)})
    ok = [r for r in rows if r["oos_refusal"] >= 0.95]
    best = min(ok, key=lambda r: (r["false_refusal"], r["threshold"])) if ok else None
    print(f"{'阈值':>6}{'误拒率(范围内)':>14}{'拒答率(范围外)':>14}")
    for r in rows:
        print(f"{r['threshold']:>6.2f}{r['false_refusal']:>14.3f}{r['oos_refusal']:>14.3f}")
    print("推荐阈值：", json.dumps(best, ensure_ascii=False), "当前：", gate.threshold)
    worst_in = sorted(zip(s_in, inscope))[:8]
    worst_out = sorted(zip(s_out, oos), reverse=True)[:8]
    print("范围内得分最低：", [(round(float(s), 2), q) for s, q in worst_in])
    print("范围外得分最高：", [(round(float(s), 2), q) for s, q in worst_out])
    return {"rows": rows, "best": best}


if __name__ == "__main__":
    main()
