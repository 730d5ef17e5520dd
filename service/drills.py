"""The 题库练习 half of the Service: practice, 模拟考试, 错题本 and progress for trainees ("drill": every
role), the bank and its files for 督导 ("drill.manage"), generated questions and their review ("review").

Progress belongs to the account's user id, which is never reused; the CLI practises as the local
system user. The domain code is assistant/drills; this layer only checks roles, sizes and readiness.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from assistant.drills import Drills, ExamClosed, ExamConfig, ImportReport, Question
from assistant.drills.bank import NO_SUBJECT, SUBJECTS, TYPE_LABELS
from assistant.drills.bankfile import SUFFIXES
from assistant.drills.exam import ExamReport
from assistant.drills.practice import Feedback, SessionView, WrongEntry
from assistant.drills.progress import Progress
from assistant.drills.queue import DraftView, passages_for_tag, passages_of_document
from assistant.drills.related import RelatedPassages
from service.accounts import SYSTEM_USER, User, require
from shegong.errors import ModelUnavailable, UserError

log = logging.getLogger(__name__)

# What the front ends show, from the domain (the CLI imports only the service).
__all__ = ["DrillActions", "ExamClosed", "NO_SUBJECT", "SUBJECTS", "TYPE_LABELS", "trainee_id"]

MAX_GENERATE = 10  # drafts per request: one model generation each (about 20 s apiece on an office PC)


def trainee_id(user: User) -> str:
    """The key of a user's progress: the account's never-reused user id (``uid``). Accounts without
    one (a database from before uids) are keyed by their row id and creation time together, which a
    deleted account's name, created again, does not share."""
    uid = getattr(user, "uid", "")
    if uid:
        return uid
    if user.username == SYSTEM_USER.username:
        return "system(cli)"
    from service.appdb import connect

    with connect() as conn:
        row = conn.execute("SELECT id, created_at FROM users WHERE username=?", (user.username,)).fetchone()
    if row is None:
        raise UserError("账号不存在或已被删除，请重新登录")
    return f"{row['id']}@{row['created_at']}"


