"""The visit's own time and way (入户 / 电话), the risk flags, and the populations a jotting points to."""

from __future__ import annotations

import datetime as dt
import re

from assistant.visits import lexicon as lx
from assistant.visits.parsers import time_points
from assistant.visits.pieces import NO_CONTENT, Piece

PERIODS = [("上午", r"上午|早上|早晨|今早|今晨|一早|清早"), ("中午", r"中午"), ("下午", r"下午"), ("傍晚", r"傍晚"),
           ("晚上", r"晚上|夜里|夜间|晚间|半夜")]
VISIT_VERB = r"(?:去|上门|入户|走访|回访|访视|来|看了|看望|过去|电话|打电话|给[\u4e00-\u9fff]{1,6}送)"


def _period(text: str) -> str:
    for name, pattern in PERIODS:
        if re.search(pattern, text):
            return name
    return ""


def visit_time(pieces: list[Piece], jotting: str, visit_date: dt.date) -> tuple[str, Piece | None, tuple[int, int] | None]:
    """The visit's own time: a time piece that opens the jotting, or a time right before a visit verb
    (上周三下午去的, 今天上门). An event's time (前天夜里摔了, 上周二跑到城西去了) is not the visit's."""
    live = [p for p in pieces if not p.dropped]
    for idx, p in enumerate(live):
        for tp in time_points(p.text, visit_date):
            if not tp.one_day or tp.first.date() > visit_date:
                continue  # 元旦后 (several days), 约了周五再去 (a plan)
            rest = p.text[tp.end:]
            whole = not rest.strip() and tp.start == 0
            opening = whole and all(q.used or re.fullmatch(NO_CONTENT, q.text) for q in live[:idx])
            if opening or re.match(VISIT_VERB, rest):
                day = tp.first.date().isoformat()
                period = _period(p.text[:tp.end])
                return (f"{day} {period}".strip(), p, (p.start + tp.start, p.start + tp.end))
    # "今早去" / "今早" are not times to jionlp in every form: read them here
    for p in live:
        m = re.match(r"(今早|今天早上|今晨|今天)(?=去|上门|$)", p.text)
        if m:
            return (f"{visit_date.isoformat()} {_period(m.group(1))}".strip(), p, (p.start, p.start + m.end()))
    return "", None, None


# ---------------------------------------------------------------- method
HOME_VISIT = (r"入户|上门|去的|去了|去看|去家|去[\u4e00-\u9fff]{1,5}家|第.次来|来了一趟|走了一趟|走一趟|敲门|看望|"
              r"给[\u4e00-\u9fff]{1,6}家送|^(?:今早|今晨|今天|昨天|前天|大前天|早上|上午|下午|晚上|傍晚)去$|送了?.{0,6}(?:通知|东西|物资|米|油)|家访|"
              r"敲了.{0,3}门|赶过去|到(?:他|她)家")
PHONE_VISIT = r"电话(?:问|回访|联系|了解|沟通|里说|走访|打了)|打电话问|打了个电话|视频(?:问|回访)|^电话$"
FUTURE = r"再|下次|改天|到时候|回头|约了|过两天|明天|下周|准备|打算|计划"


def visit_method(pieces: list[Piece]) -> tuple[str, list[Piece]]:
    home = [p for p in pieces if not p.dropped and re.search(HOME_VISIT, p.text) and not re.search(FUTURE, p.text)]
    if home:
        return "入户走访", home[:1]
    phone = [p for p in pieces if not p.dropped and re.search(PHONE_VISIT, p.text)]
    if phone:
        return "电话走访", phone[:1]
    return "", []


# ---------------------------------------------------------------- flags
def _negated(text: str, pos: int, pattern: str) -> bool:
    if pattern.startswith(("没", "不", "无", "^")):
        return False
    return bool(lx.NEGATION.search(text[max(0, pos - 2):pos]))


