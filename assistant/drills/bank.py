"""The question (题目) and how a record from a file becomes one, with every problem said in Chinese.

A record is a dict as one line of a JSON Lines bank holds it (docs: README 题库文件格式)::

    {"id": "Q-FG-001", "stem": "…", "options": {"A": "…", "B": "…"}, "answer": "ACD",
     "explanation": "…", "subject": "…", "tags": ["…"], "source": "…",     # optional from here
     "type": "multiple", "level": "中级"}

Only id, stem, options (except for 判断题), answer and explanation are required. Without ``type``
the type follows from the record: options 正确/错误 make a 判断题, two or more answer letters a
多选题, else a 单选题. Spreadsheets give the same fields as columns (see ``bankfile.py``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field

SUBJECTS = ("社会工作综合能力", "社会工作实务", "社会工作法规与政策")
# Short forms people write in a spreadsheet's 科目 column
SUBJECT_ALIASES = {"综合能力": SUBJECTS[0], "综合": SUBJECTS[0], "实务": SUBJECTS[1],
                   "法规与政策": SUBJECTS[2], "法规": SUBJECTS[2], "法规政策": SUBJECTS[2]}
LEVELS = ("初级", "中级")
TYPES = ("single", "multiple", "judge")
TYPE_LABELS = {"single": "单选", "multiple": "多选", "judge": "判断"}
TYPE_ALIASES = {"单选": "single", "单选题": "single", "单项选择题": "single", "多选": "multiple",
                "多选题": "multiple", "多项选择题": "multiple", "判断": "judge", "判断题": "judge"}
JUDGE_OPTIONS = {"A": "正确", "B": "错误"}
# How people write a 判断题's answer instead of a letter
JUDGE_WORDS = {"正确": "A", "对": "A", "√": "A", "✓": "A", "T": "A", "TRUE": "A",
               "错误": "B", "错": "B", "×": "B", "✗": "B", "F": "B", "FALSE": "B"}
LETTERS = "ABCDEFGH"
MAX_ID = 64
MAX_STEM = 2000
MAX_OPTION = 500
MAX_TEXT = 4000
NO_SUBJECT = "未分科目"


class BankError(ValueError):
    """A record that cannot be a question; the message is Chinese and says what to fix."""


@dataclass
class Question:
    id: str
    type: str  # single | multiple | judge
    stem: str
    options: dict[str, str]
    answer: str  # the correct letters in order: "B", "ACD"
    explanation: str
    subject: str = ""
    level: str = ""
    tags: list[str] = field(default_factory=list)
    source: str = ""
    collection: str = ""  # which bank it came from: 示例题库, a file's name, 生成题
    # A generated question keeps the passage it was written from (knowledge base, chunk id and text).
    source_kb: str = ""
    source_chunk_id: int | None = None
    source_text: str = ""

    @property
    def type_label(self) -> str:
        return TYPE_LABELS[self.type]

    @property
    def points(self) -> float:
        """Full marks, as in the real exam: 单选 1, 多选 2; 判断 (not in the real exam) 1."""
        return 2.0 if self.type == "multiple" else 1.0

    def to_record(self) -> dict:
        """The JSON Lines form (the import layout; export writes this)."""
        record = {"id": self.id, "type": self.type, "subject": self.subject, "level": self.level, "tags": self.tags,
                  "stem": self.stem, "options": self.options, "answer": self.answer,
                  "explanation": self.explanation, "source": self.source}
        if self.source_text:
            record.update(source_kb=self.source_kb, source_chunk_id=self.source_chunk_id,
                          source_text=self.source_text)
        return record

    def public(self) -> dict:
        """What a trainee sees before answering: no answer, no explanation."""
        d = asdict(self)
        for key in ("answer", "explanation", "source_text"):
            d.pop(key)
        return d


def _clean(value) -> str:
    """A cell or JSON value as text: full-width letters and digits to ASCII, spaces trimmed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():  # a spreadsheet's 3 comes back as 3.0
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


def _text(record: dict, key: str, label: str, limit: int, required: bool = True) -> str:
    value = record.get(key)
    if value is not None and not isinstance(value, (str, int, float)):
        raise BankError(f"“{label}”应当是一段文字")
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise BankError(f"缺少“{label}”")
    if len(text) > limit:
        raise BankError(f"“{label}”太长（{len(text)} 字，最多 {limit} 字）")
    return text


def normalise_letters(value) -> str:
    """'a, c、D' / 'ＡＣＤ' -> 'ACD' (only letters kept; order and repeats are checked by the caller)."""
    return re.sub(r"[\s,，、;；/|]+", "", _clean(value)).upper()


def parse_tags(value) -> list[str]:
    """A list, or one text with tags separated by 、，,;；| or spaces."""
    items = value if isinstance(value, list) else re.split(r"[、，,;；|\s]+", _clean(value))
    tags = []
    for item in items:
        tag = _clean(item)
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def parse_subject(value) -> str:
    subject = _clean(value)
    if not subject:
        return ""
    subject = SUBJECT_ALIASES.get(subject, subject)
    if subject not in SUBJECTS:
        raise BankError(f"科目“{subject}”不对，可选：{'、'.join(SUBJECTS)}（也可以不填）")
    return subject


