"""Deterministic extraction: a terse jotting -> a VisitRecord (no LLM).

The jotting is cut into pieces at spaces and punctuation (a phone or ID number written with spaces stays
one piece). "X 不对 是Y" drops X. Then: the person visited, their age, phone and ID numbers, the visit
time (resolved against the visit date by jionlp), how the visit was made, the risk flags, and every
remaining piece goes to one of 基本情况 / 发现的问题 / 需求 / 已采取措施 / 后续跟进, with its span, so
nothing stated is lost and nothing unstated is added.
"""

from __future__ import annotations

import datetime as dt
import re

from assistant.visits import lexicon as lx
from assistant.visits.names import find_names
from assistant.visits.numbers import to_int
from assistant.visits.parsers import birth_date, id_card_problem, id_cards, phone_numbers, time_points
from assistant.visits.pieces import NO_CONTENT, Piece, apply_corrections, pieces_of
from assistant.visits.record import FollowUp, Item, Referral, VisitRecord
from assistant.visits.rules import RuleSet, load_rules
from assistant.visits.signs import VISIT_VERB, categories_of, find_flags, visit_method, visit_time

MAX_JOTTING_CHARS = 2000
FOLLOW_UP = r"约了|下次|改天|到时候再|再去|再来|再上门|再看|回头再|过两天再|下周再|跟进|复访|回访一下|(?:明天|后天|下周|月底).{0,6}(?:让|去|来)"
MEASURE = (r"给了|已联系|联系了|已经联系|调解|介绍|帮(?:[她他忙]|[\u4e00-\u9fff]{2,3})?办|送了?.{0,2}通知|装了|安装了|已(?:经)?(?:上报|报|申请|办|通知|登记|转介)|"
           r"申请的|申请了|批了|跟(?:他|她|他们|家属)说了|告知|提醒|劝|留了(?:电话|联系方式)|登记一下|登记了|报了|协助")
REPORTS = r"说|反映|打电话|来电|打来"
NEED = r"(?<![不没])想(?!不开)|希望|申请|问能不能|问能否|问可不可以|需要(?!的)|要求|要(?:改|换|办|申请|求)|盼着|急需"


def _classify(p: Piece) -> str:
    if re.search(FOLLOW_UP, p.text):
        return "follow_up"
    if re.search(MEASURE, p.text):
        return "measure"
    if re.search(NEED, p.text) and not re.search(r"没(?:啥|什么)?需要", p.text):
        return "need"
    return "basic"


def _follow_up(p: Piece, visit_date: dt.date, record_date: dt.date) -> FollowUp:
    who = ""
    m = re.search(rf"让({lx.RELATION}|[\u4e00-\u9fff]{{2,3}})", p.text)
    if m:
        who = m.group(1)
    elif re.search(r"(?:约了|再去|再来|再上门|再看|到时候再|下次|改天|回头)", p.text):
        who = "走访人"  # "约了周五再去": the one who wrote the note goes again
    when = ""
    for tp in time_points(p.text, record_date):
        if tp.one_day and tp.first.date() >= record_date:
            when = tp.first.date().isoformat()
            break
    if not when:
        m = re.search(r"改天|下次|过两天|清明后|月底|下周", p.text)
        when = m.group(0) if m else ""
    return FollowUp(p.text, who, when, [(p.start, p.end)])


def _age_of(piece: Piece, surname: str) -> int | None:
    """'84岁', '八十二', '88了', '九十一了', '周81' (surname + age) -> the age; a relative's age is not."""
    text = piece.text
    if re.search(rf"(?:{lx.RELATION}|孩子|小孩)", text):
        return None
    m = re.fullmatch(rf"(?:{re.escape(surname)})?(?:今年)?([0-9]{{1,3}}|[零一二两三四五六七八九十]{{1,4}})(?:周?岁|了|多岁?)?", text)
    if not m:
        m = re.search(r"(?<![0-9])([0-9]{1,3}|[一二两三四五六七八九十]{1,4})周?岁", text)
    if not m:
        return None
    value = to_int(m.group(1))
    return value if value is not None and 0 < value < 120 else None


