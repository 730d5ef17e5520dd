#!/usr/bin/env python3
"""Checker for visits_heldout.jsonl (python3 stdlib only).

Usage: python3 check.py [path/to/visits_heldout.jsonl]
Exit status 0 when every check passes, 1 otherwise.
"""
import datetime
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "visits_heldout.jsonl")

FLAGS = ["独居", "高龄", "药品将尽", "走失风险", "近期走失", "跌倒受伤", "身体不适未就医", "经济困难",
         "居住安全隐患", "精神心理异常", "自伤自杀风险", "家庭暴力", "监护缺失", "联系不上", "矛盾纠纷", "无人照料"]
CATEGORIES = ["独居老人", "孤寡老人", "高龄老人", "易走失人员", "残疾人", "低保对象", "困难家庭", "留守儿童",
              "困境儿童", "精神障碍患者", "其他"]
EXPECT_KEYS = {"走访对象", "年龄", "对象类别", "走访时间", "走访方式"}
METHODS = {"入户走访", "电话走访"}
PERIODS = {"上午", "中午", "下午", "晚上", "傍晚", "早上"}
TOP_KEYS = {"id", "visit_date", "jotting", "facts", "expect", "flags", "risk", "missing", "traps"}
REQUIRED = ["id", "visit_date", "jotting", "facts", "expect", "flags", "risk"]


# ---------------------------------------------------------------- risk rules
def risk_of(flags):
    f = set(flags)
    if f & {"自伤自杀风险", "家庭暴力", "近期走失", "监护缺失"}:
        return "高"
    for combo in ({"独居", "高龄", "药品将尽"}, {"独居", "联系不上"},
                  {"精神心理异常", "药品将尽"}, {"跌倒受伤", "独居"}):
        if combo <= f:
            return "高"
    if len(f) >= 2:
        return "中"
    if f & {"走失风险", "精神心理异常", "居住安全隐患", "经济困难", "身体不适未就医", "跌倒受伤", "联系不上"}:
        return "中"
    return "低"


# ------------------------------------------------------ Chinese numerals
DIG = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5,
       "六": 6, "七": 7, "八": 8, "九": 9}
UNIT = {"十": 10, "百": 100, "千": 1000}
CN_RUN = re.compile("[零〇一二两俩三四五六七八九十百千万]+")


def cn2int(s):
    """Parse a run of Chinese numerals; colloquial tails count: 四千五=4500, 八百六=860, 二百四=240."""
    if not s or all(ch in "万" for ch in s):
        return None
    total = section = num = 0
    last_unit = 1
    zero = False
    for ch in s:
        if ch in DIG:
            num = DIG[ch]
            if num == 0:
                zero = True
        elif ch in UNIT:
            u = UNIT[ch]
            if num == 0 and not zero:
                num = 1  # 十二 -> 12
            section += num * u
            num = 0
            last_unit = u
            zero = False
        elif ch == "万":
            section += num
            total += section * 10000
            section = num = 0
            last_unit = 10000
            zero = False
    if num:
        if last_unit >= 100 and not zero:
            num *= last_unit // 10
        section += num
    return total + section


def normalise(text):
    return CN_RUN.sub(lambda m: str(cn2int(m.group()) if cn2int(m.group()) is not None else m.group()), text)


def cn_numbers(text):
    return {cn2int(m.group()) for m in CN_RUN.finditer(text)} - {None}


def in_jotting(s, jot, norm):
    if s in jot or s in norm:
        return True
    if s.isdigit() and int(s) in cn_numbers(jot):
        return True
    return False


# ------------------------------------------------------- relative dates
WD = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}


