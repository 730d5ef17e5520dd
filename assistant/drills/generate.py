"""Questions drafted by the LLM from one knowledge-base passage (chunk).

A 1.5B model asked for a whole question at once mostly copies the passage into four identical options
(the trial is in eval/README.md), so drafting is split into two small tasks, each shown one worked
example as an earlier turn:

1. the key sentence of the passage (the one with a number, a duty or a list) goes to the model, which
   blanks one key phrase out of it ("社区长者食堂为（ ）以上老年人提供午餐") and gives that phrase as the
   answer (for a 多选题: asks for the items the passage lists and gives two to four of them);
2. the model writes distractors of the same kind for that stem and answer; repeats and copies of the
   answer are dropped.

The options are shuffled (the answer would otherwise always be A) and the explanation quotes the
key sentence, so it says only what the source says. The draft keeps its passage; checks.py decides
whether it goes to the review queue.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from assistant.drills.bank import BankError, Question
from assistant.drills.checks import DraftChecks, check_draft
from assistant.llm.base import LLM, ChoiceScorer, Message, complete
from assistant.verify import NUMBER_WITH_UNIT
from shegong.chinese import words_only

PROMPTS = Path(__file__).parent / "prompts"
MIN_PASSAGE, MAX_PASSAGE = 40, 900  # characters: too short has nothing to ask, too long loses a small model
MAX_FOCUS = 300  # characters of a passage a 多选题 is drafted from
KIND_LABELS = {"single": "单项选择题", "multiple": "多项选择题"}
DISTRACTORS = {"single": 3, "multiple": 2}  # 单选 A–D; 多选: with its 2–3 answers, 4–5 options
_DUTY = re.compile(r"应当|不得|禁止|有权|负责|可以申请|由.{1,12}(?:提出|决定|审批|确认)")
_ITEM = re.compile(r"^\s*[（(][一二三四五六七八九十]+[)）]", re.M)
_LABEL = re.compile(r"^\s*第[零〇一二三四五六七八九十百千]+条\s*")
_LIST_MARK = re.compile(r"^\s*(?:\d+[.、．]|[（(][一二三四五六七八九十\d]+[)）]|[-•·])\s*")


@lru_cache(maxsize=None)
def prompt(name: str) -> tuple[str, ...]:
    """A prompt file: the instruction, then (after =====) an example input and its answer."""
    return tuple(part.strip() for part in (PROMPTS / name).read_text(encoding="utf-8").split("====="))


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


def usable(text: str) -> bool:
    """A passage worth a question: not too short or long, and with a fact to ask about (a number with its
    unit, a duty or a right, a list). A law's first article ("为了……，制定本法") has none of these."""
    text = text.strip()
    if not MIN_PASSAGE <= len(text) <= MAX_PASSAGE:
        return False
    return bool(NUMBER_WITH_UNIT.search(text) or _DUTY.search(text) or _ITEM.search(text))


def spread(items: list, n: int, offset: float = 0.0) -> list:
    """``n`` items spread evenly over the list (a document's passages from start to end, not its first n);
    ``offset`` (0–1) shifts every pick by that part of a step (0.5: the items between the default picks)."""
    if len(items) <= n:
        return list(items)
    step = len(items) / n
    return [items[int((i + offset) * step)] for i in range(n)]


def key_sentence(text: str) -> str:
    """The sentence of a passage a 单选题 asks about: one with a number and its unit, else a duty, of
    a readable length (the article's own number and list marks left out)."""
    body = _LABEL.sub("", text.strip())
    sentences = [_LIST_MARK.sub("", s).strip() for s in re.split(r"(?<=[。；！？])|\n", body)]
    sentences = [s for s in sentences if len(s) >= 10]
    if not sentences:
        return body

    def score(s: str) -> int:
        # A line that ends in "：" only introduces a list ("有下列行为之一的，处……："): alone it is half a fact,
        # and the model, shown it, tends to stop after the stem.
        return (3 * bool(NUMBER_WITH_UNIT.search(s)) + 2 * bool(_DUTY.search(s)) + (12 <= len(s) <= 100)
                - 4 * s.rstrip().endswith(("：", ":")))

    return max(sentences, key=score)  # max keeps the first of equals: the passage's main statement


