"""A trainee's progress: answers and accuracy overall, by subject and by tag, from the answer history.

An answer counts as right only when it is wholly right (a 多选题 with options missing earns exam
points but is not "known"). Every answer counts, in practice, review and exams alike: accuracy
measures what the trainee got right, not how often a round was finished.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from assistant.drills.bank import NO_SUBJECT, SUBJECTS
from assistant.drills.store import DrillStore


@dataclass
class Tally:
    name: str
    answered: int = 0
    right: int = 0

    @property
    def accuracy(self) -> float:
        return self.right / self.answered if self.answered else 0.0

    def add(self, correct: bool) -> None:
        self.answered += 1
        self.right += bool(correct)


@dataclass
class Progress:
    total: Tally
    by_subject: list[Tally]
    by_tag: list[Tally]
    wrong_active: int
    wrong_due: int
    mastered: int
    last_answered: datetime | None = None
    recent: list[dict] = field(default_factory=list)  # the latest answers: question id, right or not, when

    def rows(self, kind: str = "subject") -> list[list]:
        """Table rows for the UI: name, answered, right, accuracy in %."""
        tallies = self.by_subject if kind == "subject" else self.by_tag
        return [[t.name, t.answered, t.right, round(100 * t.accuracy, 1)] for t in tallies]


def progress(store: DrillStore, user_id: str, now: datetime, recent: int = 10) -> Progress:
    bank = {q.id: q for q in store.all_questions()}
    total = Tally("全部")
    subjects: dict[str, Tally] = {}
    tags: dict[str, Tally] = {}
    rows = store.answer_rows(user_id)
    for r in rows:
        total.add(r.correct)
        q = bank.get(r.question_id)
        if q is None:
            continue  # removed from the bank: in the total, not in a subject or tag
        name = q.subject or NO_SUBJECT
        subjects.setdefault(name, Tally(name)).add(r.correct)
        for tag in q.tags:
            tags.setdefault(tag, Tally(tag)).add(r.correct)
    order = {s: i for i, s in enumerate(SUBJECTS)}
    by_subject = sorted(subjects.values(), key=lambda t: order.get(t.name, len(order)))
    by_tag = sorted(tags.values(), key=lambda t: (-t.answered, t.name))
    reviews = store.reviews(user_id, active_only=False)
    active = [r for r in reviews if r.mastered_at is None]
    return Progress(total=total, by_subject=by_subject, by_tag=by_tag, wrong_active=len(active),
                    wrong_due=sum(r.due_at <= now for r in active), mastered=len(reviews) - len(active),
                    last_answered=rows[-1].answered_at if rows else None,
                    recent=[{"question_id": r.question_id, "correct": r.correct, "mode": r.mode,
                             "answered_at": r.answered_at} for r in rows[-recent:][::-1]])
