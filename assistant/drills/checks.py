"""The checks a generated draft must pass, all against the passage it was written from.

- 格式: a valid question (stem, options from A, answer letters among them, an explanation);
- 正确项有依据: every correct option is supported by the passage: its content words are there, and every
  number with its unit ("六十周岁" is not supported by "八十周岁");
- 干扰项无依据: no distractor is supported the same way (else it may be a second right answer);
- 单选唯一: a 单选题 has one answer letter and only that option is supported;
- 正面问法: "下列不属于…的是" asks for what the passage does NOT say, which no check can confirm;
- 不泄题: the stem does not already contain the correct option's text;
- 不重复: the stem and answer are not those of a question already in the bank or in the queue.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass, field

from assistant.drills.bank import BankError, Question, question_from_record
# The verifier's word set and number parser: "supported by the passage" means here what it means when an
# answer is checked (negations folded together, filler words dropped, numbers compared with their unit).
from assistant.verify import quantities
from assistant.verify.attribution import _content_tokens
from shegong.chinese import words_only

SUPPORT = 0.6  # share of an option's content words the passage must have (eval/drills.py, 示例题库 calibration)
DUPLICATE = 0.8  # difflib ratio of stem + answer text above which two questions are the same question
NEGATIVE_STEM = re.compile(r"不属于|不正确|错误的是|不包括|不符合|说法错误|表述错误|有误|不是")


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
    answer_hidden: bool = True
    duplicate_of: str = ""
    answer: str = ""  # the draft's answer letters, to name the options a problem is about
    answerable: bool | None = None  # the second LLM pass (eval; optional in generation)

    @property
    def passed(self) -> bool:
        return (not self.format_error and self.correct_supported and self.distractors_unsupported
                and self.single_answer and self.positive_stem and self.answer_hidden and not self.duplicate_of)

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
        if not self.answer_hidden:
            out.append("题干里已经写出了正确答案")
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
    stem = words_only(question.stem)
    checks.answer_hidden = not any(len(option) >= 2 and option in stem
                                   for option in (words_only(question.options[ch]) for ch in question.answer))
    checks.duplicate_of = duplicate_of(question, existing)
    return checks, question


def _fingerprint(q: Question) -> str:
    return words_only(q.stem + "".join(q.options[ch] for ch in q.answer if ch in q.options))


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
