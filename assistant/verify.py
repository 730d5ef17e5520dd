"""Check a generated answer against its sources before it is shown.

1. ``[n]`` markers must point to a numbered source; others are removed.
2. Every 《…法》第N条 (or "…法第N条") must exist in the knowledge base; otherwise
   the article number is removed from the shown text and a warning is added.
3. Numbers with a unit (ages, amounts, deadlines, percentages) must appear in
   the cited sources (or the question); unsupported ones are marked 〔待核实〕.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from knowledge.retrieve.rewrite import to_cn_numeral

CITE = re.compile(r"\[(\d{1,2})\]")
_NUM = r"[0-9０-９]+(?:\.[0-9]+)?|[零〇一二两三四五六七八九十百千万]+"
LAW_ARTICLE = re.compile(
    rf"(《[^《》]{{2,40}}》|[\u4e00-\u9fff]{{2,24}}?(?:法典|法|条例))\s*(第\s*(?:{_NUM})\s*条)")
NUMBER_WITH_UNIT = re.compile(
    rf"({_NUM})\s*(周岁|岁|元|万元|块钱|日内|日|天|个工作日|工作日|小时|个月|月|年|%|％|倍|人|次|平方米)")

# Article lookup: (law name without 《》, "第十八条") -> True if it exists in the KB
ArticleLookup = Callable[[str, str], bool]


@dataclass
class Verification:
    text: str  # the answer as it may be shown
    warnings: list[str] = field(default_factory=list)
    removed_markers: list[str] = field(default_factory=list)
    invalid_articles: list[str] = field(default_factory=list)
    unsupported_numbers: list[str] = field(default_factory=list)
    used_sources: list[int] = field(default_factory=list)

    @property
    def severe(self) -> bool:
        """The answer should not be shown as generated (fall back to extractive)."""
        return len(self.invalid_articles) >= 2 or (not self.used_sources) or len(self.text.strip()) < 8


def normalise_article(label: str) -> str:
    """'第 18 条' / '第十八条' -> '第十八条' (how the law database numbers articles)."""
    inner = re.sub(r"\s+", "", label)[1:-1]
    if inner.isdigit():
        return f"第{to_cn_numeral(int(inner))}条"
    digits = inner.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    return f"第{to_cn_numeral(int(digits))}条" if digits.isdigit() else f"第{inner}条"


def verify_answer(text: str, sources: list[str], article_exists: ArticleLookup, question: str = "") -> Verification:
    v = Verification(text=text)
    n_sources = len(sources)

    # 1. citation markers
    def check_marker(m: re.Match) -> str:
        n = int(m.group(1))
        if 1 <= n <= n_sources:
            if n not in v.used_sources:
                v.used_sources.append(n)
            return m.group(0)
        v.removed_markers.append(m.group(0))
        return ""

    v.text = CITE.sub(check_marker, v.text)
    if v.removed_markers:
        v.warnings.append(f"已删除 {len(v.removed_markers)} 个指向不存在资料的引用标记：{'、'.join(v.removed_markers)}")

    # 2. law articles
    def check_article(m: re.Match) -> str:
        law = m.group(1).strip("《》")
        article = normalise_article(m.group(2))
        if article_exists(law.removeprefix("中华人民共和国"), article):
            return m.group(0)
        v.invalid_articles.append(f"{m.group(1)}{m.group(2)}")
        return f"{m.group(1)}相关规定"

    v.text = LAW_ARTICLE.sub(check_article, v.text)
    if v.invalid_articles:
        v.warnings.append("以下法条在知识库中查不到，已从回答中删除条号，请勿引用："
                          + "、".join(dict.fromkeys(v.invalid_articles)))

    # 3. numbers must come from the cited sources (or from the question itself)
    cited = [sources[n - 1] for n in v.used_sources] or sources
    evidence = _digits_normalised(" ".join(cited) + " " + question)

    def check_number(m: re.Match) -> str:
        if _number_forms(m.group(1)) & _number_tokens(evidence):
            return m.group(0)
        v.unsupported_numbers.append(m.group(0))
        return m.group(0) + "〔待核实〕"

    v.text = NUMBER_WITH_UNIT.sub(check_number, v.text)
    if v.unsupported_numbers:
        v.warnings.append("以下数字在引用的资料中找不到依据，请核实：" + "、".join(dict.fromkeys(v.unsupported_numbers)))
    v.text = re.sub(r"[ \t]+\n", "\n", v.text).strip()
    return v


def _digits_normalised(text: str) -> str:
    return text.translate(str.maketrans("０１２３４５６７８９", "0123456789"))


def _number_tokens(text: str) -> set[str]:
    return set(re.findall(_NUM, text))


def _number_forms(num: str) -> set[str]:
    """'15' -> {'15', '十五'}; '十五' -> {'十五', '15'} so either spelling in a source counts."""
    num = _digits_normalised(num)
    forms = {num}
    if num.isdigit():
        forms.add(to_cn_numeral(int(num)))
        if num.startswith("2"):  # 两 vs 二
            forms.add(to_cn_numeral(int(num)).replace("二", "两", 1))
    else:
        value = cn_to_int(num)
        if value is not None:
            forms.add(str(value))
    return forms


def cn_to_int(text: str) -> int | None:
    digits = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
    units = {"十": 10, "百": 100, "千": 1000, "万": 10000}
    total, section, current = 0, 0, 0
    for ch in text:
        if ch in digits:
            current = digits[ch]
        elif ch in units:
            unit = units[ch]
            if unit == 10000:
                total += (section + current) * unit
                section = current = 0
            else:
                section += (current or 1) * unit
                current = 0
        else:
            return None
    return total + section + current
