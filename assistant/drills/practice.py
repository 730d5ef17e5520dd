"""Practice rounds, 错题复习 and the 错题本 schedule, per trainee (keyed by user id).

A round is a stored session: its questions are fixed when it starts (a random order too), and its
position moves with each answer, so a trainee who closes the browser resumes where they left off.
Every answer is kept in the history. A wrong one puts the question in the 错题本, due again after the
schedule's first interval; answered right when due, it moves on a stage; ``Schedule.needed`` right
answers in a row take it out. The clock is injected, so the schedule is tested without waiting days.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from assistant.drills.bank import NO_SUBJECT, Question
from assistant.drills.scoring import Mark, Schedule, mark
from assistant.drills.store import DrillStore
from shegong.errors import UserError

Clock = Callable[[], datetime]
Related = Callable[[Question], list[dict]]
ORDERS = {"sequential": "顺序练习", "random": "随机练习"}
KIND_LABELS = {"practice": "练习", "review": "错题复习", "exam": "模拟考试"}


def local_now() -> datetime:
    """Naive local time: the 错题本 counts days as the trainee's calendar does."""
    return datetime.now().replace(microsecond=0)


@dataclass
class Feedback:
    """What a trainee sees right after answering."""

    question: Question
    mark: Mark
    review_note: str
    finished: bool
    position: int  # questions answered in this round so far
    total: int
    related: list[dict] = field(default_factory=list)


@dataclass
class SessionView:
    id: str
    kind: str
    title: str
    position: int
    total: int
    question: Question | None  # the current one; None once the round is over
    answers: dict[str, str]
    started_at: datetime
    deadline: datetime | None
    finished: bool
    result: dict | None = None

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]

    def remaining_s(self, now: datetime) -> int | None:
        return None if self.deadline is None else max(0, int((self.deadline - now).total_seconds()))


@dataclass
class WrongEntry:
    question: Question
    wrong_count: int
    streak: int
    due_at: datetime
    due: bool


