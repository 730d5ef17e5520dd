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
from dataclasses import dataclass
from functools import lru_cache

from assistant.visits import lexicon as lx
from assistant.visits.numbers import to_int
from assistant.visits.parsers import birth_date, id_card_problem, id_cards, phone_numbers, time_points
from assistant.visits.record import FollowUp, Item, Referral, VisitRecord
from assistant.visits.rules import RuleSet, load_rules

MAX_JOTTING_CHARS = 2000
SPLIT = re.compile(r"[\s，,。；;！!？?、：:（）()【】\[\]“”\"'…~～]+")
CORRECTION = re.compile(r"不对")
CORRECTION_LEAD = re.compile(r"^(?:应该|应当)?(?:是|叫|为)")


@dataclass
class Piece:
    text: str
    start: int
    end: int
    dropped: bool = False  # superseded by a correction
    used: bool = False  # consumed by a structured field (name, age, time, method)


# ---------------------------------------------------------------- pieces
def pieces_of(text: str, protected: list[tuple[int, int]]) -> list[Piece]:
    """Cut at separators, never inside a protected span (a phone number written 139 0000 4521)."""
    cuts = [(m.start(), m.end()) for m in SPLIT.finditer(text)
            if not any(s < m.start() < e or s < m.end() < e for s, e in protected)]
    # "严淑珍不对叫严淑贞" written without spaces: 不对 is its own piece all the same
    cuts += [(m.start(), m.start()) for m in CORRECTION.finditer(text)] + [(m.end(), m.end())
                                                                            for m in CORRECTION.finditer(text)]
    cuts.sort()
    out, pos = [], 0
    for s, e in cuts + [(len(text), len(text))]:
        if s > pos:
            out.append(Piece(text[pos:s], pos, s))
        pos = max(pos, e)
    return out


def apply_corrections(pieces: list[Piece], record: VisitRecord) -> list[Piece]:
    """'78 不对 87了', '严淑珍 不对 叫严淑贞': the piece before 不对 is superseded by the one after it."""
    kept: list[Piece] = []
    i = 0
    while i < len(pieces):
        p = pieces[i]
        if p.text == "不对":
            previous = next((k for k in reversed(kept) if not k.dropped), None)
            nxt = pieces[i + 1] if i + 1 < len(pieces) else None
            if previous is not None and nxt is not None:
                previous.dropped = True
                lead = CORRECTION_LEAD.match(nxt.text)
                if lead:
                    nxt.text, nxt.start = nxt.text[lead.end():], nxt.start + lead.end()
                record.corrections.append(f"{previous.text} → {nxt.text}")
            i += 1
            continue
        kept.append(p)
        i += 1
    return [p for p in kept if p.text]


# ---------------------------------------------------------------- names
@lru_cache(maxsize=1)
def _name_patterns():
    sur = lx.surnames()
    honorific = re.compile(rf"([{sur}])(?:{lx.HONORIFIC})")
    old = re.compile(rf"(?<![\u4e00-\u9fff])老([{sur}])(?![\u4e00-\u9fff])")
    full = re.compile(rf"[{sur}][\u4e00-\u9fff]{{1,2}}")
    return sur, honorific, old, full


@lru_cache(maxsize=1)
def _jieba():
    import logging

    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return jieba, jieba.posseg


def _common_word(word: str) -> bool:
    """A dictionary word that is not a person's name (周末, 高血压, 石头)."""
    jieba, posseg = _jieba()
    tag = posseg.dt.word_tag_tab.get(word)
    return tag is not None and not tag.startswith("nr")


@dataclass
class Name:
    text: str
    start: int
    end: int
    kind: str  # full | honorific | household | nickname
    relative: bool  # preceded by 儿子/老伴/邻居…: someone else than the person visited
    companion: bool = False  # 跟小李一起去的: a colleague


def _tokens(text: str) -> list[tuple[int, int]]:
    jieba, _ = _jieba()
    out, pos = [], 0
    for tok in jieba.cut(text, HMM=True):
        out.append((pos, pos + len(tok)))
        pos += len(tok)
    return out