def parse_type(value) -> str:
    kind = _clean(value)
    kind = TYPE_ALIASES.get(kind, kind.lower())
    if kind and kind not in TYPES:
        raise BankError(f"题型“{_clean(value)}”不对，可选：单选（single）、多选（multiple）、判断（judge）")
    return kind


def parse_options(value) -> dict[str, str]:
    if not isinstance(value, dict):
        raise BankError("“选项”应当是字母到选项文字的对应，例如 {\"A\": \"……\", \"B\": \"……\"}")
    options: dict[str, str] = {}
    for key, text in value.items():
        letter = normalise_letters(key)
        body = _clean(text)
        if not body:
            continue  # a spreadsheet row with options A–D leaves 选项E empty
        if len(letter) != 1 or letter not in LETTERS:
            raise BankError(f"选项的标号“{key}”不对，只能用 A 到 H 的单个字母")
        if letter in options:
            raise BankError(f"选项 {letter} 出现了两次")
        if len(body) > MAX_OPTION:
            raise BankError(f"选项 {letter} 太长（{len(body)} 字，最多 {MAX_OPTION} 字）")
        options[letter] = body
    letters = "".join(sorted(options))
    if len(options) < 2:
        raise BankError("至少要有两个选项")
    if letters != LETTERS[: len(letters)]:
        raise BankError(f"选项要从 A 开始连续编号，现在是 {'、'.join(letters)}")
    if len(set(options.values())) < len(options):
        raise BankError("有两个选项的文字完全相同")
    return options


def parse_answer(value, options: dict[str, str], kind: str) -> str:
    raw = _clean(value)
    if kind == "judge" or options == JUDGE_OPTIONS:
        raw = JUDGE_WORDS.get(raw.upper(), raw)
    letters = normalise_letters(raw)
    if not letters:
        raise BankError("缺少“答案”")
    if not re.fullmatch(r"[A-Z]+", letters):
        raise BankError(f"答案“{raw}”应当是选项字母，例如 B 或 ACD")
    if len(set(letters)) < len(letters):
        raise BankError(f"答案“{raw}”中有重复的字母")
    missing = [ch for ch in letters if ch not in options]
    if missing:
        raise BankError(f"答案中的 {'、'.join(missing)} 不在选项里（选项只有 {'、'.join(options)}）")
    return "".join(sorted(letters))


def question_from_record(record: dict, collection: str = "") -> Question:
    """Validate one record; raises BankError with the first problem found."""
    if not isinstance(record, dict):
        raise BankError("每一行应当是一个 JSON 对象（{…}）")
    qid = _clean(record.get("id"))
    if not qid:
        raise BankError("缺少题号（id）")
    if len(qid) > MAX_ID or re.search(r"\s", qid):
        raise BankError(f"题号“{qid}”不能含空格，最长 {MAX_ID} 个字符")
    kind = parse_type(record.get("type"))
    raw_options = record.get("options")
    if kind == "judge" and not raw_options:
        raw_options = dict(JUDGE_OPTIONS)
    if raw_options is None:
        raise BankError("缺少“选项”")
    options = parse_options(raw_options)
    answer = parse_answer(record.get("answer"), options, kind)
    if not kind:
        kind = "judge" if options == JUDGE_OPTIONS else "multiple" if len(answer) > 1 else "single"
    if kind == "judge" and options != JUDGE_OPTIONS:
        raise BankError("判断题的选项应当是 A 正确、B 错误")
    if kind in ("single", "judge") and len(answer) != 1:
        raise BankError(f"{TYPE_LABELS[kind]}题只能有一个正确答案，现在是 {answer}")
    if kind == "multiple":
        if len(answer) < 2:
            raise BankError("多选题至少要有两个正确答案（只有一个正确答案请标为单选题）")
        if len(answer) == len(options):
            raise BankError("多选题不能所有选项都正确（考试的多选题至少有一个错项）")
    level = _clean(record.get("level"))
    if level and level not in LEVELS:
        raise BankError(f"级别“{level}”不对，可选：初级、中级（也可以不填）")
    tags = record.get("tags")
    if tags is not None and not isinstance(tags, (list, str)):
        raise BankError("“标签”应当是一组文字，例如 [\"个案工作\", \"接案\"]")
    return Question(
        id=qid, type=kind, options=options, answer=answer,
        stem=_text(record, "stem", "题干", MAX_STEM),
        explanation=_text(record, "explanation", "解析", MAX_TEXT),
        subject=parse_subject(record.get("subject")), level=level,
        tags=parse_tags(tags) if tags is not None else [],
        source=_text(record, "source", "来源", MAX_TEXT, required=False),
        collection=collection,
    )


def same_content(a: Question, b: Question) -> bool:
    """Two versions of one question say the same (re-importing an unchanged file changes nothing)."""
    return a.to_record() == b.to_record()