def focus_text(text: str) -> str:
    """What a 多选题 is drafted from: the passage without its article number, cut at a sentence end."""
    body = _LABEL.sub("", text.strip())
    if len(body) <= MAX_FOCUS:
        return body
    cut = max(body.rfind(ch, 0, MAX_FOCUS) for ch in "。；\n")
    return body[: cut + 1] if cut > 0 else body[:MAX_FOCUS]


# ---------------------------------------------------------------- drafting
def _turns(name: str, example_fields: dict, fields: dict) -> list[Message]:
    instruction, example, answer = prompt(name)
    return [{"role": "system", "content": prompt("system.txt")[0]},
            {"role": "user", "content": instruction.format(**example_fields)},
            {"role": "assistant", "content": answer},
            {"role": "user", "content": instruction.format(**fields)}]


def _strip(text: str) -> str:
    """Without the quotes and the closing punctuation a model adds around a phrase: “六十周岁”。 -> 六十周岁."""
    return re.sub(r"^[\s“”\"'「」]+|[\s“”\"'「」。；;，,]+$", "", text)


def _numbered(text: str) -> list[str]:
    return [_strip(_LIST_MARK.sub("", line)) for line in text.splitlines() if _LIST_MARK.match(line)]


def parse_stem(text: str, kind: str) -> tuple[str, list[str]]:
    """Step 1's reply -> (stem, correct options); BankError when either is missing."""
    stem = re.search(r"题干[:：][ \t]*(.+)", text)
    if not stem or not _strip(stem[1]):
        raise BankError("模型的输出里没有“题干”")
    after = text[stem.end():]
    answer = re.search(r"正确答案[:：][ \t]*(.*)", after)
    if not answer:
        raise BankError("模型的输出里没有“正确答案”")
    if kind == "single":
        answers = [_strip(answer[1])] if _strip(answer[1]) else []
    else:
        answers = _numbered(after[answer.end():]) or [_strip(a) for a in re.split(r"[、；;]", answer[1]) if _strip(a)]
    answers = list(dict.fromkeys(a for a in answers if a))
    if not answers:
        raise BankError("模型没有给出正确答案")
    return _LIST_MARK.sub("", stem[1].strip()).strip(), answers


def pick_distractors(text: str, answers: list[str], n: int) -> list[str]:
    """Step 2's reply -> the first ``n`` distractors that are neither an answer nor a repeat."""
    seen = {words_only(a) for a in answers}
    out = []
    for item in _numbered(text):
        key = words_only(item)
        if key and key not in seen and len(item) <= 3 * max(len(a) for a in answers) + 10:
            seen.add(key)
            out.append(item)
    return out[:n]


def shuffle_options(record: dict, rng: random.Random) -> dict:
    """The options in a random order, the answer letters following them."""
    letters = sorted(record["options"])
    order = letters[:]
    rng.shuffle(order)
    new_of = {old: new for new, old in zip(letters, order)}
    options = {new: record["options"][old] for new, old in zip(letters, order)}
    answer = "".join(sorted(new_of[ch] for ch in record.get("answer", "") if ch in new_of))
    return dict(record, options=options, answer=answer)


@dataclass
class Draft:
    passage: Passage
    raw: str  # the model's replies, for the reviewer and the eval
    record: dict
    checks: DraftChecks
    question: Question | None