def find_flags(pieces: list[Piece], age: int | None, birth_age: int | None, subject_child: bool) -> dict[str, list[Piece]]:
    """flag -> the pieces that show it."""
    live = [p for p in pieces if not p.dropped]
    out: dict[str, list[Piece]] = {}

    def hit(flag: str, p: Piece) -> None:
        out.setdefault(flag, [])
        if p not in out[flag]:
            out[flag].append(p)

    for flag, patterns in lx.FLAG_PATTERNS.items():
        for p in live:
            for pattern in patterns:
                m = re.search(pattern, p.text)
                if m and not _negated(p.text, m.start(), pattern):
                    hit(flag, p)
                    break
    # 有人应 / 又来了: "联系不上" words in a piece that says someone did answer do not count
    if "联系不上" in out:
        out["联系不上"] = [p for p in out["联系不上"] if not re.search(r"有人应|有人开门|接了", p.text)]
        if not out["联系不上"]:
            del out["联系不上"]
    # 一个人照顾/伺候 someone is a carer's load, not living alone; a child alone at home is 监护缺失
    if "独居" in out:
        out["独居"] = [p for p in out["独居"] if not re.search(r"一个人(?:照顾|伺候|带|扛|拉扯)", p.text)
                     and not ((subject_child or re.search(lx.CHILD, p.text)) and re.search(r"在家", p.text))]
        if not out["独居"]:
            del out["独居"]
    # 高龄: the person's stated age, an age read from their ID number, or an old-age allowance
    if (age is not None and age >= 80) or (birth_age is not None and birth_age >= 80):
        out.setdefault("高龄", [])
    for p in live:
        if re.search(lx.SUBSIDY_FOR_AGE, p.text) or re.search(lx.NEARLY_OLD, p.text):
            hit("高龄", p)
    # 身体不适未就医: a symptom and, anywhere in the note, that no doctor was seen
    symptoms = [p for p in live if re.search(lx.SYMPTOM, p.text) and not _negated(p.text, re.search(lx.SYMPTOM, p.text).start(), "x")]
    no_doctor = [p for p in live if re.search(lx.NO_DOCTOR, p.text)]
    if symptoms and no_doctor:
        for p in symptoms + no_doctor:
            hit("身体不适未就医", p)
    # 近期走失: a wandering episode not placed in the past (去年走丢过一次 is history, not recent)
    for p in live:
        if re.search(lx.WANDERING, p.text) and not re.search(lx.OLD_TIME, p.text):
            hit("近期走失", p)
            hit("走失风险", p)
    # 监护缺失: a child left with no adult who can care for them (the child visited, or one named with it:
    # 孩子现在一个人在家; an old man alone at home whose grandson comes at weekends is not)
    for p in live:
        if re.search(lx.ALONE_AT_HOME, p.text) and (subject_child or re.search(lx.CHILD, p.text)):
            hit("监护缺失", p)
    # 对着窗户骂: talking at no one is a sign of illness, not a quarrel
    if "矛盾纠纷" in out:
        out["矛盾纠纷"] = [p for p in out["矛盾纠纷"] if not re.search(r"(?:对着|冲着).{0,6}(?:骂|喊)", p.text)]
        if not out["矛盾纠纷"]:
            del out["矛盾纠纷"]
    return {f: out[f] for f in lx.FLAGS if f in out}


def categories_of(text: str, age: int | None, flags: set[str], subject_child: bool) -> list[str]:
    """The populations the person belongs to. One main group (the most specific), plus 低保对象. Empty when
    nothing in the jotting points to a population: the field goes to 待补充, never guessed as 其他."""
    has = {cat: bool(re.search(pattern, text)) for cat, pattern in lx.CATEGORY_PATTERNS.items()}
    elder = (age is not None and age >= 60) or bool(re.search(lx.ELDER_WORDS, text)) or "高龄" in flags
    if subject_child:
        if has["困境儿童"] or "监护缺失" in flags and not has["留守儿童"]:
            return ["困境儿童"]
        if has["留守儿童"]:
            return ["留守儿童"]
        if has["困难家庭"]:
            return ["困境儿童"]
    main = ""
    if has["孤寡老人"] and elder:
        main = "孤寡老人"
    elif has["易走失人员"] or flags & {"走失风险", "近期走失"}:
        main = "易走失人员"
    elif "独居" in flags and elder:
        main = "独居老人"
    elif "高龄" in flags:
        main = "高龄老人"
    elif has["残疾人"]:
        main = "残疾人"
    elif has["精神障碍患者"]:
        main = "精神障碍患者"
    elif "独居" in flags and age is None:
        main = "独居老人"  # most people a grid worker visits for living alone are old; an age under 60 says otherwise
    cats = [main] if main else []
    if has["低保对象"]:
        cats.append("低保对象")
    if not cats and (has["困难家庭"] or "经济困难" in flags):
        cats.append("困难家庭")
    if not cats and re.search(lx.OTHER_GROUPS, text):
        cats.append("其他")  # a group the list does not name (社区矫正, 孕产妇…); nothing at all stays empty
    return cats
