"""No invented facts: every number, date, name and medical or money term in a generated text must be in the input.

A small model writing a paragraph from the record may add "每月800元", "王警官", "抑郁症" or "3月5日".
The checker cuts the text into clauses and removes each clause that states such a thing, and says
what it removed and why. Derived values are allowed: the resolved visit date (上周三 -> 2026-03-04) and
the age the record holds both come from the jotting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.visits import lexicon as lx
from assistant.visits.names import find_names
from assistant.visits.numbers import numbers, quantities_in, values_in

CLAUSE = re.compile(r"[^，,。；;！!？?\n]+[，,。；;！!？?\n]*")


@dataclass
class Unsupported:
    clause: str
    reasons: list[str]

    def describe(self) -> str:
        return f"“{self.clause.strip('，,。；;！!？? ')}”（{'；'.join(self.reasons)}）"


@dataclass
class CheckResult:
    text: str
    removed: list[Unsupported] = field(default_factory=list)

    @property
    def removed_text(self) -> list[str]:
        return [r.describe() for r in self.removed]


def _squeeze(text: str) -> str:
    return re.sub(r"(?<=\d)[\s-](?=\d)", "", text)


def unsupported_in(clause: str, source: str, allowed: set[tuple[float, str | None]],
                   allowed_names: set[str] = frozenset(), derived: str = "", plans: bool = True) -> list[str]:
    """Why a clause cannot stay (empty: it may). ``allowed``: (value, kind of unit) pairs the source supports;
    kind None supports any unit (a bare "81" in a jotting, a derived date's parts). ``derived``: text the
    record derived from the jotting (the resolved visit time "2026-03-04 下午"). ``plans``: whether the
    jotting states a follow-up at all (if not, "社工计划下周再访" is invented)."""
    reasons = []
    source_digits = _squeeze(source)
    bare = {v for v, kind in allowed if kind is None}
    for n in numbers(clause):
        if not all(v in bare or (v, n.unit) in allowed or (n.unit is None and any(v == a for a, _ in allowed))
                   for v in n.values):
            reasons.append(f"数字“{n.text}”在原始记录中没有")
    for run in re.findall(r"\d[\d\s-]{5,}\d", clause):  # a phone or ID number must be the one written down
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", run):
            continue  # a date: its parts were checked as numbers
        if _squeeze(run) not in source_digits:
            reasons.append(f"号码“{run}”在原始记录中没有")
    for name in find_names(clause):
        if name.kind == "household":
            continue
        if name.text not in source and name.text not in allowed_names:
            reasons.append(f"人名“{name.text}”在原始记录中没有")
    for m in lx.TIME_WORDS.finditer(clause):
        if m.group(0) not in source and m.group(0) not in derived:
            reasons.append(f"时间“{m.group(0)}”在原始记录中没有")
    if not plans:
        m = lx.PLAN_WORDS.search(clause)
        if m and m.group(0) not in source:
            reasons.append("原始记录没有写后续安排")
    for term in lx.MEDICAL_TERMS + lx.MONEY_TERMS:
        if term in clause and term not in source:
            reasons.append(f"“{term}”在原始记录中没有")
    for pattern in (lx.DRUG_SUFFIX, lx.DISEASE_SUFFIX):
        for m in pattern.finditer(clause):
            word = m.group(0)
            # the suffix word itself must be in the source (症 of 后遗症); a longer match may start earlier
            if not any(word[i:] in source for i in range(len(word) - 1)):
                reasons.append(f"“{word}”在原始记录中没有")
    return list(dict.fromkeys(reasons))


def check_text(text: str, source: str, extra: set[tuple[float, str | None]] = frozenset(),
               allowed_names: set[str] = frozenset(), derived: str = "", plans: bool = True) -> CheckResult:
    """``text`` without the clauses that state something ``source`` does not. ``extra``: derived
    (value, kind) pairs that may be used too (the parts of a resolved date, see ``date_values``)."""
    allowed = quantities_in(source) | set(extra) | \
        {(v, None) for v in values_in(source) if v >= 1000}  # phone and ID digits, years
    kept, removed = [], []
    for m in CLAUSE.finditer(text):
        clause = m.group(0)
        reasons = unsupported_in(clause, source, allowed, allowed_names, derived, plans)
        if reasons:
            removed.append(Unsupported(clause, reasons))
            end = re.search(r"[。！？!?\n]+$", clause)
            if end and kept and re.search(r"[，,；;]$", kept[-1]):
                kept[-1] = kept[-1].rstrip("，,；;") + end.group(0)  # the sentence still ends where it did
        else:
            kept.append(clause)
    out = "".join(kept).strip()
    out = re.sub(r"[，,；;]+$", "。", out)
    if out and not re.search(r"[。！？]$", out):
        out += "。"
    return CheckResult(out, removed)


def date_values(*dates: str) -> set[tuple[float, str | None]]:
    """What a derived date ('2026-03-04 下午') lets a text say: 2026年, 3月, 4日/4号, or 2026-03-04 as written."""
    found: set[tuple[float, str | None]] = set()
    for d in dates:
        m = re.match(r"(\d{4})-(\d{2})-(\d{2})", d or "")
        if m:
            year, month, day = (float(x) for x in m.groups())
            # "2026-03-04" written in digits reads as three bare numbers, which any allowed value supports
            found |= {(year, "year"), (month, "month"), (day, "day"), (day, "date")}
    return found
