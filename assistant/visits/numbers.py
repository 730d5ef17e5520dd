"""Numbers in a jotting or a generated text, written in digits or in Chinese, with their values.

Grid workers write 82岁, 八十二, 六百八 (680), 一千五 (1500), 两三天 (2 or 3), 三百多 (300+). cn2an reads
the colloquial forms correctly (六百八 -> 680); a run of two single digits is a range, not a number
(两三天 is "two or three days", never 23). Values are what the no-invented-facts check compares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import cn2an

_CN = "零〇一二两三四五六七八九十百千万亿俩"
_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
             "八": 8, "九": 9}
# digits with spaces inside (a phone written 139 0000 4521), decimals, fractions written 170/100
NUMBER = re.compile(rf"[0-9０-９]+(?:\.[0-9]+)?|[{_CN}]+")
# Words made of numeral characters that are not quantities: 一个人住, 一直, 万一, 十分…
_NOT_QUANTITY = re.compile(
    r"一(?:个人|直|起|下|些|点|样|般|定|旦|同|并|边|向|共|切|律|概|贯|再|时|会儿|口气|阵|辈子|家|生|路|块儿|方面)"
    r"|万一|十分|千万(?=[不别要])|三天两头|一五一十|七上八下|乱七八糟|不三不四|五花八门|千方百计|百分之")
_AFTER_ONE = re.compile(r"[岁元块次支片盒瓶针天周年月层号楼栋户万千百十斤]|个(?:月|星期|礼拜)")


# What a number counts: "80元" is not supported by "80岁", nor "三天" by "3栋".
UNITS = [("周岁", "age"), ("岁", "age"), ("万元", "money"), ("元", "money"), ("块钱", "money"), ("块", "money"),
         ("个工作日", "day"), ("天", "day"), ("日", "day"), ("号", "date"), ("个小时", "hour"), ("小时", "hour"),
         ("个星期", "week"), ("个礼拜", "week"), ("星期", "week"), ("礼拜", "week"), ("周", "week"), ("个月", "months"),
         ("月", "month"), ("年", "year"), ("次", "count"), ("针", "stitch"), ("支", "dose"), ("片", "dose"),
         ("盒", "dose"), ("瓶", "dose"), ("粒", "dose"), ("层", "floor"), ("楼", "building"), ("栋", "building"),
         ("单元", "building"), ("室", "room"), ("斤", "weight"), ("公斤", "weight"), ("%", "percent"), ("个人", "people"),
         ("口", "people"), ("人", "people"), ("个", "count")]
_UNIT = re.compile(r"\s*(" + "|".join(re.escape(u) for u, _ in UNITS) + ")")
_KIND = dict(UNITS)


@dataclass(frozen=True)
class Number:
    text: str
    start: int
    end: int
    values: tuple[float, ...]  # one value, or both ends of a range (两三天 -> 2, 3)
    unit: str | None = None  # the kind of thing counted, when a unit follows ("age", "money", …)


def _cn_value(run: str) -> tuple[float, ...]:
    run = run.replace("俩", "两")
    if len(run) == 2 and all(c in _CN_DIGIT for c in run) and _CN_DIGIT[run[0]] < _CN_DIGIT[run[1]]:
        return (_CN_DIGIT[run[0]], _CN_DIGIT[run[1]])  # 两三, 七八: a range
    try:
        return (float(cn2an.cn2an(run, "smart")),)
    except (ValueError, KeyError, IndexError):
        return ()


def numbers(text: str) -> list[Number]:
    """Every quantity in ``text`` (digits, or Chinese numerals that count something)."""
    skip = [range(m.start(), m.end()) for m in _NOT_QUANTITY.finditer(text)]
    out = []
    for m in NUMBER.finditer(text):
        run = m.group(0)
        if any(m.start() in r for r in skip):
            continue
        if run[0].isdigit() or run[0] in "０１２３４５６７８９":
            digits = run.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
            out.append(Number(run, m.start(), m.end(), (float(digits),), _unit(text, m.end())))
            continue
        if run in ("万", "亿", "十", "百", "千"):
            continue
        if run == "一" and not _AFTER_ONE.match(text, m.end()):
            continue  # 一 alone is mostly "a"/"one" in prose, not a stated quantity
        values = _cn_value(run)
        if values:
            out.append(Number(run, m.start(), m.end(), values, _unit(text, m.end())))
    return out


def _unit(text: str, end: int) -> str | None:
    m = _UNIT.match(text, end)
    return _KIND[m.group(1)] if m else None


def quantities_in(text: str) -> set[tuple[float, str | None]]:
    """(value, kind of unit) for every number of a text; a number without a unit has the kind None."""
    found: set[tuple[float, str | None]] = set()
    for n in numbers(text):
        found.update((v, n.unit) for v in n.values)
    return found


def values_in(text: str) -> set[float]:
    """All values a text states; a phone number or an ID's digits count as a whole and by its runs."""
    found: set[float] = set()
    for n in numbers(text):
        found.update(n.values)
    squeezed = re.sub(r"(?<=\d)[\s-](?=\d)", "", text)  # 139 0000 4521 is also 13900004521
    found.update(float(d) for d in re.findall(r"\d+", squeezed))
    return found


def to_int(text: str) -> int | None:
    """'八十二' / '82' / '八十二岁' -> 82; None when there is no single number."""
    found = numbers(text)
    if len(found) != 1 or len(found[0].values) != 1:
        return None
    return int(found[0].values[0])