def find_names(text: str, start: int = 0, end: int | None = None) -> list[Name]:
    """People named in ``text[start:end]``: 陈桂英, 王阿婆, 老葛, 小宇, 赵家 (a household)."""
    end = len(text) if end is None else end
    seg = text[start:end]
    sur, honorific, old, full = _name_patterns()
    found: list[Name] = []
    taken: list[range] = []

    def before(pos: int) -> str:
        return seg[max(0, pos - 6):pos]

    def add(s: int, e: int, kind: str) -> None:
        if any(s in r or (e - 1) in r for r in taken):
            return
        lead = before(s)
        relative = bool(re.search(rf"(?:{lx.RELATION})$", lead))
        companion = bool(re.search(rf"(?:{lx.COMPANION})$", lead)) and kind == "nickname"
        found.append(Name(seg[s:e], start + s, start + e, kind, relative, companion))
        taken.append(range(s, e))

    for m in honorific.finditer(seg):
        if m.start() and re.match(r"[\u4e00-\u9fff]", seg[m.start() - 1]) and not re.search(
                rf"(?:去|给|帮|看|找|叫|是|住|和|跟|{lx.RELATION}|\d)$", seg[:m.start()]):
            continue  # 周阿姨 inside a longer word is still a name; 邻居王大妈 too; 大姑妈 is not
        add(m.start(), m.end(), "honorific")
    for m in old.finditer(seg):
        add(m.start(), m.end(), "honorific")
    for m in re.finditer(r"(?<![\u4e00-\u9fff])小([\u4e00-\u9fff])(?![\u4e00-\u9fff])", seg):
        if not _common_word(m.group(0)) and m.group(1) not in lx.NOT_GIVEN:
            add(m.start(), m.end(), "nickname")
    for m in re.finditer(rf"(?:{lx.COMPANION})(小[{sur}])", seg):
        add(m.start(1), m.end(1), "nickname")
    tokens = _tokens(seg)
    for s, ch in enumerate(seg):  # every position: rare surnames (人, 子) must not hide the real one after them
        if ch not in sur:
            continue
        if any(s in r for r in taken):
            continue
        if s and re.match(r"[\u4e00-\u9fff]", seg[s - 1]) and not re.search(
                rf"(?:去|给|帮|看|找|叫|是|住|访|{lx.RELATION}|盲人|聋哑人|孕妇|矫正|人员|儿童|五保户|低保户|独居|老人)$",
                seg[:s]):
            continue  # the surname character is inside another word
        for length in (3, 2):
            e = s + length
            if e > len(seg):
                continue
            cand = seg[s:e]
            given = cand[1:]
            if any(c in lx.NOT_GIVEN for c in given) or not re.fullmatch(r"[\u4e00-\u9fff]+", given) \
                    or cand.endswith("家"):
                continue
            if _common_word(cand) or (length == 3 and _common_word(cand[:2])):
                continue  # 周末, 高血压; 上次记的 starts with the word 上次
            if any(s < ts < e < te for ts, te in tokens):
                continue  # the name would end inside a word that starts within it (魏磊|现在)
            if re.match(r"里|路|街|巷|村|小区|楼|栋|苑|园|院|厂|宿舍|社区|公寓|新村|花园", seg[e:]):
                continue  # 桂花里, 幸福路: a place
            if e < len(seg) and seg[e] == "家" and length == 2 and not re.search(rf"(?:住|去|在|{lx.RELATION})$", seg[:s]):
                continue  # 杨家 = the Yang household, not a person
            add(s, e, "full")
            break
    for m in re.finditer(rf"([{sur}])家(?![里人属庭务])", seg):
        if not any(m.start() in r for r in taken) and (m.start() == 0 or not re.match(r"[\u4e00-\u9fff]",
                                                                                    seg[m.start() - 1])
                                                       or re.search(r"(?:去|给|到|问了?)$", seg[:m.start()])):
            add(m.start(), m.end(), "household")
    found.sort(key=lambda n: n.start)
    return found


# ---------------------------------------------------------------- visit time
PERIODS = [("上午", r"上午|早上|早晨|今早|今晨|一早|清早"), ("中午", r"中午"), ("下午", r"下午"), ("傍晚", r"傍晚"),
           ("晚上", r"晚上|夜里|夜间|晚间|半夜")]
