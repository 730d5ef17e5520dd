"""Questions drafted by the LLM from one knowledge-base passage, checked against that passage.

A 督导 picks a document or a tag; each chosen passage (chunk) gets one draft. The draft keeps the
chunk's knowledge base, id and text, so a reviewer sees exactly what it was written from. Checks,
all against the passage itself:

- 格式: a stem, options A–D (A–E for 多选), answer letters among them, an explanation;
- 正确项有依据: every correct option is supported by the passage (its content words are there,
  and every number with its unit: "六十周岁" is not supported by "八十周岁");
- 干扰项无依据: no distractor is supported the same way (else it is a second right answer);
- 单选唯一: a 单选题 has one answer letter and only that option is supported;
- 不重复: the stem and answer are not those of a question already in the bank or the queue.

Drafts that pass go to the review queue (pending); the others are kept as failed, with the reasons,
so a reviewer can fix one. Nothing enters the bank before a 督导 approves it (queue.py).
"""

from __future__ import annotations

import difflib
import random
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from assistant.drills.bank import BankError, Question, question_from_record
from assistant.llm.base import LLM, ChoiceScorer, Message, complete
# The verifier's word set and number parser: "supported by the passage" means here what it means when an
# answer is checked (negations folded together, filler words dropped, numbers compared with their unit).
from assistant.verify import NUMBER_WITH_UNIT, _content_tokens, quantities, repetition_start

PROMPTS = Path(__file__).parent / "prompts"
MIN_PASSAGE, MAX_PASSAGE = 40, 900  # characters: too short has nothing to ask, too long loses a small model
SUPPORT = 0.6  # share of an option's content words the passage must have (calibrated in eval/drills.py)
DUPLICATE = 0.8  # difflib ratio of stem + answer text above which two questions are the same question
KIND_LABELS = {"single": "单项选择题", "multiple": "多项选择题"}
# "下列不属于…的是": the right option is the one the passage does NOT say, which no check against the passage
# can confirm; such drafts are sent back for a positive wording.
NEGATIVE_STEM = re.compile(r"不属于|不正确|错误的是|不包括|不符合|说法错误|表述错误|有误|不是")


@lru_cache(maxsize=None)
def prompt(name: str) -> str:
    return (PROMPTS / name).read_text(encoding="utf-8").strip()


@dataclass
class Passage:
    """The chunk a draft is written from."""

    kb: str
    chunk_id: int
    text: str
    title: str
    location: str
    doc_type: str = ""

    def label(self) -> str:
        return f"《{self.title}》{self.location}".strip()

    def prompt_text(self) -> str:
        return f"{self.label()}：{self.text.strip()}"

    @classmethod
    def from_hit(cls, hit) -> "Passage":
        return cls(kb=hit.kb, chunk_id=hit.chunk_id, text=hit.text, title=hit.title, location=hit.location,
                   doc_type=hit.doc_type)


_DUTY = re.compile(r"应当|不得|禁止|有权|负责|可以申请|由.{1,12}(?:提出|决定|审批|确认)")
_ITEM = re.compile(r"^\s*[（(][一二三四五六七八九十]+[)）]", re.M)


def usable(text: str) -> bool:
    """A passage worth a question: not too short or long, and with a fact to ask about (a number with its
    unit, a duty or a right, a list). A law's first article ("为了……，制定本法") has none of these."""
    text = text.strip()
    if not MIN_PASSAGE <= len(text) <= MAX_PASSAGE:
        return False
    return bool(NUMBER_WITH_UNIT.search(text) or _DUTY.search(text) or _ITEM.search(text))


def spread(items: list, n: int) -> list:
    """``n`` items spread evenly over the list (a document's passages from start to end, not its first n)."""
    if len(items) <= n:
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


# ---------------------------------------------------------------- drafting
def draft_messages(passage: Passage, kind: str = "single") -> list[Message]:
    """The instructions, one worked example as an earlier turn (a 1.5B model copies the passage into all
    four options without it), then the passage."""
    example, answer = prompt(f"example_{kind}.txt").split("=====")
    ask = prompt(f"draft_{kind}.txt")
    return [{"role": "system", "content": prompt("system.txt")},
            {"role": "user", "content": ask.format(passage=example.strip())},
            {"role": "assistant", "content": answer.strip()},
            {"role": "user", "content": ask.format(passage=passage.prompt_text())}]


_FIELD = re.compile(r"^\s*(?:\*\*)?(题干|题目|答案|正确答案|解析)(?:\*\*)?\s*[:：]\s*(.*)$")
_OPTION = re.compile(r"^\s*(?:\*\*)?([A-Ea-e])(?:\*\*)?\s*[.．、:：)）]\s*(.+?)\s*$")


