"""Numbers with their kind of unit: what an answer states and what its cited sources can support."""

from __future__ import annotations

import re

from assistant.verify.patterns import NUM
from shegong.chinese import cn_to_int, halfwidth_digits

# A number is checked with its kind of unit: "80元" is not supported by "80周岁", nor "3个工作日" by a list's "3.".
UNIT_KINDS = {"周岁": "age", "岁": "age", "万元": "money", "元": "money", "块钱": "money", "个工作日": "workday",
              "工作日": "workday", "日内": "day", "日": "day", "天": "day", "号": "day", "小时": "hour", "个星期": "week",
              "星期": "week", "周": "week", "个月": "month", "月": "month", "年": "year", "%": "percent", "％": "percent",
              "倍": "times", "人": "people", "名": "people", "次": "count", "平方米": "area", "平米": "area"}
_DIGITS = r"[0-9０-９]+(?:,[0-9]{3})*(?:\.[0-9]+)?"  # 15000, 20,000, 1.5
_AMOUNT = rf"{_DIGITS}|[零〇一二两三四五六七八九十百千万]+"
_TO = r"\s*(?:至|到|-|—|~|～|或者|或)\s*"
# "3-5个工作日" checks both ends; "百分之五" is a percentage too; a bare run of 3+ digits is a hotline or a
# document number ("拨打12349"), also a fact to find in the sources
# Words that only look like a number with a unit: 房屋四周 (around), 三天两头 (often), 千万不要 (by all means)
_NOT_QUANTITY = r"(?!四周(?=的)|三天两头|千万(?=[不别要]))"
NUMBER_WITH_UNIT = re.compile(
    rf"百分之({_AMOUNT})|{_NOT_QUANTITY}((?:{_AMOUNT})(?:{_TO}(?:{_AMOUNT}))*)\s*({'|'.join(map(re.escape, UNIT_KINDS))})"
    r"|(?<![\d.,第])(?<!第\s)([0-9]{3,})(?![\d.,]|\s*[条款项章节编])")  # "第1067条" is an article, checked above
# List numbers, headings and article labels in a source are no evidence for an amount or a deadline
STRUCTURAL = re.compile(rf"第\s*(?:{NUM})\s*[条款项章节编]|(?<![\d.])\d{{1,2}}\s*[.、．](?!\d)|[（(]\s*\d{{1,2}}\s*[)）]")


def number_value(num: str) -> float | None:
    num = halfwidth_digits(num).replace(",", "")
    return float(num) if re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", num) else cn_to_int(num)


def match_quantities(m: re.Match) -> list[tuple[float | None, str]]:
    """A NUMBER_WITH_UNIT match as (value, kind of unit) pairs: "1.5万元" -> [(15000, "money")]."""
    if m.group(1):
        return [(number_value(m.group(1)), "percent")]
    if m.group(4):
        return [(number_value(m.group(4)), None)]
    scale = 10000 if m.group(3) == "万元" else 1
    return [(None if (x := number_value(n)) is None else x * scale, UNIT_KINDS[m.group(3)])
            for n in re.findall(_AMOUNT, m.group(2))]


def quantities(text: str) -> set[tuple[float | None, str | None]]:
    """What a text can support: its numbers with their kind of unit, and its bare digits (a table's "100")
    with the kind None; list numbers and article labels do not count."""
    text = STRUCTURAL.sub(" ", text)
    found = {q for m in NUMBER_WITH_UNIT.finditer(text) for q in match_quantities(m)}
    bare = NUMBER_WITH_UNIT.sub(" ", text)
    return found | {(number_value(n), None) for n in re.findall(_DIGITS, bare)}
