"""模拟考试: a timed paper per subject in the real exam's format, scored by its rules, reviewable after.

The real objective papers have 60 单选 + 20 多选 (a quarter of the questions are 多选) in 120 minutes,
1.5 minutes a question. A mock exam takes ``per_subject`` questions from each chosen subject in that
mix (判断题 are not in the real exam and are left out), with the same time per question unless a
limit is given. Answers can be changed until the paper is submitted; once the time is up the paper
is submitted as it stands: an answer sent later is refused and not counted.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from assistant.drills.bank import SUBJECTS, Question
from assistant.drills.practice import Practice, SessionView
from assistant.drills.scoring import PASS_MARK, Mark, clean_choice, mark, paper_score
from shegong.errors import UserError

MINUTES_PER_QUESTION = 1.5
MULTIPLE_SHARE = 0.25
MAX_PER_SUBJECT = 100


class ExamClosed(UserError):
    """The time was up: the paper has been submitted."""


@dataclass
class ExamConfig:
    per_subject: int = 20
    subjects: tuple[str, ...] = SUBJECTS
    minutes: float | None = None  # None: 1.5 minutes a question, as in the real exam
    level: str | None = None

    def check(self) -> None:
        if not 1 <= self.per_subject <= MAX_PER_SUBJECT:
            raise UserError(f"每科题数应在 1 到 {MAX_PER_SUBJECT} 之间")
        if not self.subjects:
            raise UserError("请至少选择一个科目")
        unknown = [s for s in self.subjects if s not in SUBJECTS]
        if unknown:
            raise UserError(f"没有这个科目：{'、'.join(unknown)}")
        if self.minutes is not None and not 1 <= self.minutes <= 600:
            raise UserError("考试时间应在 1 到 600 分钟之间")


@dataclass
class ExamItem:
    question: Question
    mark: Mark


@dataclass
class ExamReport:
    session: SessionView
    result: dict
    items: list[ExamItem] = field(default_factory=list)


def pick_paper(bank: list[Question], config: ExamConfig, rng: random.Random) -> tuple[list[str], list[str]]:
    """Question ids per subject (单选 first, then 多选, as the paper is printed) and notes on shortfalls."""
    ids, notes = [], []
    for subject in config.subjects:
        pool = [q for q in bank if q.subject == subject and q.type != "judge"
                and (not config.level or q.level == config.level)]
        singles = [q for q in pool if q.type == "single"]
        multiples = [q for q in pool if q.type == "multiple"]
        want_multi = round(config.per_subject * MULTIPLE_SHARE)
        n_multi = min(want_multi, len(multiples))
        n_single = min(config.per_subject - n_multi, len(singles))
        n_multi = min(config.per_subject - n_single, len(multiples))  # too few 单选: more 多选
        if n_single + n_multi < config.per_subject:
            notes.append(f"{subject}只有 {n_single + n_multi} 道可用的选择题，少于设定的 {config.per_subject} 道")
        ids += [q.id for q in rng.sample(singles, n_single)] + [q.id for q in rng.sample(multiples, n_multi)]
    return ids, notes


class Exams:
    def __init__(self, practice: Practice):
        self.practice = practice
        self.store = practice.store

    @property
    def clock(self):
        return self.practice.clock

    def start(self, user_id: str, config: ExamConfig | None = None) -> tuple[SessionView, list[str]]:
        config = config or ExamConfig()
        config.check()
        ids, notes = pick_paper(self.store.all_questions(), config, random.Random())
        if not ids:
            raise UserError("题库里没有可用于模拟考试的选择题（单选、多选），请先导入题库")
        minutes = config.minutes or math.ceil(len(ids) * MINUTES_PER_QUESTION)
        now = self.clock()
        title = f"模拟考试·{'、'.join(s.removeprefix('社会工作') for s in config.subjects)}（{len(ids)} 题，{minutes:g} 分钟）"
        sid = self.store.create_session(user_id, "exam", title, {"per_subject": config.per_subject,
                                                                 "subjects": list(config.subjects),
                                                                 "minutes": minutes, "level": config.level},
                                        ids, now, deadline=now + timedelta(minutes=minutes))
        return self.view(user_id, sid), notes

    def view(self, user_id: str, session_id: str, index: int | None = None) -> SessionView:
        """The paper at question ``index`` (remembered, for resuming); submitted first if the time is up."""
        row = self._row(user_id, session_id)
        if row.finished_at is None and self.clock() >= row.deadline:
            self.submit(user_id, session_id)
        elif row.finished_at is None and index is not None:
            index = max(0, min(int(index), len(row.question_ids) - 1))
            with self.store.engine.begin() as conn:
                self.store.update_session(conn, session_id, unfinished=True, position=index)
        row = self._row(user_id, session_id)
        ids = list(row.question_ids)
        position = min(row.position, len(ids) - 1)
        question = self.store.get_questions([ids[position]]).get(ids[position])
        return SessionView(id=row.id, kind="exam", title=row.title, position=position, total=len(ids),
                           question=question, answers=dict(row.answers), started_at=row.started_at,
                           deadline=row.deadline, finished=row.finished_at is not None, result=row.result)

    def _row(self, user_id: str, session_id: str):
        row = self.store.session(user_id, session_id)
        if row is None or row.kind != "exam":
            raise UserError("找不到这场模拟考试（可能不是本账号的考试）")
        return row

    def save_answer(self, user_id: str, session_id: str, question_id: str, chosen) -> str:
        """Keep (or change) one answer on the paper; returns the letters kept."""
        row = self._row(user_id, session_id)
        if row.finished_at is not None:
            raise UserError("这场模拟考试已经交卷，不能再修改答案")
        if self.clock() >= row.deadline:
            self.submit(user_id, session_id)
            raise ExamClosed("考试时间已到，已自动交卷；这一题的答案是在时间到了之后提交的，没有计入")
        ids = list(row.question_ids)
        if question_id not in ids:
            raise UserError("这道题不在本场考试的试卷里")
        question = self.store.get_questions([question_id]).get(question_id)
        letters = clean_choice(question, chosen) if question else ""
        answers = dict(row.answers)
        if letters:
            answers[question_id] = letters
        else:
            answers.pop(question_id, None)  # cleared: counts as not answered
        with self.store.engine.begin() as conn:
            if not self.store.update_session(conn, session_id, unfinished=True, answers=answers,
                                             position=ids.index(question_id), updated_at=self.clock()):
                raise UserError("这场模拟考试已经交卷，不能再修改答案")
        return letters

    def submit(self, user_id: str, session_id: str) -> ExamReport:
        """Score the paper (once); answered questions go to the history and, if wrong, to the 错题本."""
        now = self.clock()
        with self.store.engine.begin() as conn:
            row = self.store.session(user_id, session_id, conn)
            if row is None or row.kind != "exam":
                raise UserError("找不到这场模拟考试（可能不是本账号的考试）")
            if row.finished_at is None:
                ended = min(now, row.deadline)
                bank = self.store.get_questions(list(row.question_ids))
                result = self._score(row, bank, ended)
                # Only the first submission writes: a second request sees finished_at set and writes nothing.
                if self.store.update_session(conn, session_id, unfinished=True, finished_at=ended,
                                             updated_at=now, result=result):
                    for qid, chosen in row.answers.items():
                        if qid in bank:
                            m = mark(bank[qid], chosen)
                            self.practice.record(conn, user_id, bank[qid], m, "exam", session_id, ended)
                            self.practice.update_review(conn, user_id, qid, m.correct, ended)
        return self.report(user_id, session_id)

    @staticmethod
    def _score(row, bank: dict[str, Question], ended: datetime) -> dict:
        subjects: dict[str, dict] = {}
        total = {"points": 0.0, "max_points": 0.0}
        for qid in row.question_ids:
            q = bank.get(qid)
            if q is None:
                continue  # removed from the bank since: not scored
            m = mark(q, row.answers.get(qid, ""))
            s = subjects.setdefault(q.subject, {"subject": q.subject, "points": 0.0, "max_points": 0.0,
                                                "count": 0, "answered": 0, "right": 0})
            s["points"] += m.points
            s["max_points"] += m.max_points
            s["count"] += 1
            s["answered"] += bool(m.chosen)
            s["right"] += m.correct
            total["points"] += m.points
            total["max_points"] += m.max_points
        for s in [*subjects.values(), total]:
            s["score"] = paper_score(s["points"], s["max_points"])
            s["passed"] = s["score"] >= PASS_MARK
        return {"subjects": list(subjects.values()), "total": total, "submitted_at": ended.isoformat(sep=" "),
                "timed_out": ended >= row.deadline, "used_s": int((ended - row.started_at).total_seconds())}

    def report(self, user_id: str, session_id: str) -> ExamReport:
        """After submission: every question with the answer given, the key, the points and the explanation."""
        view = self.view(user_id, session_id)
        if not view.finished:
            raise UserError("交卷之后才能查看成绩和解析")
        row = self._row(user_id, session_id)
        bank = self.store.get_questions(list(row.question_ids))
        items = [ExamItem(bank[qid], mark(bank[qid], row.answers.get(qid, "")))
                 for qid in row.question_ids if qid in bank]
        return ExamReport(view, dict(row.result or {}), items)

    def resume(self, user_id: str) -> SessionView | None:
        """The latest exam still running (one whose time ran out is submitted and not offered)."""
        for row in self.store.sessions(user_id, unfinished=True, kind="exam"):
            view = self.view(user_id, row.id)
            if not view.finished:
                return view
        return None