def parse_draft(text: str, kind: str = "single") -> dict:
    """The model's text -> a bank record (without id); BankError when a part is missing."""
    record: dict = {"options": {}}
    current = None
    for line in text.replace("\r", "").split("\n"):
        m = _FIELD.match(line)
        if m:
            name = {"题目": "stem", "题干": "stem", "答案": "answer", "正确答案": "answer", "解析": "explanation"}[m[1]]
            if name in record:  # a second question after the first: ignore the rest
                break
            record[name] = m[2].strip()
            current = name
            continue
        m = _OPTION.match(line)
        if m and current in ("stem", "option") and "answer" not in record:
            record["options"][m[1].upper()] = m[2]
            current = "option"
            continue
        if line.strip() and current in ("stem", "explanation"):
            record[current] += line.strip()
    if not record.get("stem"):
        raise BankError("模型的输出里没有“题干”")
    if "answer" in record:
        record["answer"] = re.sub(r"[^A-Ea-e]", "", record["answer"].split("。")[0])[:5]
    record["type"] = kind
    return record


def shuffle_options(record: dict, rng: random.Random) -> dict:
    """Small models put the right answer under A far too often: the options are shuffled (and the
    letters in the answer and the explanation follow)."""
    letters = sorted(record["options"])
    order = letters[:]
    rng.shuffle(order)
    new_of = {old: new for new, old in zip(letters, order)}
    options = {new: record["options"][old] for new, old in zip(letters, order)}
    answer = "".join(sorted(new_of[ch] for ch in record.get("answer", "") if ch in new_of))
    explanation = re.sub(r"(?<![A-Za-z])([A-E])(?![A-Za-z])", lambda m: new_of.get(m[1], m[1]),
                         record.get("explanation", ""))
    return dict(record, options=options, answer=answer, explanation=explanation)


# ---------------------------------------------------------------- checks
@dataclass
class OptionSupport:
    letter: str
    coverage: float  # share of the option's content words found in the passage
    numbers_ok: bool  # every number-with-unit of the option is in the passage
    supported: bool


@dataclass
class DraftChecks:
    format_error: str = ""
    options: list[OptionSupport] = field(default_factory=list)
    correct_supported: bool = False
    distractors_unsupported: bool = False
    single_answer: bool = True
    positive_stem: bool = True
    duplicate_of: str = ""
    answer: str = ""  # the draft's answer letters, to name the options a problem is about
    answerable: bool | None = None  # the second LLM pass (eval; optional in generation)

    @property
    def passed(self) -> bool:
        return (not self.format_error and self.correct_supported and self.distractors_unsupported
                and self.single_answer and self.positive_stem and not self.duplicate_of)

    def problems(self) -> list[str]:
        if self.format_error:
            return [f"格式不对：{self.format_error}"]
        out = []
        answer = set(self.answer)
        if not self.correct_supported:
            out.append("正确选项在原文中找不到依据：" + "、".join(sorted(o.letter for o in self.options
                                                                 if o.letter in answer and not o.supported)))
        if not self.distractors_unsupported:
            out.append("错误选项也能在原文中找到依据（可能不止一个正确答案）：" + "、".join(
                o.letter for o in self.options if o.letter not in answer and o.supported))
        if not self.single_answer:
            out.append("单选题应当只有一个正确答案")
        if not self.positive_stem:
            out.append("题干是否定问法（如“不属于”“错误的是”），无法用原文核对，请改成正面问法")
        if self.duplicate_of:
            out.append(f"与已有题目重复：{self.duplicate_of}")
        return out

    def to_json(self) -> dict:
        d = asdict(self)
        d["passed"] = self.passed
        d["problems"] = self.problems()
        return d


def option_support(option: str, passage: str, stem: str = "") -> tuple[float, bool]:
    """(coverage, numbers_ok) of one option against the passage. Words the stem already has do not
    count: "老年人是指____以上的公民" makes every option share 老年人 and 公民 with the passage."""
    words = _content_tokens(option) - _content_tokens(stem)
    if not words:
        words = _content_tokens(option)
    found = _content_tokens(passage)
    # jieba cuts the same phrase differently in different contexts ("五至九人" alone vs "共五至九人组成"):
    # a word written out in the passage counts as found too. 〈不得〉 stands for any negation and is a token only.
    plain = re.sub(r"\s+", "", passage)
    hits = [w for w in words if w in found or (not w.startswith("〈") and w in plain)]
    coverage = len(hits) / len(words) if words else 0.0
    evidence = quantities(passage)
    values = {v for v, _ in evidence}
    numbers_ok = all(q in evidence if q[1] is not None else q[0] in values for q in quantities(option))
    return coverage, numbers_ok