def resolve(phrase, vd):
    """Resolve a date phrase against the visit_date (a datetime.date)."""
    if phrase.startswith(("今天", "今早", "今晚")) or phrase in PERIODS:
        return vd
    if phrase.startswith(("昨天", "昨晚")):
        return vd - datetime.timedelta(days=1)
    if phrase.startswith("前天"):
        return vd - datetime.timedelta(days=2)
    m = re.fullmatch(r"(\d{1,2})号", phrase)
    if m:
        return vd.replace(day=int(m.group(1)))
    m = re.fullmatch(r"(上周|上礼拜|上星期)([一二三四五六日天])", phrase)
    if m:
        monday = vd - datetime.timedelta(days=vd.weekday())
        return monday - datetime.timedelta(days=7) + datetime.timedelta(days=WD[m.group(2)])
    m = re.fullmatch(r"(周|礼拜|星期)([一二三四五六日天])", phrase)
    if m:
        monday = vd - datetime.timedelta(days=vd.weekday())
        return monday + datetime.timedelta(days=WD[m.group(2)])
    raise ValueError("cannot resolve " + phrase)


# For every record whose expect has 走访时间: the phrase in the jotting that dates the visit.
VISIT_DATE_ANCHOR = {
    "hx01": "上午", "hx02": "昨天下午", "hx03": "今天", "hx04": "下午", "hx05": "3号",
    "hx06": "今天上午", "hx07": "上周三", "hx12": "16号", "hx14": "上周五", "hx16": "前天晚上",
    "hx17": "今天", "hx18": "今天上午", "hx20": "上周六", "hx21": "上周四", "hx27": "昨天上午",
    "hx29": "昨天", "hx34": "今天",
}

# Coverage the brief asks for: feature -> (minimum, ids, evidence regex that each jotting must match)
COVERAGE = {
    "relative date": (5, ["hx02", "hx03", "hx05", "hx06", "hx07", "hx12", "hx14", "hx16", "hx19",
                          "hx20", "hx21", "hx27", "hx28", "hx29", "hx34"],
                      r"昨天|昨晚|前天|上周|上礼拜|上个礼拜|\d{1,2}号|本月初"),
    "Chinese-numeral age or amount": (4, ["hx02", "hx07", "hx08", "hx15", "hx17", "hx19", "hx20", "hx22",
                                          "hx27", "hx31", "hx34", "hx36"],
                                      r"[一二两三四五六七八九十][十百千][一二三四五六七八九]?"),
    "two or more people": (3, ["hx06", "hx14", "hx15", "hx18", "hx19", "hx21", "hx31"], None),
    "nearly empty": (3, ["hx10", "hx12", "hx29", "hx35"], None),
    "correction inside": (3, ["hx04", "hx18", "hx21", "hx22"], r"不对"),
    "phone or ID number": (4, ["hx03", "hx04", "hx06", "hx15", "hx17", "hx22", "hx25", "hx26", "hx27",
                               "hx28", "hx32"],
                           r"\d{3}[ -]?\d{4}[ -]?\d{4}|\d{17}[\dX]|尾号\d{4}"),
    "money amount": (4, ["hx05", "hx07", "hx08", "hx15", "hx19", "hx22", "hx23", "hx25", "hx27", "hx32",
                         "hx36"],
                     r"\d{3,}|[一二两三四五六七八九][百千]|块|元|月薪|补贴"),
}

POPULATIONS = {  # population in the spec -> ids that cover it
    "独居老人": ["hx01", "hx11", "hx16", "hx17", "hx27", "hx34"],
    "孤寡老人": ["hx02", "hx20"],
    "高龄老人": ["hx13", "hx24", "hx31"],
    "易走失人员(认知障碍)": ["hx03", "hx28"],
    "残疾人": ["hx04", "hx21", "hx36"],
    "低保对象/困难家庭": ["hx05", "hx15", "hx22", "hx32"],
    "留守儿童/困境儿童": ["hx06", "hx19", "hx33"],
    "精神障碍患者家庭": ["hx07", "hx23", "hx30"],
    "刑满释放/社区矫正": ["hx08", "hx25"],
    "孕产妇": ["hx09", "hx26"],
    "其他": ["hx14", "hx18"],
}

