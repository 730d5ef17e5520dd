"""Visit-record eval: our own jottings and the held-out set, side by side.

For each set: fact recall (share of the expected fact groups found anywhere in the record, the
paragraph included), invented facts (numbers, dates, names, medical or money terms in the record that
the jotting does not have, plus the set writers' own "traps" found in the record: must be 0), risk-flag
recall and precision, risk-level accuracy, the stated fields (走访对象, 年龄, 类别, 时间, 方式), and the
time per note. The held-out set is for reporting only: never tune on its misses.

Usage: ``shegong eval visits [--model none|qwen2.5-coder-0.5b] [--out FILE]`` or ``python -m eval.visits``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

from assistant.visits.checker import check_text, date_values
from assistant.visits.lexicon import FLAGS
from assistant.visits.rules import BUNDLED, load_rules
from assistant.visits.writer import make_record
from eval.common import DATA_DIR, load_jsonl, percentile

# own: the first 40 jottings; own2: 30 more written later in other words (measured before any change for them);
# heldout: written independently, for reporting only
SETS = {"own": DATA_DIR / "visits" / "visits_dev.jsonl", "own2": DATA_DIR / "visits" / "visits_dev_more.jsonl",
        "heldout": DATA_DIR / "visits" / "visits_heldout.jsonl"}


def invented_in(record) -> list[str]:
    """What the record states that its jotting does not: the checker's detectors over every fact-bearing
    field and the paragraph (rule wording such as referral departments is not about the resident)."""
    extra = date_values(record.visit_time, *[f.when for f in record.follow_ups])
    if record.age is not None:
        extra |= {(float(record.age), "age"), (float(record.age), None)}
    derived = " ".join([record.visit_time, *(f.when for f in record.follow_ups), *record.flags, *record.categories])
    check = check_text(record.facts_text(), record.jotting, extra, {record.subject, *record.others} - {""}, derived,
                       plans=bool(record.follow_ups))
    return check.removed_text


def traps_in(record, traps: list[str]) -> list[str]:
    """The set writer's traps (things a careless writer invents) that appear in the record but not the jotting."""
    text = record.facts_text()
    return [t for t in traps if t and t in text and t not in record.jotting]


def evaluate(items: list[dict], llm, rules) -> dict:
    facts_total = facts_found = 0
    tp = fp = fn = 0
    risk_ok = 0
    fields = {k: [0, 0] for k in ("走访对象", "年龄", "对象类别", "走访时间", "走访方式")}
    missing_total = missing_found = 0
    invented, removed_by_checker, times, misses = [], 0, [], []
    for i, item in enumerate(items, 1):
        t = time.perf_counter()
        record = make_record(item["jotting"], dt.date.fromisoformat(item["visit_date"]), llm, rules)
        times.append(time.perf_counter() - t)
        blob = json.dumps(record.to_json(), ensure_ascii=False)
        lost = [group for group in item["facts"] if not any(alt in blob for alt in group)]
        facts_total += len(item["facts"])
        facts_found += len(item["facts"]) - len(lost)
        got, want = set(record.flags), set(item["flags"])
        tp, fp, fn = tp + len(got & want), fp + len(got - want), fn + len(want - got)
        risk_ok += record.risk == item["risk"]
        expect = item.get("expect", {})
        wrong = {}
        for key, (ok, n) in fields.items():
            if key not in expect:
                continue
            value = {"走访对象": record.subject, "年龄": record.age, "对象类别": sorted(record.categories),
                     "走访时间": record.visit_time, "走访方式": record.method}[key]
            want_value = sorted(expect[key]) if key == "对象类别" else expect[key]
            fields[key] = [ok + (value == want_value), n + 1]
            if value != want_value:
                wrong[key] = [value, want_value]
        said_missing = set(record.missing())
        for name in item.get("missing", []):
            if name in ("走访对象", "年龄", "联系电话", "对象类别", "走访时间", "走访方式", "后续跟进"):
                missing_total += 1
                missing_found += name in said_missing
        bad = invented_in(record) + [f"陷阱词“{t}”" for t in traps_in(record, item.get("traps", []))]
        invented += [f"{item['id']}: {b}" for b in bad]
        removed_by_checker += len(record.removed)
        if llm is not None:  # a model run takes a while: say where it is, and how each note went
            print(f"  {item['id']} ({i}/{len(items)}) {times[-1]:.1f}s facts {len(item['facts']) - len(lost)}/"
                  f"{len(item['facts'])} invented {len(bad)} removed {len(record.removed)}", file=sys.stderr, flush=True)
        if lost or bad or wrong or got != want or record.risk != item["risk"]:
            misses.append({"id": item["id"], "lost_facts": lost, "invented": bad, "wrong_fields": wrong,
                           "flags_extra": sorted(got - want), "flags_missed": sorted(want - got),
                           "risk": [record.risk, item["risk"]]})
    n = len(items)
    return {
        "notes": n,
        "fact_recall": round(facts_found / max(facts_total, 1), 3),
        "invented_facts": len(invented),
        "invented": invented,
        "removed_by_checker": removed_by_checker,
        "flag_recall": round(tp / max(tp + fn, 1), 3),
        "flag_precision": round(tp / max(tp + fp, 1), 3),
        "risk_accuracy": round(risk_ok / max(n, 1), 3),
        "fields": {k: round(ok / n_, 3) if n_ else None for k, (ok, n_) in fields.items()},
        "missing_recall": round(missing_found / max(missing_total, 1), 3),
        "s_per_note_p50": round(percentile(times, 50), 2),
        "s_per_note_p95": round(percentile(times, 95), 2),
        "misses": misses,
    }


