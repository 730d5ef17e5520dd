"""The review queue for generated questions: draft, check, edit, approve or reject.

Drafts live in drill_drafts, never in the bank: practice, review and exams read drill_questions
only, so a draft is invisible to trainees until a 督导 approves it. Approval re-validates the
question and re-runs the checks against its source passage; the approved question keeps the
passage's knowledge base, chunk id and text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from assistant.drills.bank import SUBJECTS, BankError, Question, question_from_record
from assistant.drills.checks import check_draft
from assistant.drills.generate import Passage, draft_question, spread, usable
from assistant.drills.store import DrillStore
from assistant.llm.base import LLM
from shegong.errors import UserError

GENERATED = "生成题"
STATUS_LABELS = {"pending": "待审核", "failed": "未通过检查", "approved": "已入库", "rejected": "已退回"}
MAX_DRAFTS = 20  # per request: each draft is one LLM generation (tens of seconds on an office PC)
SUBJECT_FOR_TYPE = {"law": SUBJECTS[2], "policy": SUBJECTS[2]}  # other passages: 实务


@dataclass
class DraftView:
    id: int
    status: str
    record: dict
    passage: Passage
    checks: dict
    model: str
    created_at: datetime
    question_id: str | None
    note: str

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def problems(self) -> list[str]:
        return list(self.checks.get("problems", []))


def passages_of_document(kb, doc_id: int, n: int) -> list[Passage]:
    """Passages of one document worth a question, spread from its start to its end."""
    return [Passage.from_hit(h) for h in spread([h for h in kb.chunks_of(int(doc_id)) if usable(h.text)], n)]


def passages_for_tag(retriever, tag: str, n: int) -> list[Passage]:
    """Passages about a tag. A tag that names a document (the bank's law tags: 老年人权益保障法) means that
    document's passages, spread over it; any other tag (个案工作, 低保) the retriever's best ones."""
    tag = (tag or "").strip()
    if not tag:
        raise UserError("请填写标签")
    named = [(kb, d) for kb in retriever.library.select() for d in kb.documents()
             if tag in d.title.removeprefix("中华人民共和国")]
    if named:
        usable_hits = [h for kb, d in named for h in kb.chunks_of(d.id) if usable(h.text)]
        return [Passage.from_hit(h) for h in spread(usable_hits, n)]
    hits = retriever.retrieve(tag, k=max(4 * n, 12)).hits
    return [Passage.from_hit(h) for h in hits if usable(h.text)][:n]


class DraftQueue:
    def __init__(self, store: DrillStore, clock: Callable[[], datetime]):
        self.store = store
        self.clock = clock

    # ------------------------------------------------------------ drafting
    def generate(self, llm: LLM, passages: list[Passage], *, user_id: str | None, kind: str = "single",
                 subject: str = "", tags: list[str] | None = None, second_pass: bool = False,
                 progress: Callable[[float, str], None] | None = None) -> list[DraftView]:
        if kind not in ("single", "multiple"):
            raise UserError("生成的题型只能是单选或多选")
        if subject and subject not in SUBJECTS:
            raise UserError(f"没有这个科目：{subject}")
        if not passages:
            raise UserError("没有找到适合出题的段落（需要含有年龄、期限、职责等具体内容），请换一个文档或标签")
        drafted = self._drafted_chunks()
        fresh = [p for p in passages if (p.kb, p.chunk_id) not in drafted][:MAX_DRAFTS]
        if not fresh:
            raise UserError("这些段落都已经出过题了（在审核队列或题库里），请换一个文档或标签")
        progress = progress or (lambda frac, msg: None)
        out = []
        for i, passage in enumerate(fresh):
            progress(i / len(fresh), f"正在根据《{passage.title}》{passage.location}出题（{i + 1}/{len(fresh)}）")
            existing = self._existing()
            draft = draft_question(llm, passage, existing, kind, second_pass=second_pass)
            record = self._complete(draft.record, passage, subject, tags)
            did = self.store.add_draft(
                self.clock(), status="pending" if draft.checks.passed else "failed", record=record,
                kb=passage.kb, chunk_id=passage.chunk_id, chunk_text=passage.text, doc_title=passage.title,
                location=passage.location, checks=dict(draft.checks.to_json(), raw=draft.raw),
                model=getattr(llm, "name", ""), created_by=user_id)
            out.append(self.get(did))
        progress(1.0, "出题完成")
        return out

    @staticmethod
    def _complete(record: dict, passage: Passage, subject: str, tags: list[str] | None) -> dict:
        """The fields the model does not write: subject, tags and source follow from the passage."""
        law = passage.title.removeprefix("中华人民共和国") if passage.doc_type == "law" else ""
        return dict(record, subject=subject or SUBJECT_FOR_TYPE.get(passage.doc_type, SUBJECTS[1]),
                    tags=list(tags) if tags else ([law] if law else []),
                    source=f"《{passage.title}》{passage.location}".strip())

    def _drafted_chunks(self) -> set[tuple[str, int]]:
        return {(r.kb, r.chunk_id) for r in self.store.drafts(limit=100000) if r.status in ("pending", "approved")}

    def _existing(self, skip: int | None = None) -> list[Question]:
        """The bank and the drafts waiting for review: a new draft must duplicate neither."""
        out = self.store.all_questions()
        for r in self.store.drafts("pending", limit=100000):
            if r.id == skip:
                continue
            try:
                out.append(question_from_record(dict(r.record, id=f"草稿{r.id}")))
            except BankError:
                pass
        return out

    # ------------------------------------------------------------ the queue
    @staticmethod
    def _view(row) -> DraftView:
        passage = Passage(kb=row.kb, chunk_id=row.chunk_id, text=row.chunk_text, title=row.doc_title,
                          location=row.location)
        return DraftView(id=row.id, status=row.status, record=dict(row.record), passage=passage,
                         checks=dict(row.checks), model=row.model, created_at=row.created_at,
                         question_id=row.question_id, note=row.note)

    def get(self, draft_id: int) -> DraftView:
        row = self.store.draft(int(draft_id))
        if row is None:
            raise UserError(f"没有编号为 {draft_id} 的生成题")
        return self._view(row)

    def list(self, status: str | None = None, limit: int = 200) -> list[DraftView]:
        if status and status not in STATUS_LABELS:
            raise UserError(f"未知的状态：{status}")
        return [self._view(r) for r in self.store.drafts(status, limit)]

    def edit(self, draft_id: int, changes: dict, user_id: str | None) -> DraftView:
        """A reviewer's corrections; the checks run again (a fixed draft can move from failed to pending)."""
        draft = self.get(draft_id)
        if draft.status in ("approved", "rejected"):
            raise UserError(f"这道题已{draft.status_label}，不能再修改")
        record = dict(draft.record, **{k: v for k, v in changes.items() if k in (
            "stem", "options", "answer", "explanation", "subject", "tags", "level", "type")})
        checks, _ = check_draft(record, draft.passage.text, self._existing(skip=draft.id))
        with self.store.engine.begin() as conn:
            self.store.update_draft(conn, draft.id, record=record, reviewed_by=user_id, reviewed_at=self.clock(),
                                    checks=dict(checks.to_json(), raw=draft.checks.get("raw", "")),
                                    status="pending" if checks.passed else "failed")
        return self.get(draft.id)

    def approve(self, draft_id: int, user_id: str | None) -> Question:
        """Into the bank, as question GEN-<draft id>, keeping its source passage."""
        draft = self.get(draft_id)
        if draft.status != "pending":
            raise UserError(f"只有待审核的题目可以入库（这道题{draft.status_label}）"
                            + ("，请先修改到通过检查" if draft.status == "failed" else ""))
        checks, _ = check_draft(draft.record, draft.passage.text, self._existing(skip=draft.id))
        if not checks.passed:  # the bank changed since it was checked (a duplicate went in meanwhile)
            raise UserError("这道题现在没有通过检查：" + "；".join(checks.problems()))
        try:
            question = question_from_record(dict(draft.record, id=f"GEN-{draft.id:05d}"), GENERATED)
        except BankError as e:
            raise UserError(f"这道题不能入库：{e}") from e
        question.source_kb, question.source_chunk_id, question.source_text = (
            draft.passage.kb, draft.passage.chunk_id, draft.passage.text)
        now = self.clock()
        with self.store.engine.begin() as conn:  # the draft is marked and the question added together, or neither
            if not self.store.update_draft(conn, draft.id, expect_status="pending", status="approved",
                                           reviewed_by=user_id, reviewed_at=now, question_id=question.id):
                raise UserError("这道题刚刚已被其他督导处理过了")
            if self.store.save_questions([question], now, added_by=user_id, conn=conn).conflicts:
                raise UserError(f"题库中已有题号 {question.id}，没有入库")
        return question

    def reject(self, draft_id: int, user_id: str | None, note: str = "") -> DraftView:
        draft = self.get(draft_id)
        if draft.status in ("approved", "rejected"):
            raise UserError(f"这道题已{draft.status_label}")
        with self.store.engine.begin() as conn:
            self.store.update_draft(conn, draft.id, status="rejected", reviewed_by=user_id,
                                    reviewed_at=self.clock(), note=(note or "").strip()[:500])
        return self.get(draft.id)