PHONE_RE = re.compile(r"(?<![\dA-Za-z])(?:\d[ -]?){9,17}[\dX](?![\d])")


def main():
    errors = []
    recs = {}
    with open(PATH, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for ln, line in enumerate(lines, 1):
        where = "line %d" % ln
        try:
            o = json.loads(line)
        except Exception as e:  # noqa
            errors.append("%s: does not parse: %s" % (where, e))
            continue
        if not isinstance(o, dict):
            errors.append("%s: not an object" % where)
            continue
        for k in REQUIRED:
            if k not in o:
                errors.append("%s: missing key %s" % (where, k))
        extra = set(o) - TOP_KEYS
        if extra:
            errors.append("%s: unknown keys %s" % (where, sorted(extra)))
        rid = o.get("id")
        where = "line %d (%s)" % (ln, rid)
        if not isinstance(rid, str) or not re.fullmatch(r"hx\d{2,}", rid):
            errors.append("%s: bad id" % where)
        if rid in recs:
            errors.append("%s: duplicate id" % where)
        recs[rid] = o

        # visit_date
        try:
            vd = datetime.date.fromisoformat(o.get("visit_date", ""))
        except Exception:
            errors.append("%s: visit_date is not YYYY-MM-DD" % where)
            vd = None

        jot = o.get("jotting", "")
        if not isinstance(jot, str) or not jot.strip():
            errors.append("%s: empty jotting" % where)
            jot = ""
        norm = normalise(jot)

        # facts
        facts = o.get("facts", [])
        if not isinstance(facts, list):
            errors.append("%s: facts not a list" % where)
            facts = []
        for g in facts:
            if not isinstance(g, list) or not g or not all(isinstance(s, str) and s for s in g):
                errors.append("%s: bad facts group %r" % (where, g))
                continue
            for s in g:
                if not in_jotting(s, jot, norm):
                    errors.append("%s: fact %r not in jotting" % (where, s))

        # flags and risk
        flags = o.get("flags", [])
        if not isinstance(flags, list):
            errors.append("%s: flags not a list" % where)
            flags = []
        for fl in flags:
            if fl not in FLAGS:
                errors.append("%s: flag %r not in vocabulary" % (where, fl))
        if len(set(flags)) != len(flags):
            errors.append("%s: duplicate flags" % where)
        risk = o.get("risk")
        if risk not in ("低", "中", "高"):
            errors.append("%s: risk %r not in 低/中/高" % (where, risk))
        elif risk != risk_of(flags):
            errors.append("%s: risk %s but rules give %s for %s" % (where, risk, risk_of(flags), flags))

        # expect
        exp = o.get("expect", {})
        if not isinstance(exp, dict):
            errors.append("%s: expect not an object" % where)
            exp = {}
        bad = set(exp) - EXPECT_KEYS
        if bad:
            errors.append("%s: unknown expect keys %s" % (where, sorted(bad)))
        if "走访对象" in exp and exp["走访对象"] not in jot:
            errors.append("%s: 走访对象 %r not in jotting" % (where, exp["走访对象"]))
        if "年龄" in exp:
            a = exp["年龄"]
            if not isinstance(a, int) or isinstance(a, bool) or not (0 <= a <= 120):
                errors.append("%s: 年龄 must be an int" % where)
            elif not re.search(r"(?<!\d)%d(?!\d)" % a, norm):
                errors.append("%s: 年龄 %d not stated in jotting" % (where, a))
        if "对象类别" in exp:
            c = exp["对象类别"]
            if not isinstance(c, list) or not c or any(x not in CATEGORIES for x in c):
                errors.append("%s: bad 对象类别 %r" % (where, c))
        if "走访方式" in exp and exp["走访方式"] not in METHODS:
            errors.append("%s: 走访方式 %r unexpected" % (where, exp["走访方式"]))
        if "走访时间" in exp:
            t = exp["走访时间"]
            m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})(?: (\S+))?", t) if isinstance(t, str) else None
            if not m:
                errors.append("%s: 走访时间 %r not 'YYYY-MM-DD[ 时段]'" % (where, t))
            else:
                try:
                    d = datetime.date.fromisoformat(m.group(1))
                except Exception:
                    d = None
                    errors.append("%s: 走访时间 date invalid" % where)
                if m.group(2) and m.group(2) not in PERIODS:
                    errors.append("%s: 走访时间 period %r unexpected" % (where, m.group(2)))
                if m.group(2) and m.group(2) not in jot:
                    errors.append("%s: 走访时间 period %r not in jotting" % (where, m.group(2)))
                anchor = VISIT_DATE_ANCHOR.get(rid)
                if anchor is None:
                    errors.append("%s: 走访时间 has no anchor phrase in VISIT_DATE_ANCHOR" % where)
                elif anchor not in jot:
                    errors.append("%s: anchor %r not in jotting" % (where, anchor))
                elif d and vd:
                    r = resolve(anchor, vd)
                    if r != d:
                        errors.append("%s: 走访时间 %s but %r from %s gives %s" % (where, d, anchor, vd, r))
                if d and vd and d > vd:
                    errors.append("%s: 走访时间 after visit_date" % where)
        elif rid in VISIT_DATE_ANCHOR:
            errors.append("%s: anchor listed but no 走访时间" % where)

        for k in ("missing", "traps"):
            if k in o and (not isinstance(o[k], list) or not all(isinstance(s, str) and s for s in o[k])):
                errors.append("%s: %s must be a list of strings" % (where, k))

        # fictitious numbers: phones must be 0000/555 style, 18-char IDs must use the non-existent area 99xxxx
        for mm in PHONE_RE.finditer(jot):
            raw = mm.group()
            digits = re.sub(r"[ -]", "", raw)
            if len(digits) == 18:
                if not digits.startswith("99"):
                    errors.append("%s: ID number %s not in fictitious 99xxxx area" % (where, raw))
            elif "0000" not in raw and "555" not in raw:
                errors.append("%s: phone %s does not look fictitious" % (where, raw))

    # set-level checks
    ids = list(recs)
    if len(ids) < 30:
        errors.append("only %d records (need >= 30)" % len(ids))
    for feat, (n, fids, rx) in COVERAGE.items():
        for i in fids:
            if i not in recs:
                errors.append("coverage %s: id %s missing" % (feat, i))
            elif rx and not re.search(rx, recs[i]["jotting"]):
                errors.append("coverage %s: %s jotting lacks evidence /%s/" % (feat, i, rx))
        if len(set(fids)) < n:
            errors.append("coverage %s: %d < %d" % (feat, len(set(fids)), n))
    for pop, pids in POPULATIONS.items():
        if not pids or any(i not in recs for i in pids):
            errors.append("population %s not covered" % pop)
    for i in COVERAGE["nearly empty"][1]:
        if i in recs and len(recs[i]["jotting"]) > 40:
            errors.append("nearly empty %s is longer than 40 characters" % i)
    for i in COVERAGE["two or more people"][1]:
        if i in recs and len(recs[i]["facts"]) < 2:
            errors.append("two people %s has too few facts" % i)

    # summary
    risks = {}
    for o in recs.values():
        risks[o.get("risk")] = risks.get(o.get("risk"), 0) + 1
    flag_counts = {}
    for o in recs.values():
        for fl in o.get("flags", []):
            flag_counts[fl] = flag_counts.get(fl, 0) + 1
    print("records: %d" % len(recs))
    print("risk: " + ", ".join("%s=%d" % (k, risks.get(k, 0)) for k in ("低", "中", "高")))
    print("flags: " + ", ".join("%s=%d" % (k, flag_counts.get(k, 0)) for k in FLAGS))
    for feat, (n, fids, _) in COVERAGE.items():
        print("coverage %-30s %2d (min %d)" % (feat, len(fids), n))
    if errors:
        print("FAIL: %d problem(s)" % len(errors))
        for e in errors:
            print("  " + e)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