def check_draft(record: dict, passage: str, existing: list[Question] = ()) -> tuple[DraftChecks, Question | None]:
    """Run every check; the question is None when the record is not even a valid question."""
    checks = DraftChecks()
    record = dict(record, id=record.get("id") or "draft")
    if record.get("type") == "single" and len(re.sub(r"[^A-Za-z]", "", str(record.get("answer", "")))) > 1:
        # Asked for one answer, the model gave several: the rest of the checks still say what holds.
        checks.single_answer = False
        record["type"] = "multiple"
    try:
        question = question_from_record(record)
    except BankError as e:
        checks.format_error = str(e)
        return checks, None
    if question.type == "judge":
        checks.format_error = "生成的题目应当是单选题或多选题"
        return checks, None
    checks.answer = question.answer
    for letter, text in question.options.items():
        coverage, numbers_ok = option_support(text, passage, question.stem)
        checks.options.append(OptionSupport(letter, round(coverage, 3), numbers_ok,
                                            coverage >= SUPPORT and numbers_ok))
    supported = {o.letter for o in checks.options if o.supported}
    checks.correct_supported = set(question.answer) <= supported
    checks.distractors_unsupported = not (supported - set(question.answer))
    if question.type == "single":
        checks.single_answer = len(supported) <= 1
    checks.positive_stem = not NEGATIVE_STEM.search(question.stem)
    checks.duplicate_of = duplicate_of(question, existing)
    return checks, question


def _fingerprint(q: Question) -> str:
    text = q.stem + "".join(q.options[ch] for ch in q.answer if ch in q.options)
    return re.sub(r"[\W_]+", "", text)


def duplicate_of(question: Question, existing: list[Question]) -> str:
    mine = _fingerprint(question)
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(mine)
    for other in existing:
        if other.id == question.id:
            continue
        matcher.set_seq1(_fingerprint(other))
        if matcher.real_quick_ratio() >= DUPLICATE and matcher.quick_ratio() >= DUPLICATE \
                and matcher.ratio() >= DUPLICATE:
            return other.id
    return ""


# ---------------------------------------------------------------- the second pass
def solve(llm: LLM, question: Question, passage: str) -> str:
    """The model answers the question from the passage alone; its letters ("" if it gives none)."""
    options = "\n".join(f"{ch}. {text}" for ch, text in question.options.items())
    body = prompt("solve.txt").format(kind=KIND_LABELS.get(question.type, "选择题"), passage=passage,
                                      stem=question.stem, options=options)
    messages: list[Message] = [{"role": "system", "content": prompt("system.txt")},
                               {"role": "user", "content": body}]
    if question.type == "single" and isinstance(llm, ChoiceScorer):
        # One prompt pass, no sampling: the letter the model finds most likely.
        scores = llm.choice_logprobs(messages, list(question.options))
        return max(scores, key=scores.get)
    reply = complete(llm, messages, max_tokens=12, temperature=0.0)
    letters = re.findall(r"(?<![A-Za-z])([A-E])(?![A-Za-z])", reply.upper())
    return "".join(sorted(set(letters) & set(question.options)))


_EXPLANATION_DONE = re.compile(r"解析[:：][^\n]{8,}\n")


def _generate(llm: LLM, messages: list[Message], max_tokens: int) -> str:
    """The draft's text, stopped once the explanation line is complete or the model starts looping
    (a small model may go on with a second question, or repeat one sentence until max_tokens)."""
    pieces: list[str] = []
    stream = llm.stream(messages, max_tokens=max_tokens, temperature=0.2)
    try:
        for piece in stream:
            pieces.append(piece)
            text = "".join(pieces)
            if _EXPLANATION_DONE.search(text) or ("\n" in piece or "。" in piece) and repetition_start(text) is not None:
                break
    finally:
        close = getattr(stream, "close", None)
        if close:
            close()  # frees the backend at once (llama.cpp's lock, an HTTP stream)
    return "".join(pieces)


@dataclass
class Draft:
    passage: Passage
    raw: str
    record: dict
    checks: DraftChecks
    question: Question | None


def draft_question(llm: LLM, passage: Passage, existing: list[Question] = (), kind: str = "single",
                   max_tokens: int = 400, second_pass: bool = False) -> Draft:
    """One draft from one passage, checked (and, with ``second_pass``, answered by the model)."""
    raw = _generate(llm, draft_messages(passage, kind), max_tokens)
    try:
        record = parse_draft(raw, kind)
    except BankError as e:
        checks = DraftChecks(format_error=str(e))
        return Draft(passage, raw, {"type": kind, "stem": "", "options": {}, "answer": "", "explanation": ""},
                     checks, None)
    if len(record["options"]) >= 2:
        record = shuffle_options(record, random.Random(f"{passage.kb}:{passage.chunk_id}"))
    checks, question = check_draft(record, passage.text, existing)
    if second_pass and checks.passed and question is not None:
        checks.answerable = solve(llm, question, passage.prompt_text()) == question.answer
    return Draft(passage, raw, record, checks, question)