class DrillActions:
    """Mixed into Service, which provides ``settings``, ``retriever``, ``answerer`` and ``_lazy``."""

    _drills: Drills | None = None
    _related: RelatedPassages | None = None

    @property
    def drills(self) -> Drills:
        """The drills over the app database; the bundled 示例题库 goes into an empty bank on first use."""
        with self._lazy:
            if self._drills is None:
                drills = Drills(self.settings.database_url or None, related=self._related_passages)
                report = drills.ensure_sample()
                if report:
                    log.info("sample question bank installed: %s", report.summary())
                self._drills = drills
            return self._drills

    def _related_passages(self, question: Question) -> list[dict]:
        # Made on first use: the retriever loads the embedder, which import, export and listing never need.
        with self._lazy:
            if self._related is None:
                self._related = RelatedPassages(self.retriever)
        return self._related(question)

    # ------------------------------------------------------------ practice (every role)
    def drill_catalogue(self, user: User) -> dict[str, dict[str, int]]:
        require(user, "drill")
        return self.drills.practice.catalogue()

    def drill_start(self, user: User, *, subject: str | None = None, tag: str | None = None,
                    order: str = "sequential", limit: int | None = None) -> SessionView:
        require(user, "drill")
        return self.drills.practice.start(trainee_id(user), subject=subject or None, tag=tag or None,
                                          order=order, limit=limit or None)

    def drill_start_review(self, user: User) -> SessionView:
        require(user, "drill")
        return self.drills.practice.start_review(trainee_id(user))

    def drill_view(self, user: User, session_id: str) -> SessionView:
        require(user, "drill")
        return self.drills.practice.view(trainee_id(user), session_id)

    def drill_answer(self, user: User, session_id: str, question_id: str, chosen) -> Feedback:
        require(user, "drill")
        return self.drills.practice.answer(trainee_id(user), session_id, question_id, chosen)

    def drill_resume(self, user: User) -> SessionView | None:
        """The latest unfinished exam, else practice round, of this user."""
        require(user, "drill")
        uid = trainee_id(user)
        return self.drills.exams.resume(uid) or self.drills.practice.resume(uid)

    def drill_related(self, user: User, question_id: str) -> list[dict]:
        require(user, "drill")
        question = self.drills.store.get_questions([question_id]).get(question_id)
        if question is None:
            raise UserError("题库里没有这道题")
        return self._related_passages(question)

    def drill_wrong_book(self, user: User) -> list[WrongEntry]:
        require(user, "drill")
        return self.drills.practice.wrong_book(trainee_id(user))

    def drill_progress(self, user: User) -> Progress:
        require(user, "drill")
        return self.drills.progress(trainee_id(user))

    # ------------------------------------------------------------ 模拟考试
    def exam_start(self, user: User, *, per_subject: int = 20, minutes: float | None = None,
                   subjects: list[str] | None = None) -> tuple[SessionView, list[str]]:
        require(user, "drill")
        config = ExamConfig(per_subject=int(per_subject), minutes=minutes or None)
        if subjects:
            config.subjects = tuple(subjects)
        return self.drills.exams.start(trainee_id(user), config)

    def exam_view(self, user: User, session_id: str, index: int | None = None) -> SessionView:
        require(user, "drill")
        return self.drills.exams.view(trainee_id(user), session_id, index)

    def exam_answer(self, user: User, session_id: str, question_id: str, chosen) -> str:
        require(user, "drill")
        return self.drills.exams.save_answer(trainee_id(user), session_id, question_id, chosen)

    def exam_submit(self, user: User, session_id: str) -> ExamReport:
        require(user, "drill")
        return self.drills.exams.submit(trainee_id(user), session_id)

    def exam_report(self, user: User, session_id: str) -> ExamReport:
        require(user, "drill")
        return self.drills.exams.report(trainee_id(user), session_id)

    # ------------------------------------------------------------ the bank (督导)
    def drill_questions(self, user: User, subject: str | None = None, tag: str | None = None) -> list[Question]:
        require(user, "drill.manage")
        return self.drills.questions(subject or None, tag or None)

    def drill_import(self, user: User, path: str | Path, *, replace: bool = False) -> ImportReport:
        require(user, "drill.manage")
        path = Path(path)
        if path.suffix.lower() not in SUFFIXES:
            raise UserError(f"不支持的题库文件类型：{path.suffix or '（无扩展名）'}。支持 .jsonl、.csv 和 .xlsx")
        if path.is_file() and path.stat().st_size > self.settings.max_upload_mb * 2**20:
            raise UserError(f"题库文件太大（超过 {self.settings.max_upload_mb} MB），请拆分后分批导入")
        report = self.drills.import_file(path, replace=replace, added_by=trainee_id(user))
        log.info("%s imported question bank %s: %s", user.username, path.name, report.summary().splitlines()[0])
        return report

    def drill_export(self, user: User, path: str | Path, subject: str | None = None, tag: str | None = None) -> int:
        require(user, "drill.manage")
        return self.drills.export_file(path, subject=subject or None, tag=tag or None)

    # ------------------------------------------------------------ generated questions (督导)
    def drill_generate(self, user: User, *, kb: str | None = None, doc_id: int | None = None, tag: str = "",
                       n: int = 3, kind: str = "single", subject: str = "",
                       progress: Callable[[float, str], None] | None = None) -> list[DraftView]:
        """Drafts from a document (``kb`` + ``doc_id``) or a tag, checked, into the review queue."""
        require(user, "review")
        n = int(n)
        if not 1 <= n <= MAX_GENERATE:
            raise UserError(f"一次生成的题数应在 1 到 {MAX_GENERATE} 之间")
        llm = self.answerer.llm
        if llm is None:
            raise ModelUnavailable("大模型还没有就绪（或未启用），暂时不能生成题目。请稍后再试")
        if doc_id is not None and kb:
            target = self.library.get(kb)
            if target.get_document(int(doc_id)) is None:
                raise UserError(f"知识库「{kb}」中没有编号为 {doc_id} 的文档")
            passages = passages_of_document(target, int(doc_id), n)
        elif (tag or "").strip():
            passages = passages_for_tag(self.retriever, tag, n)
        else:
            raise UserError("请选择一个文档，或填写一个标签")
        drafts = self.drills.queue.generate(llm, passages, user_id=trainee_id(user), kind=kind, subject=subject,
                                            tags=[tag.strip()] if (tag or "").strip() else None, progress=progress)
        log.info("%s generated %d drafts (%d passed the checks)", user.username, len(drafts),
                 sum(d.status == "pending" for d in drafts))
        return drafts

    def drill_drafts(self, user: User, status: str | None = None) -> list[DraftView]:
        require(user, "review")
        return self.drills.queue.list(status or None)

    def drill_draft(self, user: User, draft_id: int) -> DraftView:
        require(user, "review")
        return self.drills.queue.get(int(draft_id))

    def drill_edit_draft(self, user: User, draft_id: int, changes: dict) -> DraftView:
        require(user, "review")
        return self.drills.queue.edit(int(draft_id), changes, trainee_id(user))

    def drill_approve(self, user: User, draft_id: int) -> Question:
        require(user, "review")
        question = self.drills.queue.approve(int(draft_id), trainee_id(user))
        log.info("%s approved draft %s as %s", user.username, draft_id, question.id)
        return question

    def drill_reject(self, user: User, draft_id: int, note: str = "") -> DraftView:
        require(user, "review")
        return self.drills.queue.reject(int(draft_id), trainee_id(user), note)