VISIT_VERB = r"(?:去|上门|入户|走访|回访|访视|来|看了|看望|过去|给[\u4e00-\u9fff]{1,6}送)"


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
              r"给[\u4e00-\u9fff]{1,6}家送|^(?:今早|今晨|今天|昨天|前天|大前天|早上|上午|下午|晚上|傍晚)去$|送了?.{0,3}(?:通知|东西|物资|米|油)|家访")
PHONE_VISIT = r"电话(?:问|回访|联系|了解|沟通|里说|走访)|打电话问|打了个电话|视频(?:问|回访)"
FUTURE = r"再|下次|改天|到时候|回头|约了|过两天|明天|下周"


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
    # 一个人照顾/伺候 someone is a carer's load, not living alone
    if "独居" in out:
        out["独居"] = [p for p in out["独居"] if not re.search(r"一个人(?:照顾|伺候|带|扛|拉扯)", p.text)]
        if not out["独居"]:
            del out["独居"]
    # 高龄: the person's stated age, an age read from their ID number, or an old-age allowance
    if (age is not None and age >= 80) or (birth_age is not None and birth_age >= 80):
        out.setdefault("高龄", [])
    for p in live:
        if re.search(lx.SUBSIDY_FOR_AGE, p.text):
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
    # 监护缺失: a child left with no adult who can care for them
    if subject_child or any(re.search(lx.CHILD, p.text) for p in live):
        for p in live:
            if re.search(lx.ALONE_AT_HOME, p.text):
                hit("监护缺失", p)
    return {f: out[f] for f in lx.FLAGS if f in out}


# ---------------------------------------------------------------- other fields
FOLLOW_UP = r"约了|下次|改天|到时候再|再去|再来|再上门|再看|回头再|过两天再|下周再|跟进|复访|回访一下|(?:明天|后天|下周|月底).{0,6}(?:让|去|来)"
MEASURE = (r"给了|已联系|联系了|已经联系|调解|介绍|帮(?:[她他忙]|[\u4e00-\u9fff]{2,3})?办|送了?.{0,2}通知|装了|安装了|已(?:经)?(?:上报|报|申请|办|通知|登记|转介)|"
           r"申请的|申请了|批了|跟(?:他|她|他们|家属)说了|告知|提醒|劝|留了(?:电话|联系方式)|登记一下|登记了|报了|协助")
NEED = r"(?<![不没])想(?!不开)|希望|申请|问能不能|问能否|问可不可以|需要(?!的)|要求|要(?:改|换|办|申请|求)|盼着|急需"
NO_CONTENT = r"^(?:补记|入户|上门|去了|去的|电话问了下?|走了一趟|例行走访|上门回访|回访|走访|家访|登记一下)$"


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


def _categories(text: str, age: int | None, flags: set[str], subject_child: bool) -> list[str]:
    """The populations the person belongs to. One main group (the most specific), plus 低保对象."""
    has = {cat: bool(re.search(pattern, text)) for cat, pattern in lx.CATEGORY_PATTERNS.items()}
    elder = (age is not None and age >= 60) or bool(re.search(lx.ELDER_WORDS, text)) or "高龄" in flags
    if subject_child:
        if has["困境儿童"] or "监护缺失" in flags and not has["留守儿童"]:
            return ["困境儿童"]
        if has["留守儿童"]:
            return ["留守儿童"]
        return ["困境儿童"] if has["困难家庭"] else ["其他"]
    main = ""
    if has["孤寡老人"] and elder:
        main = "孤寡老人"
    elif has["易走失人员"]:
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
    return cats or ["其他"]


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

    # age: a piece near the person's name
    if subject is not None:
        idx = next(i for i, p in enumerate(live) if p.start <= subject.start < p.end)
        surname = subject.text.lstrip("老小")[:1]
        for p in live[idx:idx + 5]:
            rest = Piece(text[max(p.start, subject.end):p.end], max(p.start, subject.end), p.end) \
                if p.start <= subject.start < p.end else p
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
        if time_piece is not None and re.fullmatch(rf"(?:{VISIT_VERB}|去看|去看的|去的|看的|上门看了|上门)?的?", rest):
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
    record.categories = _categories(live_text, record.age, set(record.flags), subject_child) if (
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