def draft_record(llm: LLM, passage: Passage, kind: str = "single") -> tuple[dict, str]:
    """The two model steps -> a bank record (without id) and the model's raw replies."""
    if kind == "single":
        source = key_sentence(passage.text)
        example = {"text": prompt("stem_single.txt")[1]}
    else:
        source = focus_text(passage.text)
        example = {"text": prompt("stem_multiple.txt")[1]}
    first = complete(llm, _turns(f"stem_{kind}.txt", example, {"text": source}), max_tokens=200, temperature=0.2)
    try:
        stem, answers = parse_stem(first, kind)
        if kind == "multiple" and len(answers) < 2:
            raise BankError("模型只给出了一个正确答案，不够出多选题")
    except BankError as e:
        e.raw = first  # kept for the reviewer and the eval
        raise
    answers = answers[:4]
    n = DISTRACTORS[kind] + (1 if kind == "multiple" and len(answers) == 2 else 0)
    ex_stem, ex_answer = re.findall(r"[:：]\s*(.+)", prompt("distractors.txt")[1])
    second = complete(llm, _turns("distractors.txt", {"stem": ex_stem, "answer": ex_answer, "n": 5},
                                  {"stem": stem, "answer": "；".join(answers), "n": n + 2}),
                      max_tokens=160, temperature=0.5)
    distractors = pick_distractors(second, answers, n)
    if len(distractors) < n:
        error = BankError(f"模型给出的可用错误选项不够（需要 {n} 个，只有 {len(distractors)} 个）")
        error.raw = f"{first}\n——\n{second}"
        raise error
    options = dict(zip("ABCDE", answers + distractors))
    explanation = f"依据{passage.label()}：“{source}”正确答案是“{'、'.join(answers)}”，其余选项与原文不符。"
    record = {"type": kind, "stem": stem, "options": options, "answer": "ABCD"[: len(answers)],
              "explanation": explanation}
    return record, f"{first}\n——\n{second}"


def draft_question(llm: LLM, passage: Passage, existing: list[Question] = (), kind: str = "single",
                   second_pass: bool = False) -> Draft:
    """One draft from one passage, checked (and, with ``second_pass``, answered by the model)."""
    if kind not in KIND_LABELS:
        raise ValueError(kind)
    try:
        record, raw = draft_record(llm, passage, kind)
    except BankError as e:
        empty = {"type": kind, "stem": "", "options": {}, "answer": "", "explanation": ""}
        return Draft(passage, getattr(e, "raw", ""), empty, DraftChecks(format_error=str(e)), None)
    record = shuffle_options(record, random.Random(f"{passage.kb}:{passage.chunk_id}"))
    checks, question = check_draft(record, passage.text, existing)
    if second_pass and checks.passed and question is not None:
        checks.answerable = solve(llm, question, passage.prompt_text()) == question.answer
    return Draft(passage, raw, record, checks, question)


# ---------------------------------------------------------------- the second pass
def solve(llm: LLM, question: Question, passage: str) -> str:
    """The model answers the question from the passage alone; its letters ("" if it gives none)."""
    options = "\n".join(f"{ch}. {text}" for ch, text in question.options.items())
    body = prompt("solve.txt")[0].format(kind=KIND_LABELS.get(question.type, "选择题"), passage=passage,
                                         stem=question.stem, options=options)
    messages: list[Message] = [{"role": "system", "content": prompt("system.txt")[0]},
                               {"role": "user", "content": body}]
    if question.type == "single" and isinstance(llm, ChoiceScorer):
        # One prompt pass, no sampling: the letter the model finds most likely.
        scores = llm.choice_logprobs(messages, list(question.options))
        return max(scores, key=scores.get)
    reply = complete(llm, messages, max_tokens=12, temperature=0.0)
    return reply_letters(reply, question.options)


def reply_letters(reply: str, options) -> str:
    """The option letters a reply gives: "ABC", "A、C", "答案：B D" alike; letters inside words do not count."""
    reply = re.sub(r"(?<=[A-E])[\s、,，/和]+(?=[A-E](?![A-Z]))", "", reply.strip().upper())  # "A、C" is "AC"
    run = re.match(r"(?:答案[:：]?\s*)?([A-E]+)(?![A-Z])", reply)  # a bare run of letters first, as asked
    letters = set(run.group(1)) if run else set("".join(re.findall(r"(?<![A-Z])([A-E]+)(?![A-Z])", reply)))
    return "".join(sorted(letters & set(options)))
