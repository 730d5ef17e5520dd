#!/usr/bin/env python3
"""Consistency check for the dispatch hold-out set (stdlib only).

Usage: python3 check.py [dir]   (default: the directory of this file)
"""
import csv, json, os, sys

HEADER = ["编号", "事项", "主责部门", "配合部门", "社区职责", "依据", "说明"]
DUTIES = {"牵头", "协助", "告知转办"}


def main(d):
    errs = []
    csv_path = os.path.join(d, "list_district2.csv")
    jl_path = os.path.join(d, "tickets_holdout.jsonl")

    with open(csv_path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    if not rows or rows[0] != HEADER:
        errs.append("CSV header is %r, expected %r" % (rows[0] if rows else None, HEADER))
    items = {}
    for n, r in enumerate(rows[1:], start=2):
        if len(r) != len(HEADER):
            errs.append("CSV line %d: %d fields, expected %d" % (n, len(r), len(HEADER)))
            continue
        rec = dict(zip(HEADER, r))
        code = rec["编号"].strip()
        if not code:
            errs.append("CSV line %d: empty 编号" % n)
        if code in items:
            errs.append("CSV line %d: duplicate 编号 %s" % (n, code))
        if rec["社区职责"] not in DUTIES:
            errs.append("CSV line %d: 社区职责 %r not in %s" % (n, rec["社区职责"], sorted(DUTIES)))
        for k in ("事项", "主责部门", "依据", "说明"):
            if not rec[k].strip():
                errs.append("CSV line %d: empty %s" % (n, k))
        items[code] = rec

    ids = set()
    n_tickets = n_none = n_two = 0
    with open(jl_path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                t = json.loads(line)
            except ValueError as e:
                errs.append("JSONL line %d: bad JSON (%s)" % (n, e))
                continue
            n_tickets += 1
            tid = t.get("id")
            if not isinstance(tid, str) or not tid:
                errs.append("JSONL line %d: missing id" % n)
            elif tid in ids:
                errs.append("JSONL line %d: duplicate id %s" % (n, tid))
            ids.add(tid)
            if not isinstance(t.get("ticket"), str) or not t["ticket"].strip():
                errs.append("%s: empty ticket text" % tid)
            exp = t.get("expected")
            if not isinstance(exp, list):
                errs.append("%s: expected is not a list" % tid)
                continue
            if len(set(exp)) != len(exp):
                errs.append("%s: repeated id in expected" % tid)
            for e in exp:
                if e not in items:
                    errs.append("%s: expected id %r not in the list" % (tid, e))
            duty = t.get("duty", "<missing>")
            if not exp:
                n_none += 1
                if duty is not None:
                    errs.append("%s: expected is [] but duty is %r (should be null)" % (tid, duty))
            else:
                if len(exp) == 2:
                    n_two += 1
                want = items[exp[0]]["社区职责"] if exp[0] in items else None
                if duty != want:
                    errs.append("%s: duty %r != 社区职责 of %s (%r)" % (tid, duty, exp[0], want))

    print("items: %d, tickets: %d (expected []: %d, two ids: %d)"
          % (len(items), n_tickets, n_none, n_two))
    if errs:
        for e in errs:
            print("ERROR:", e)
        print("FAIL (%d errors)" % len(errs))
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))))