ROWS = [("事实召回率", "fact_recall", "{:.1%}"), ("无依据事实数（须为 0）", "invented_facts", "{}"),
        ("核验删除的句子数", "removed_by_checker", "{}"), ("风险标记召回率", "flag_recall", "{:.1%}"),
        ("风险标记准确率", "flag_precision", "{:.1%}"), ("风险等级准确率", "risk_accuracy", "{:.1%}"),
        ("“待补充”命中率", "missing_recall", "{:.1%}"), ("每条耗时 p50（秒）", "s_per_note_p50", "{}"),
        ("每条耗时 p95（秒）", "s_per_note_p95", "{}")]


def report(results: dict[str, dict]) -> str:
    names = list(results)
    header = f"{'指标':<22}" + "".join(f"{n:>14}" for n in names)
    lines = [header]
    for label, key, fmt in ROWS:
        lines.append(f"{label:<22}" + "".join(f"{fmt.format(results[n][key]):>14}" for n in names))
    for field in ("走访对象", "年龄", "对象类别", "走访时间", "走访方式"):
        lines.append(f"{'字段正确率：' + field:<22}" + "".join(
            f"{('-' if results[n]['fields'][field] is None else format(results[n]['fields'][field], '.1%')):>14}"
            for n in names))
    lines.append(f"{'条数':<22}" + "".join(f"{results[n]['notes']:>14}" for n in names))
    return "\n".join(lines)


def run(llm=None, sets: dict[str, Path] | None = None, rules_path: Path | None = None, done=None) -> dict:
    """``done(results so far)`` is called after each set (a model run is long: what is done is kept)."""
    rules = load_rules(rules_path or BUNDLED)  # the published rules, whatever a supervisor changed locally
    results = {}
    for name, path in (sets or SETS).items():
        results[name] = evaluate(load_jsonl(path), llm, rules)
        if done:
            done(results)
    return results


def main(model: str = "qwen2.5-coder-1.5b", out: Path | None = None, sets: list[str] | None = None) -> dict:
    """Run the sets with the bundled model named (or "none": the paragraph composed from the fields)."""
    llm = None
    if model != "none":
        from assistant.llm import make_llm
        from shegong.config import get_settings

        llm = make_llm(get_settings().model_copy(update={"llm_backend": "llama_cpp", "llm_default_model": model}))
    print(f"模型：{getattr(llm, 'name', '无（段落由字段拼成）')}", file=sys.stderr)
    chosen = {name: SETS[name] for name in (sets or SETS)}  # in the order asked for

    def save(results: dict) -> None:
        if out:
            Path(out).write_text(json.dumps({"model": getattr(llm, "name", None), "results": results},
                                            ensure_ascii=False, indent=1), encoding="utf-8")

    results = run(llm, chosen, done=save)
    print(report(results))
    for name, r in results.items():
        if r["invented"]:
            print(f"\n{name} 无依据事实：\n  " + "\n  ".join(r["invented"]))
    return results


def _cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="走访记录评测")
    parser.add_argument("--model", default="qwen2.5-coder-1.5b", help="qwen2.5-coder-1.5b、qwen2.5-coder-0.5b 或 none")
    parser.add_argument("--no-llm", action="store_true", help="同 --model none：不用大模型，走访记录段落由字段拼成")
    parser.add_argument("--set", action="append", choices=list(SETS), help="只跑这些评测集（可多次）")
    parser.add_argument("--out", type=Path, help="把逐条结果写入这个 JSON 文件")
    args = parser.parse_args(argv)
    main("none" if args.no_llm else args.model, args.out, args.set)
    return 0


if __name__ == "__main__":
    raise SystemExit(_cli())
