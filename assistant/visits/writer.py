"""Jotting -> record: extraction first, then the LLM writes only the 走访记录 paragraph, then the checker.

    record = make_record("3/12 下午 去看了王阿婆 82岁 独居…", dt.date(2026, 3, 12), llm)

Without an LLM (not enabled, still loading, failed) the paragraph is put together from the record's
own fields, so the record is complete either way; the checker reads both kinds of paragraph.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from functools import lru_cache
from pathlib import Path

from assistant.llm.base import LLM, Message, complete
from assistant.visits.checker import check_text, date_values
from assistant.visits.extract import extract
from assistant.visits.record import VisitRecord
from assistant.visits.rules import RuleSet
from shegong.errors import ModelUnavailable

log = logging.getLogger(__name__)
PROMPTS = Path(__file__).parent / "prompts"
NOT_STATED = "（未写明）"
MIN_NARRATIVE = 20  # shorter than this after checking: the paragraph says too little, use the composed one


@lru_cache(maxsize=None)
def _prompt(name: str) -> str:
    return (PROMPTS / name).read_text(encoding="utf-8").strip()


def facts_for_prompt(record: VisitRecord) -> str:
    """The record as lines the model rewrites (rule outputs such as referral departments are left out:
    the paragraph reports the visit, the form lists the suggestions)."""
    def join(items) -> str:
        return "；".join(i.text for i in items) or "无"

    who = record.subject or NOT_STATED
    if record.age is not None:
        who += f"，{record.age}岁"
    lines = [
        f"走访对象：{who}",
        f"对象类别：{'、'.join(record.categories) or NOT_STATED}",
        f"走访时间：{record.visit_time or NOT_STATED}",
        f"走访方式：{record.method or NOT_STATED}",
        f"基本情况：{join(record.basic)}",
        f"发现的问题：{join(record.problems)}",
        f"风险等级：{record.risk}（{'、'.join(record.flags) or '无风险标记'}）",
        f"需求：{join(record.needs)}",
        f"已采取措施：{join(record.measures)}",
        f"后续跟进：{'；'.join(f.what for f in record.follow_ups) or '无'}",
    ]
    lines = [line for line in lines if not line.endswith(("：无", NOT_STATED))]  # a small model copies them
    if record.others:
        lines.insert(1, f"其他人员：{'、'.join(record.others)}")
    return "\n".join(lines)


def composed_narrative(record: VisitRecord) -> str:
    """A plain paragraph built from the record's fields (no model): every word is the jotting's or the form's."""
    parts = []
    when = record.visit_time.replace(" ", "") if record.visit_time else ""
    how = {"入户走访": "入户走访了", "电话走访": "电话走访了"}.get(record.method, "走访了")
    who = record.subject or "走访对象"
    if record.age is not None:
        who += f"（{record.age}岁）"
    parts.append(f"{when + '，' if when else ''}社工{how}{who}。")
    if record.basic:
        parts.append("基本情况：" + "，".join(i.text for i in record.basic) + "。")
    if record.problems:
        parts.append("发现的问题：" + "，".join(i.text for i in record.problems) + "。")
    parts.append(f"风险等级为{record.risk}" + (f"（{'、'.join(record.flags)}）" if record.flags else "") + "。")
    if record.needs:
        parts.append("需求：" + "，".join(i.text for i in record.needs) + "。")
    if record.measures:
        parts.append("已采取措施：" + "，".join(i.text for i in record.measures) + "。")
    if record.follow_ups:
        parts.append("后续跟进：" + "，".join(f.what for f in record.follow_ups) + "。")
    return "".join(parts)


def write_narrative(record: VisitRecord, llm: LLM | None, max_tokens: int = 230) -> dict:
    """Fill ``record.narrative`` (and ``record.removed``). Returns timings and which way it was written."""
    info: dict = {"narrative": "composed"}
    source = record.jotting
    extra = date_values(record.visit_time, *[f.when for f in record.follow_ups])
    if record.age is not None:
        extra |= {(float(record.age), "age"), (float(record.age), None)}
    names = {record.subject, *record.others} - {""}
    # the resolved times and the record's own words (flag names such as 近期走失) are the record's, not invented
    derived = " ".join([record.visit_time, *(f.when for f in record.follow_ups), *record.flags, *record.categories])
    plans = bool(record.follow_ups)
    if llm is not None:
        messages: list[Message] = [
            {"role": "system", "content": _prompt("narrative_system.txt")},
            {"role": "user", "content": _prompt("narrative_user.txt").format(facts=facts_for_prompt(record))}]
        t = time.perf_counter()
        try:
            raw = complete(llm, messages, max_tokens=max_tokens, temperature=0.1)
        except ModelUnavailable as e:
            log.warning("narrative generation failed: %s", e)
            raw = ""
            info["error"] = str(e)
        info["llm_s"] = round(time.perf_counter() - t, 2)
        raw = _clean(raw)
        if len(re.findall(r"【[^】]{2,6}】|(?:^|[。；\s])[\u4e00-\u9fff]{2,5}[:：]", raw)) >= 3:
            info["raw"], raw = raw, ""  # the model filled in a form instead of writing a paragraph
            info["error"] = "模型没有写成段落"
        if raw:
            checked = check_text(raw, source, extra, names, derived, plans)
            record.removed = checked.removed_text
            if len(checked.text) >= MIN_NARRATIVE:
                record.narrative = checked.text
                info["narrative"] = "llm"
                info["raw"] = raw
                return info
            info["raw"] = raw
    composed = check_text(composed_narrative(record), source, extra, names, derived, plans)
    record.removed += composed.removed_text  # never expected: the composed text only repeats the record
    record.narrative = composed.text
    return info


def _clean(text: str) -> str:
    """The paragraph only: no heading, no list marks, no markdown, one paragraph."""
    text = re.sub(r"^\s*(?:#+\s*)?(?:走访记录|记录)[:：]?\s*", "", text.strip())
    text = re.sub(r"[*#`]", "", text)
    text = re.sub(r"^\s*(?:\d+[.、．]|[-•·])\s*", "", text, flags=re.M)
    return re.sub(r"\s*\n+\s*", "", text).strip()


def make_record(jotting: str, visit_date: dt.date | None = None, llm: LLM | None = None,
                rules: RuleSet | None = None, record_date: dt.date | None = None) -> VisitRecord:
    record = extract(jotting, visit_date, rules, record_date)
    write_narrative(record, llm)
    return record