class Practice:
    """Practice and review over a DrillStore. The exam (exam.py) and generation build on the same store."""

    def __init__(self, store: DrillStore, clock: Clock = local_now, schedule: Schedule | None = None,
                 related: Related | None = None):
        self.store = store
        self.clock = clock
        self.schedule = schedule or Schedule()
        self.related = related

    # ------------------------------------------------------------ the bank
    def questions(self, subject: str | None = None, tag: str | None = None, level: str | None = None) -> list[Question]:
        out = []
        for q in self.store.all_questions():
            if subject and (q.subject or NO_SUBJECT) != subject:
                continue
            if tag and tag not in q.tags:
                continue
            if level and q.level != level:
                continue
            out.append(q)
        return out

    def catalogue(self) -> dict[str, dict[str, int]]:
        """Subject -> tag -> number of questions (for the filters); "" counts a subject's questions."""
        out: dict[str, dict[str, int]] = {}
        for q in self.store.all_questions():
            tags = out.setdefault(q.subject or NO_SUBJECT, {"": 0})
            tags[""] += 1
            for tag in q.tags:
                tags[tag] = tags.get(tag, 0) + 1
        return out

    # ------------------------------------------------------------ rounds
    def start(self, user_id: str, *, subject: str | None = None, tag: str | None = None, level: str | None = None,
              order: str = "sequential", limit: int | None = None) -> SessionView:
        if order not in ORDERS:
            raise UserError(f"未知的练习方式：{order}（可选：sequential 顺序、random 随机）")
        chosen = self.questions(subject, tag, level)
        if not chosen:
            raise UserError("题库里没有符合条件的题目，请换一个科目或标签")
        ids = [q.id for q in chosen]
        if order == "random":
            random.Random().shuffle(ids)
        if limit:
            ids = ids[: max(1, int(limit))]
        title = "·".join(x for x in (ORDERS[order], subject, level, tag) if x) + f"（{len(ids)} 题）"
        sid = self.store.create_session(user_id, "practice", title, {"subject": subject, "tag": tag, "level": level,
                                                                     "order": order}, ids, self.clock())
        return self.view(user_id, sid)

    def start_review(self, user_id: str) -> SessionView:
        """A round of the 错题本 questions due now, the longest-waiting first."""
        now = self.clock()
        bank = {q.id for q in self.store.all_questions()}
        ids = [r.question_id for r in self.store.reviews(user_id) if r.due_at <= now and r.question_id in bank]
        if not ids:
            raise UserError("错题本里今天没有需要复习的题目")
        sid = self.store.create_session(user_id, "review", f"错题复习（{len(ids)} 题）", {}, ids, now)
        return self.view(user_id, sid)

    def view(self, user_id: str, session_id: str) -> SessionView:
        row = self.store.session(user_id, session_id)
        if row is None:
            raise UserError("找不到这次练习（可能不是本账号的练习）")
        ids = list(row.question_ids)
        current = None
        if row.finished_at is None and row.position < len(ids):
            current = self.store.get_questions([ids[row.position]]).get(ids[row.position])
            if current is None:
                current = self._skip_removed(row)
        return SessionView(id=row.id, kind=row.kind, title=row.title, position=row.position, total=len(ids),
                           question=current, answers=dict(row.answers), started_at=row.started_at,
                           deadline=row.deadline, finished=row.finished_at is not None or current is None,
                           result=row.result)

    def _skip_removed(self, row) -> Question | None:
        """A question removed from the bank since the round started is passed over."""
        ids = list(row.question_ids)
        bank = self.store.get_questions(ids[row.position:])
        position = next((i for i in range(row.position, len(ids)) if ids[i] in bank), len(ids))
        with self.store.engine.begin() as conn:
            values = {"position": position}
            if position >= len(ids):
                values["finished_at"] = self.clock()
            self.store.update_session(conn, row.id, row.position, **values)
        return bank.get(ids[position]) if position < len(ids) else None

    def resume(self, user_id: str) -> SessionView | None:
        """The latest unfinished practice or review round (exams: see Exams.resume)."""
        for row in self.store.sessions(user_id, unfinished=True):
            if row.kind in ("practice", "review"):
                view = self.view(user_id, row.id)
                if not view.finished:
                    return view
        return None

    def answer(self, user_id: str, session_id: str, question_id: str, chosen) -> Feedback:
        """Answer the round's current question; ``question_id`` guards against answering twice."""
        now = self.clock()
        with self.store.engine.begin() as conn:
            row = self.store.session(user_id, session_id, conn)
            if row is None or row.kind not in ("practice", "review"):
                raise UserError("找不到这次练习（可能不是本账号的练习）")
            ids = list(row.question_ids)
            if row.finished_at is not None or row.position >= len(ids):
                raise UserError("这次练习已经做完了，请开始新的练习")
            if ids[row.position] != question_id:
                raise UserError("这道题已经答过了，请看下一题")
            question = self.store.get_questions([question_id]).get(question_id)
            if question is None:
                raise UserError("这道题已从题库中删除，请看下一题")
            result = mark(question, chosen)
            if not result.chosen:
                raise UserError("请先选择答案")
            position = row.position + 1
            done = position >= len(ids)
            moved = self.store.update_session(conn, session_id, row.position, position=position, updated_at=now,
                                              answers={**row.answers, question_id: result.chosen},
                                              finished_at=now if done else None)
            if not moved:
                raise UserError("这道题已经答过了，请看下一题")
            self.record(conn, user_id, question, result, row.kind, session_id, now)
            note = self.update_review(conn, user_id, question.id, result.correct, now, due_only=True)
        related = self.related(question) if self.related else []
        return Feedback(question, result, note, done, position, len(ids), related)

    def record(self, conn, user_id: str, question: Question, result: Mark, mode: str, session_id: str | None,
               now: datetime) -> None:
        self.store.add_answer(conn, user_id=user_id, question_id=question.id, session_id=session_id, mode=mode,
                              chosen=result.chosen, correct=result.correct, points=result.points,
                              max_points=result.max_points, answered_at=now)

    # ------------------------------------------------------------ 错题本
    def update_review(self, conn, user_id: str, question_id: str, correct: bool, now: datetime,
                      due_only: bool = True) -> str:
        """Move the question's 错题本 entry; returns a note for the trainee ("" when it has none)."""
        row = self.store.review(conn, user_id, question_id)
        today = now.date()
        if not correct:
            due = self.schedule.due(0, now)
            self.store.put_review(conn, user_id, question_id, row is not None, stage=0, streak=0,
                                  wrong_count=(row.wrong_count if row else 0) + 1, due_at=due,
                                  added_at=row.added_at if row else now, last_at=now, mastered_at=None)
            return f"已记入错题本，{self.schedule.due_label(due, today)}"
        if row is None or row.mastered_at is not None:
            return ""
        if due_only and row.due_at > now:
            # Spacing is the point: a right answer the day after a wrong one proves little.
            return f"这道错题还没到复习时间，本次不计入复习进度（{self.schedule.due_label(row.due_at, today)}）"
        streak = row.streak + 1
        if streak >= self.schedule.needed:
            self.store.put_review(conn, user_id, question_id, True, streak=streak, last_at=now, mastered_at=now)
            return f"错题已连续答对 {streak} 次，移出错题本"
        stage = row.stage + 1
        due = self.schedule.due(stage, now)
        self.store.put_review(conn, user_id, question_id, True, stage=stage, streak=streak, due_at=due, last_at=now)
        return f"错题本：已连续答对 {streak}/{self.schedule.needed} 次，{self.schedule.due_label(due, today)}"

    def wrong_book(self, user_id: str) -> list[WrongEntry]:
        now = self.clock()
        rows = self.store.reviews(user_id)
        bank = self.store.get_questions([r.question_id for r in rows])
        return [WrongEntry(bank[r.question_id], r.wrong_count, r.streak, r.due_at, r.due_at <= now)
                for r in rows if r.question_id in bank]
