"""The drill tables in the app database (shegong.db: SQLite by default, PostgreSQL on a district server).

    drill_questions  the bank (approved questions only; drafts live in drill_drafts until approved)
    drill_answers    every answer a trainee gave: the history behind accuracy and progress
    drill_reviews    the 错题本: one row per (trainee, question) answered wrongly, with its schedule
    drill_sessions   a practice round or a 模拟考试: its questions, position and answers (for resuming)
    drill_drafts     generated questions waiting for a 督导: the source passage and the checks' results

Trainees are keyed by their account's user id (a string that is never reused), never by name: a name can
be deleted and given to someone else, who must not inherit the history.
Only portable SQLAlchemy Core is used; filtering by tag happens in Python (a bank has thousands of
questions at most, and JSON operators differ between the two databases).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (JSON, Boolean, Column, DateTime, Float, Index, Integer, MetaData, PrimaryKeyConstraint,
                        String, Table, Text, and_, delete, func, insert, select, update)

from assistant.drills.bank import Question, same_content
from shegong import db

metadata = MetaData()

questions = Table(
    "drill_questions", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),  # bank order, for sequential practice
    Column("id", String(64), nullable=False, unique=True),
    Column("type", String(10), nullable=False),
    Column("subject", String(20), nullable=False),
    Column("level", String(10), nullable=False),
    Column("tags", JSON, nullable=False),
    Column("stem", Text, nullable=False),
    Column("options", JSON, nullable=False),
    Column("answer", String(8), nullable=False),
    Column("explanation", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("collection", Text, nullable=False),
    Column("source_kb", Text, nullable=False),
    Column("source_chunk_id", Integer),
    Column("source_text", Text, nullable=False),
    Column("added_by", String(64)),
    Column("added_at", DateTime, nullable=False),
)

answers = Table(
    "drill_answers", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", String(64), nullable=False),
    Column("question_id", String(64), nullable=False),
    Column("session_id", String(32)),
    Column("mode", String(10), nullable=False),
    Column("chosen", String(8), nullable=False),
    Column("correct", Boolean, nullable=False),
    Column("points", Float, nullable=False),
    Column("max_points", Float, nullable=False),
    Column("answered_at", DateTime, nullable=False),
    Index("drill_answers_user", "user_id", "answered_at"),
)

reviews = Table(
    "drill_reviews", metadata,
    Column("user_id", String(64), nullable=False),
    Column("question_id", String(64), nullable=False),
    Column("stage", Integer, nullable=False),  # index into the schedule's intervals
    Column("streak", Integer, nullable=False),  # right answers in a row at review time
    Column("wrong_count", Integer, nullable=False),
    Column("due_at", DateTime, nullable=False),
    Column("added_at", DateTime, nullable=False),
    Column("last_at", DateTime, nullable=False),
    Column("mastered_at", DateTime),
    PrimaryKeyConstraint("user_id", "question_id"),
)

sessions = Table(
    "drill_sessions", metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("kind", String(10), nullable=False),  # practice | review | exam
    Column("title", Text, nullable=False),
    Column("settings", JSON, nullable=False),
    Column("question_ids", JSON, nullable=False),
    Column("position", Integer, nullable=False),
    Column("answers", JSON, nullable=False),  # question id -> chosen letters
    Column("started_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("deadline", DateTime),
    Column("finished_at", DateTime),
    Column("result", JSON),
    Index("drill_sessions_user", "user_id", "updated_at"),
)

drafts = Table(
    "drill_drafts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("status", String(10), nullable=False),  # pending (passed the checks) | failed | approved | rejected
    Column("record", JSON, nullable=False),  # the drafted question as a bank record
    Column("kb", Text, nullable=False),
    Column("chunk_id", Integer, nullable=False),
    Column("chunk_text", Text, nullable=False),
    Column("doc_title", Text, nullable=False),
    Column("location", Text, nullable=False),
    Column("checks", JSON, nullable=False),
    Column("model", Text, nullable=False),
    Column("created_by", String(64)),
    Column("created_at", DateTime, nullable=False),
    Column("reviewed_by", String(64)),
    Column("reviewed_at", DateTime),
    Column("question_id", String(64)),
    Column("note", Text, nullable=False),
)


@dataclass
class SaveCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    conflicts: list[Question] = field(default_factory=list)  # same id, other content, not replaced


class DrillStore:
    def __init__(self, url: str | None = None):
        self.engine = db.ensure_tables(metadata, url)

    # ------------------------------------------------------------ questions
    @staticmethod
    def _question(row) -> Question:
        return Question(id=row.id, type=row.type, stem=row.stem, options=dict(row.options), answer=row.answer,
                        explanation=row.explanation, subject=row.subject, level=row.level, tags=list(row.tags),
                        source=row.source, collection=row.collection, source_kb=row.source_kb,
                        source_chunk_id=row.source_chunk_id, source_text=row.source_text)

    @staticmethod
    def _values(q: Question) -> dict:
        return {"id": q.id, "type": q.type, "subject": q.subject, "level": q.level, "tags": q.tags, "stem": q.stem,
                "options": q.options, "answer": q.answer, "explanation": q.explanation, "source": q.source,
                "collection": q.collection, "source_kb": q.source_kb, "source_chunk_id": q.source_chunk_id,
                "source_text": q.source_text}

    def save_questions(self, items: list[Question], now: datetime, *, replace: bool = False,
                       added_by: str | None = None, conn=None) -> SaveCounts:
        """Add questions in one transaction (the caller's, if given). An id already in the bank with other
        content is a conflict unless ``replace``; with the same content it is left as it is."""
        if conn is None:
            with self.engine.begin() as own:
                return self.save_questions(items, now, replace=replace, added_by=added_by, conn=own)
        counts = SaveCounts()
        existing = self._by_ids(conn, [q.id for q in items])
        for q in items:
            old = existing.get(q.id)
            if old is None:
                conn.execute(insert(questions).values(**self._values(q), added_by=added_by, added_at=now))
                counts.added += 1
            elif same_content(old, q):
                counts.unchanged += 1
            elif replace:
                conn.execute(update(questions).where(questions.c.id == q.id).values(**self._values(q)))
                counts.updated += 1
            else:
                counts.conflicts.append(q)
        return counts

    def all_questions(self) -> list[Question]:
        with self.engine.connect() as conn:
            return [self._question(r) for r in conn.execute(select(questions).order_by(questions.c.seq))]

    def get_questions(self, ids: list[str]) -> dict[str, Question]:
        with self.engine.connect() as conn:
            return self._by_ids(conn, ids)

    def _by_ids(self, conn, ids: list[str], batch: int = 500) -> dict[str, Question]:
        """In batches: an IN list has a parameter limit (SQLite's is 32766, older builds 999)."""
        out = {}
        for i in range(0, len(ids), batch):
            out.update((r.id, self._question(r)) for r in conn.execute(
                select(questions).where(questions.c.id.in_(ids[i:i + batch]))))
        return out

    def count_questions(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(questions)).scalar_one()

    # ------------------------------------------------------------ answers
    def add_answer(self, conn, **values) -> None:
        conn.execute(insert(answers).values(**values))

    def answer_rows(self, user_id: str) -> list:
        """(question_id, correct, points, max_points, mode, answered_at) of every answer, oldest first."""
        with self.engine.connect() as conn:
            return list(conn.execute(
                select(answers.c.question_id, answers.c.correct, answers.c.points, answers.c.max_points,
                       answers.c.mode, answers.c.answered_at)
                .where(answers.c.user_id == user_id).order_by(answers.c.id)))

    # ------------------------------------------------------------ 错题本
    def review(self, conn, user_id: str, question_id: str):
        return conn.execute(select(reviews).where(and_(reviews.c.user_id == user_id,
                                                       reviews.c.question_id == question_id))).first()

    def put_review(self, conn, user_id: str, question_id: str, exists: bool, **values) -> None:
        if exists:
            conn.execute(update(reviews).where(and_(reviews.c.user_id == user_id,
                                                    reviews.c.question_id == question_id)).values(**values))
        else:
            conn.execute(insert(reviews).values(user_id=user_id, question_id=question_id, **values))

    def reviews(self, user_id: str, *, active_only: bool = True) -> list:
        query = select(reviews).where(reviews.c.user_id == user_id)
        if active_only:
            query = query.where(reviews.c.mastered_at.is_(None))
        with self.engine.connect() as conn:
            return list(conn.execute(query.order_by(reviews.c.due_at, reviews.c.question_id)))

    # ------------------------------------------------------------ sessions
    def create_session(self, user_id: str, kind: str, title: str, settings: dict, question_ids: list[str],
                       now: datetime, deadline: datetime | None = None) -> str:
        sid = uuid.uuid4().hex
        with self.engine.begin() as conn:
            conn.execute(insert(sessions).values(
                id=sid, user_id=user_id, kind=kind, title=title, settings=settings, question_ids=question_ids,
                position=0, answers={}, started_at=now, updated_at=now, deadline=deadline))
        return sid

    def session(self, user_id: str, session_id: str, conn=None):
        """A session of this trainee only (another trainee's id finds nothing)."""
        query = select(sessions).where(and_(sessions.c.id == session_id, sessions.c.user_id == user_id))
        if conn is not None:
            return conn.execute(query).first()
        with self.engine.connect() as c:
            return c.execute(query).first()

    def update_session(self, conn, session_id: str, expect_position: int | None = None, *,
                       unfinished: bool = False, **values) -> bool:
        """Change a session; with ``expect_position`` only if nobody moved it meanwhile (a double click),
        with ``unfinished`` only if nobody finished it meanwhile (two submissions at once)."""
        query = update(sessions).where(sessions.c.id == session_id)
        if expect_position is not None:
            query = query.where(sessions.c.position == expect_position)
        if unfinished:
            query = query.where(sessions.c.finished_at.is_(None))
        return conn.execute(query.values(**values)).rowcount == 1

    def sessions(self, user_id: str, *, unfinished: bool = False, kind: str | None = None, limit: int = 20) -> list:
        query = select(sessions).where(sessions.c.user_id == user_id)
        if unfinished:
            query = query.where(sessions.c.finished_at.is_(None))
        if kind:
            query = query.where(sessions.c.kind == kind)
        with self.engine.connect() as conn:
            return list(conn.execute(query.order_by(sessions.c.updated_at.desc(), sessions.c.id).limit(limit)))

    # ------------------------------------------------------------ drafts
    def add_draft(self, now: datetime, **values) -> int:
        with self.engine.begin() as conn:
            return conn.execute(insert(drafts).values(created_at=now, note="", **values)).inserted_primary_key[0]

    def draft(self, draft_id: int, conn=None):
        query = select(drafts).where(drafts.c.id == draft_id)
        if conn is not None:
            return conn.execute(query).first()
        with self.engine.connect() as c:
            return c.execute(query).first()

    def drafts(self, status: str | None = None, limit: int = 200) -> list:
        query = select(drafts)
        if status:
            query = query.where(drafts.c.status == status)
        with self.engine.connect() as conn:
            return list(conn.execute(query.order_by(drafts.c.id.desc()).limit(limit)))

    def update_draft(self, conn, draft_id: int, expect_status: str | None = None, **values) -> bool:
        query = update(drafts).where(drafts.c.id == draft_id)
        if expect_status:
            query = query.where(drafts.c.status == expect_status)
        return conn.execute(query.values(**values)).rowcount == 1

    def delete_questions(self, ids: list[str]) -> int:
        """Remove questions from the bank (history rows stay: they record what was answered)."""
        with self.engine.begin() as conn:
            return conn.execute(delete(questions).where(questions.c.id.in_(ids))).rowcount
