"""Scoring as the 社会工作者职业水平考试 scores its objective papers, and the 错题本's review schedule.

The exam (综合能力, 初级实务 and 法规与政策): 60 单项选择题 at 1 point and 20 多项选择题 at 2 points,
100 points a paper, 60 to pass. A 多选题 has two or more correct options and at least one wrong one.
Its rule, as the exam's published 计分标准 states it: "错选，本题不得分；少选，所选的每个选项得 0.5 分".
We follow it, partial credit included: a trainee is rehearsing the real paper, where choosing only
the options one is sure of is a strategy that earns points, so the mock exam must reward it the same.
In practice mode the feedback still marks such an answer 不完全正确 and it counts as wrong for the
错题本 and for accuracy, because the point there is to learn the whole answer.
判断题 are not in the real exam; they score 1 point like a 单选题 and the mock exam leaves them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from assistant.drills.bank import Question, normalise_letters

PASS_MARK = 60.0  # of 100, per paper
PARTIAL_POINT = 0.5  # per correct option chosen in an under-chosen 多选题


@dataclass(frozen=True)
class Mark:
    chosen: str
    points: float
    max_points: float

    @property
    def correct(self) -> bool:
        return self.points == self.max_points

    @property
    def verdict(self) -> str:
        if self.correct:
            return "正确"
        if not self.chosen:
            return "未作答"
        return "不完全正确" if self.points > 0 else "错误"


def clean_choice(question: Question, chosen) -> str:
    """The chosen letters in order, only those that are options ("ca" -> "AC"); a list works too."""
    if isinstance(chosen, (list, tuple, set)):
        chosen = "".join(str(c) for c in chosen)
    letters = normalise_letters(chosen or "")
    return "".join(sorted({ch for ch in letters if ch in question.options}))


def mark(question: Question, chosen) -> Mark:
    chosen = clean_choice(question, chosen)
    full = question.points
    if chosen == question.answer:
        return Mark(chosen, full, full)
    if question.type != "multiple" or not chosen or any(ch not in question.answer for ch in chosen):
        return Mark(chosen, 0.0, full)  # a wrong option anywhere: nothing for the question
    return Mark(chosen, PARTIAL_POINT * len(chosen), full)


def paper_score(points: float, max_points: float) -> float:
    """A paper's score on the exam's 100-point scale (a shorter mock exam is scaled up)."""
    return round(100.0 * points / max_points, 1) if max_points else 0.0


# ---------------------------------------------------------------- 错题本 schedule
@dataclass(frozen=True)
class Schedule:
    """A wrongly answered question comes back after ``intervals[stage]`` days; each right answer given
    when it is due moves it one stage on, a wrong answer anywhere starts it again at stage 0.
    After ``needed`` right answers in a row at review time it leaves the 错题本 (mastered)."""

    intervals: tuple[int, ...] = (1, 2, 4, 7, 15)
    needed: int = 3

    def __post_init__(self):
        if not self.intervals or any(d < 1 for d in self.intervals):
            raise ValueError("intervals must be whole days >= 1")
        if self.needed < 1:
            raise ValueError("needed must be >= 1")

    def due(self, stage: int, answered: datetime) -> datetime:
        """Days count by the calendar: a question due in 1 day is back at 0:00 the next day, whatever
        the hour it was answered (a trainee drilling at 19:00 tomorrow must find what went wrong at 20:00)."""
        days = self.intervals[min(stage, len(self.intervals) - 1)]
        return datetime.combine(answered.date() + timedelta(days=days), time())

    def due_label(self, due_at: datetime, today: date) -> str:
        days = (due_at.date() - today).days
        if days <= 0:
            return "今天复习"
        return "明天复习" if days == 1 else f"{days} 天后复习（{due_at:%m-%d}）"
