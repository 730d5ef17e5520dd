"""Named ledger queries (结构化筛选) and a natural-language box mapped onto them.

Every answer comes from structured filters over the ledger, never from the LLM:
    run_query(ledger, "未来三个月年满90岁的老人", community, today)
    ask_ledger(ledger, "下个季度要满九十岁的有哪些", community, today)
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from assistant.visits.ledger import SEP, Ledger, add_months, add_years, age_on
from assistant.visits.numbers import to_int
from shegong.errors import UserError

KEY_GROUPS = ("独居老人", "孤寡老人", "高龄老人", "易走失人员", "残疾人", "低保对象", "困难家庭", "留守儿童", "困境儿童",
              "精神障碍患者")


@dataclass
class QueryResult:
    title: str
    columns: list[str]
    rows: list[list]
    explanation: str  # the filter in words, so the user sees what was asked of the ledger


def _is_alone(r: dict) -> bool:
    return bool(r["lives_alone"]) or "独居" in (r["categories"] or "")


def turning_age(ledger: Ledger, community: str | None, today: dt.date, age: int = 90, months: int = 3) -> QueryResult:
    end = add_months(today, months)
    rows = []
    for r in ledger.residents(community):
        if r["birth_date"] is None:
            continue
        birthday = add_years(r["birth_date"], age)
        if today <= birthday <= end:
            rows.append([r["name"], r["gender"], r["birth_date"].isoformat(), birthday.isoformat(), r["address"],
                         r["categories"], r["id"]])
    rows.sort(key=lambda row: row[3])
    return QueryResult(f"未来{months}个月年满{age}岁的老人", ["姓名", "性别", "出生日期", f"满{age}岁日期", "住址", "人员类别", "编号"],
                       rows, f"出生日期加 {age} 年落在 {today} 到 {end} 之间")


def not_visited(ledger: Ledger, community: str | None, today: dt.date, months: int = 6,
                group: str = "独居老人") -> QueryResult:
    since = add_months(today, -months)
    last = ledger.last_visits(community)
    rows = []
    for r in ledger.residents(community):
        if group == "独居老人":
            if not _is_alone(r) or (age_on(r["birth_date"], today) or 60) < 60:
                continue
        elif group not in (r["categories"] or ""):
            continue
        seen = last.get(r["id"])
        if seen is None or seen < since:
            rows.append([r["name"], age_on(r["birth_date"], today), r["address"], seen.isoformat() if seen else "从未走访",
                         r["id"]])
    rows.sort(key=lambda row: (row[3] != "从未走访", row[3]))
    return QueryResult(f"{months}个月未走访的{group}", ["姓名", "年龄", "住址", "最近一次走访", "编号"], rows,
                       f"{group}中，{since} 以后没有走访记录的")


def high_risk_this_month(ledger: Ledger, community: str | None, today: dt.date) -> QueryResult:
    start = today.replace(day=1)
    rows = [[v["subject"], v["visit_date"].isoformat(), v["flags"], "已处理" if v["resolved"] else "未处理", v["referrals"],
             v["id"]] for v in ledger.visits(community, start, today) if v["risk"] == "高"]
    return QueryResult("本月高风险对象", ["走访对象", "走访日期", "风险标记", "处理情况", "建议转介", "走访编号"], rows,
                       f"{start} 到 {today} 的走访中风险等级为“高”的")


def open_high_risk(ledger: Ledger, community: str | None, today: dt.date) -> QueryResult:
    rows = [[v["subject"], v["visit_date"].isoformat(), v["flags"], v["referrals"], v["id"]]
            for v in ledger.visits(community, None, today) if v["risk"] == "高" and not v["resolved"]]
    return QueryResult("尚未处理的高风险对象", ["走访对象", "走访日期", "风险标记", "建议转介", "走访编号"], rows,
                       "风险等级为“高”且还没有标记为已处理的走访")


def group_list(ledger: Ledger, community: str | None, today: dt.date, group: str = "高龄老人") -> QueryResult:
    rows = []
    for r in ledger.residents(community):
        age = age_on(r["birth_date"], today)
        if group in (r["categories"] or "") or (group == "高龄老人" and age is not None and age >= 80) or \
                (group == "独居老人" and _is_alone(r)):
            rows.append([r["name"], age, r["address"], r["categories"], r["id"]])
    return QueryResult(f"{group}名单", ["姓名", "年龄", "住址", "人员类别", "编号"], rows, f"人员类别含“{group}”的居民")


NAMED = {
    "未来三个月年满90岁的老人": lambda l, c, t: turning_age(l, c, t, 90, 3),
    "半年未走访的独居老人": lambda l, c, t: not_visited(l, c, t, 6, "独居老人"),
    "本月高风险对象": high_risk_this_month,
    "尚未处理的高风险对象": open_high_risk,
    "高龄老人名单": lambda l, c, t: group_list(l, c, t, "高龄老人"),
}


def run_query(ledger: Ledger, name: str, community: str | None, today: dt.date | None = None) -> QueryResult:
    if name not in NAMED:
        raise UserError(f"没有名为“{name}”的查询。可用的查询：{'、'.join(NAMED)}")
    return NAMED[name](ledger, community, today or dt.date.today())


_CN_NUM = r"[0-9]+|[一二两三四五六七八九十百]+"


def parse_question(question: str) -> tuple[str, dict]:
    """A question in words -> (query, parameters). Raises UserError listing what can be asked."""
    q = re.sub(r"\s+", "", question or "")
    if not q:
        raise UserError("请输入要查的内容，例如：未来三个月年满90岁的老人")
    if q in NAMED:
        return q, {}
    m = re.search(rf"(?:满|年满|到|过)({_CN_NUM})(?:岁|周岁)", q)
    if m and re.search(r"未来|接下来|下个|今后|近|将|快|要|个月|季度|年内", q):
        months = 3
        mm = re.search(rf"({_CN_NUM})个月", q)
        if mm:
            months = to_int(mm.group(1)) or 3
        elif "季度" in q:
            months = 3
        elif "半年" in q:
            months = 6
        elif re.search(r"今年|一年|年内", q):
            months = 12
        return "turning_age", {"age": to_int(m.group(1)) or 90, "months": months}
    if re.search(r"(?:没|未|没有)(?:走访|去|上门|看)", q):
        months = 6
        mm = re.search(rf"({_CN_NUM})个月", q)
        if mm:
            months = to_int(mm.group(1)) or 6
        elif re.search(r"一年|年内|全年", q):
            months = 12
        group = next((g for g in KEY_GROUPS if g in q or g[:2] in q), "独居老人")
        return "not_visited", {"months": months, "group": group}
    if "高风险" in q or "风险高" in q:
        if re.search(r"未处理|没处理|没解决|未解决|还没", q):
            return "尚未处理的高风险对象", {}
        return "本月高风险对象", {}
    group = next((g for g in KEY_GROUPS if g in q), None)
    if group and re.search(r"名单|有哪些|有谁|多少|列出", q):
        return "group_list", {"group": group}
    raise UserError("这个问题还对应不上台账里的查询。可以这样问：" + "；".join(NAMED)
                    + "；或“一年没走访的残疾人”“未来半年年满80岁的老人”")


def ask_ledger(ledger: Ledger, question: str, community: str | None, today: dt.date | None = None) -> QueryResult:
    today = today or dt.date.today()
    name, params = parse_question(question)
    if name == "turning_age":
        return turning_age(ledger, community, today, **params)
    if name == "not_visited":
        return not_visited(ledger, community, today, **params)
    if name == "group_list":
        return group_list(ledger, community, today, **params)
    return run_query(ledger, name, community, today)


__all__ = ["NAMED", "QueryResult", "ask_ledger", "parse_question", "run_query", "SEP"]