def extract(jotting: str, visit_date: dt.date | None = None, rules: RuleSet | None = None,
            record_date: dt.date | None = None) -> VisitRecord:
    """The structured record of a jotting, without the narrative (writer.py adds that)."""
    from shegong.errors import UserError

    text = (jotting or "").replace("\u3000", " ").rstrip()
    if not text.strip():
        raise UserError("请先输入走访时记下的内容")
    if len(text) > MAX_JOTTING_CHARS:
        raise UserError(f"走访记录太长（{len(text)} 字），一次请控制在 {MAX_JOTTING_CHARS} 字以内，可以分几次录入")
    visit_date = visit_date or dt.date.today()
    record_date = record_date or visit_date
    rules = rules or load_rules()
    record = VisitRecord(jotting=text, visit_date=visit_date)

    phones, ids = phone_numbers(text), id_cards(text)
    protected = [(f.start, f.end) for f in phones + ids]
    pieces = apply_corrections(pieces_of(text, protected), record)
    live = [p for p in pieces if not p.dropped]

    def spans_of(ps) -> list[tuple[int, int]]:
        return [(p.start, p.end) for p in ps]

    def live_span(s: int, e: int) -> bool:
        return any(p.start <= s and e <= p.end for p in live)

    # numbers that identify people
    record.phones = list(dict.fromkeys(f.value for f in phones if live_span(f.start, f.end)))
    record.id_numbers = list(dict.fromkeys(f.value for f in ids if live_span(f.start, f.end)))
    if record.phones:
        record.spans["联系电话"] = [(f.start, f.end) for f in phones if live_span(f.start, f.end)]
    birth_age = None
    for number in record.id_numbers:
        born = birth_date(number) if id_card_problem(number) is None else None
        if born:
            birth_age = visit_date.year - born.year - ((visit_date.month, visit_date.day) < (born.month, born.day))

    # the person visited: the first name that is not a relative's or a colleague's; a full name
    # beats an honorific for the same surname close by (老沈 沈国华 -> 沈国华)
    names = [n for p in live for n in find_names(text, p.start, p.end)]
    people = [n for n in names if not n.relative and not n.companion and n.kind != "household"]
    subject = people[0] if people else None
    if subject is not None and subject.kind != "full":
        later = [n for n in people[1:4] if n.kind == "full" and subject.text[:2].strip("老小")[:1] in n.text[:1]]
        if later:
            subject = later[0]
    if subject is not None and re.match(REPORTS, text[subject.end:subject.end + 4]):
        # 潘小红说她妈 潘桂香 在家摔了: the one who called or told is not the one the visit is about
        about = [n for n in names if n.kind == "full" and not n.companion and n.start > subject.end
                 and n.text != subject.text]
        if about:
            subject = about[0]
    if subject is None:
        relatives = [n for n in names if n.kind == "full" and not n.companion]
        subject = relatives[0] if relatives else None
    if subject is not None:
        record.subject = subject.text
        record.spans["走访对象"] = [(subject.start, subject.end)]
    record.others = list(dict.fromkeys(n.text for n in names if n.kind in ("full", "honorific", "nickname")
                                       and not n.companion and n.text != record.subject
                                       and not (subject and n.text[:1] == record.subject[:1] and n.kind == "honorific")))
    name_spans = [(n.start, n.end) for n in names if n.kind != "household"]

    # the age is written near the name, at its first mention or a later one (… 潘桂香 81 平时一个人住)
    mentions = [n for n in names if subject is not None and n.text == subject.text] if subject is not None else []
    windows = []
    for mention in mentions:
        idx = next(i for i, p in enumerate(live) if p.start <= mention.start < p.end)
        windows += [(p, mention) for p in live[idx:idx + 5]]
    if subject is not None:
        surname = subject.text.lstrip("老小")[:1]
        for p, mention in windows:
            rest = Piece(text[max(p.start, mention.end):p.end], max(p.start, mention.end), p.end) \
                if p.start <= mention.start < p.end else p
            age = _age_of(rest, surname)
            if age is not None:
                record.age = age
                record.spans["年龄"] = [(rest.start, rest.end)]
                if rest is p and re.fullmatch(r"[\u4e00-\u9fff]?[0-9零一二两三四五六七八九十]{1,4}了?", p.text):
                    p.used = True  # a bare "76" reads as the age; "7岁" stays in 基本情况 as written
                break
    subject_child = record.age is not None and record.age < 18 or bool(
        subject and re.search(lx.CHILD_WORDS, text[max(0, subject.start - 6):subject.end + 8]) and
        (record.age is None or record.age < 18) and not re.search(lx.ELDER_WORDS, record.subject))

    # visit time and method
    record.visit_time, time_piece, time_span = visit_time(pieces, text, visit_date)
    if time_span:
        record.spans["走访时间"] = [time_span]
        rest = text[time_span[1]:time_piece.end] if time_piece is not None else ""
        clock = re.search(r"[点时:：]", text[time_span[0]:time_span[1]])  # 十点多 is kept as written
        if time_piece is not None and not clock and re.fullmatch(rf"(?:{VISIT_VERB}|去看|去看的|去的|看的|上门看了|上门)?的?", rest):
            time_piece.used = True  # 今天上午上门: all it says is in 走访时间 and 走访方式
    record.method, method_pieces = visit_method(pieces)
    if method_pieces:
        record.spans["走访方式"] = spans_of(method_pieces)

    # flags and risk
    flag_pieces = find_flags(pieces, record.age, birth_age, subject_child)
    record.flags = list(flag_pieces)
    record.flag_spans = {f: spans_of(ps) for f, ps in flag_pieces.items()}
    if "高龄" in flag_pieces and record.spans.get("年龄") and not flag_pieces["高龄"]:
        record.flag_spans["高龄"] = record.spans["年龄"]
    live_text = " ".join(p.text for p in live)
    record.categories = categories_of(live_text, record.age, set(record.flags), subject_child) if (
        record.subject or record.flags or record.age is not None) else []
    record.risk, record.risk_reasons = rules.level(set(record.flags), set(record.categories))
    record.referrals = [Referral(rules.referrals[f], f) for f in record.flags if f in rules.referrals]

    # every other piece goes somewhere, in the order written
    problem_pieces = {id(p) for ps in flag_pieces.values() for p in ps}
    for p in live:
        only_name = any(s <= p.start and p.end <= e for s, e in name_spans) or \
            (subject is not None and p.text in (subject.text, f"{subject.text}家"))
        if p.used or only_name or re.fullmatch(NO_CONTENT, p.text):
            continue
        kind = _classify(p)
        item = Item(p.text, [(p.start, p.end)])
        if kind == "follow_up":
            record.follow_ups.append(_follow_up(p, visit_date, record_date))
        elif kind == "measure":
            record.measures.append(item)
        elif kind == "need":
            record.needs.append(item)
        elif id(p) in problem_pieces:
            record.problems.append(item)
        else:
            record.basic.append(item)
    for key, items in (("基本情况", record.basic), ("发现的问题", record.problems), ("需求", record.needs),
                       ("已采取措施", record.measures)):
        if items:
            record.spans[key] = [s for i in items for s in i.spans]
    if record.follow_ups:
        record.spans["后续跟进"] = [s for f in record.follow_ups for s in f.spans]
    if record.categories:
        cat_spans = [(m.start(), m.end()) for pattern in lx.CATEGORY_PATTERNS.values()
                     for m in re.finditer(pattern, text) if live_span(m.start(), m.end())]
        record.spans["对象类别"] = sorted(set(cat_spans)) or record.flag_spans.get("独居", [])
    record.spans["风险等级"] = sorted({s for spans in record.flag_spans.values() for s in spans})
    return record
