"""The visits half of the Service (issue 19): visit records from jottings, the resident ledger, exports and the
annual summary, each checked against the acting account's role and community.

Who sees what:
- 社工, 督导 and 管理员 write visit records, query the ledger of their community and write its summary
  ("visit"); 学员 do not. A 督导 or 管理员 also imports rosters ("visit.roster"); a 管理员 sets which
  community an account works in ("accounts").
- An account sees only the ledger of the community set for it. A 管理员 with no community set (and the CLI,
  this computer's system user) sees every community and names one when writing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from pathlib import Path

from assistant.visits import export, queries, summary
from assistant.visits.extract import extract
from assistant.visits.ledger import Ledger, community_name
from assistant.visits.record import FIELDS, VisitRecord, checked_json, missing_in
from assistant.visits.rules import active_rules_path, copy_for_editing, load_rules
from assistant.visits.suggest import Suggestion, suggest
from assistant.visits.writer import make_record
from service.accounts import SYSTEM_USER, User, require
from service.appdb import connect
from shegong import audit
from shegong.errors import PermissionDenied, UserError

log = logging.getLogger(__name__)

NO_COMMUNITY = "当前账号还没有设置所属社区，请管理员在「台账」页（或用 shegong ledger community）设置后再使用走访台账"


def _parse_day(value: str | dt.date | None, what: str = "日期") -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip().replace("/", "-"))
    except ValueError:
        raise UserError(f"{what}“{value}”看不懂，请写成 2026-03-12 这样的格式") from None


class VisitActions:
    """Mixed into Service, which provides ``settings``, ``_lazy`` and ``answerer`` (its LLM writes the paragraph)."""

    _ledger_obj: Ledger | None = None

    @property
    def ledger(self) -> Ledger:
        # Service's _lazy lock: two first requests at once would build two Ledgers (and alter the table twice)
        with self._lazy:
            if self._ledger_obj is None:
                self._ledger_obj = Ledger()
            return self._ledger_obj

    # ------------------------------------------------------------ communities
    @staticmethod
    def _user_uid(user: User) -> str | None:
        """The account's never-reused uid (a name deleted and created again is another account, with no community)."""
        if user is SYSTEM_USER or user.username == SYSTEM_USER.username:
            return None
        if user.uid:
            return user.uid
        with connect() as conn:  # a User made by hand, without its uid
            row = conn.execute("SELECT uid FROM users WHERE username=?", (user.username,)).fetchone()
        return row["uid"] if row else None

    def user_community(self, user: User) -> str | None:
        """The community set for this account (None: none set)."""
        require(user, "visit")
        uid = self._user_uid(user)
        return self.ledger.community_of(uid) if uid else None

    def set_user_community(self, user: User, username: str, community: str) -> None:
        require(user, "accounts")
        from service import accounts

        target = accounts.get_user(username)
        if target is None:
            raise UserError(f"没有用户「{username}」")
        self.ledger.set_community(self._user_uid(target), community)
        # which ledger an account may read and write: in the audit trail with the role changes (issue 16)
        audit.record("community_set", by=user.username, user=username, community=community)

    def _community(self, user: User, wanted: str | None = None, *, writing: bool = False) -> str | None:
        """The community this account acts on. None (reads only): every community, for a 管理员 with none set."""
        wanted = community_name(wanted) if wanted and wanted.strip() else None  # typed by hand: checked once
        own = self.user_community(user)
        if own is not None and user.role != "管理员":
            if wanted and wanted != own:
                raise PermissionDenied(f"当前账号只能查看和填写「{own}」的台账")
            return own
        if user.role != "管理员":
            raise UserError(NO_COMMUNITY)
        chosen = wanted or own
        if writing and not chosen:
            raise UserError("请先写明是哪个社区（管理员账号没有固定的社区）")
        return chosen

    # ------------------------------------------------------------ visit records
    def visit_note(self, user: User, jotting: str, visit_date: str | dt.date | None = None,
                   record_date: str | dt.date | None = None, *, use_llm: bool = True) -> VisitRecord:
        """A record from a jotting: extracted, the paragraph written by the LLM when it is ready (else composed
        from the fields) and checked. Nothing is saved; see ``save_visit``."""
        require(user, "visit")
        day = _parse_day(visit_date, "走访日期") or dt.date.today()
        written = _parse_day(record_date, "填写日期") or day
        llm = self.answerer.llm if use_llm else None
        return make_record(jotting, day, llm, load_rules(), written)

    def visit_suggestions(self, user: User, record: VisitRecord) -> list[Suggestion]:
        """Policy, handbook and case passages for the needs the record found (with where they are from)."""
        require(user, "visit")
        kbs = self.library.select()

        def search(query: str, k: int, doc_types: list[str]):
            return self.retriever.search(query, k, kb_objects=kbs, doc_types=doc_types)

        return suggest(record, search)

    def save_visit(self, user: User, jotting: str, visit_date: str | dt.date | None, edited: dict | None = None,
                   community: str | None = None, *, record: VisitRecord | None = None) -> int:
        """Save a record to the ledger: ``record`` as ``visit_note`` made it (what the CLI printed, paragraph and
        填写日期 included), else the jotting extracted again; ``edited``: the record's JSON as the social worker
        corrected it, over either. The JSON is checked field by field before anything is stored."""
        require(user, "visit")
        target = self._community(user, community, writing=True)
        if record is None:
            record = extract(jotting, _parse_day(visit_date, "走访日期") or dt.date.today())
        else:
            record = dataclasses.replace(record)  # the caller's record is left as it is
        data = record.to_json()
        if edited:
            if not isinstance(edited, dict):
                raise UserError("修改后的走访记录格式不对")
            unknown = [k for k in edited if k not in data]
            if unknown:
                raise UserError(f"走访记录里没有这些栏目：{'、'.join(map(str, unknown))}。可以修改的栏目：{'、'.join(FIELDS)}")
            data.update(edited)
            log.info("%s saved a visit record edited by hand", user.username)
        data = checked_json(data)
        if edited:
            subject = data["走访对象"]
            record.subject = subject["姓名"]
            record.id_numbers = subject.get("身份证号", [])
            data["待补充"] = missing_in(data)
        return self.ledger.add_visit(record, target, self._user_uid(user), record_json=data)

    def visits(self, user: User, community: str | None = None, year: int | None = None) -> list[dict]:
        require(user, "visit")
        where = self._community(user, community)
        start, end = (dt.date(year, 1, 1), dt.date(year, 12, 31)) if year else (None, None)
        return self.ledger.visits(where, start, end)

    def set_visit_resolved(self, user: User, visit_id: int, resolved: bool = True) -> None:
        """Mark the risk a visit found as dealt with (counts in the summary's 已处理)."""
        require(user, "visit")
        self.ledger.set_resolved(int(visit_id), self._community(user), resolved)

    @staticmethod
    def record_lines(data: dict) -> list[tuple[str, str]]:
        """A record's JSON as (栏目, 内容) lines, as the 走访记录表 prints them."""
        return export.record_rows(data)

    # ------------------------------------------------------------ ledger
    def import_roster(self, user: User, path: str | Path, community: str | None = None):
        require(user, "visit.roster")
        return self.ledger.import_roster(path, self._community(user, community, writing=True))

    def residents(self, user: User, community: str | None = None) -> list[dict]:
        require(user, "visit")
        return self.ledger.residents(self._community(user, community))

    @staticmethod
    def named_queries() -> list[str]:
        return list(queries.NAMED)

    def ledger_query(self, user: User, name_or_question: str, community: str | None = None,
                     today: str | dt.date | None = None) -> queries.QueryResult:
        """A named query ("本月高风险对象") or a question in words mapped onto the same filters."""
        require(user, "visit")
        where = self._community(user, community)
        day = _parse_day(today, "日期") or dt.date.today()
        if name_or_question in queries.NAMED:
            return queries.run_query(self.ledger, name_or_question, where, day)
        return queries.ask_ledger(self.ledger, name_or_question, where, day)

    # ------------------------------------------------------------ exports
    def export_visit(self, user: User, visit_id: int, path: str | Path, *, full: bool = False) -> Path:
        """One saved visit as 走访记录表 (.docx or .xlsx by the file name); ID and phone numbers masked
        unless ``full``."""
        require(user, "visit")
        import json

        row = self.ledger.visit(int(visit_id), self._community(user))
        data = json.loads(row["record"])
        path = Path(path)
        if full:
            audit.record("export_unmasked", by=user.username, visit=visit_id)  # full ID and phone numbers
        if path.suffix.lower() == ".xlsx":
            return export.record_to_xlsx(data, path, full)
        return export.record_to_docx(data, path.with_suffix(".docx"), row["community"], full)

    def export_ledger(self, user: User, path: str | Path, query: str | None = None, community: str | None = None,
                      *, full: bool = False, today: str | dt.date | None = None) -> Path:
        """The residents of the ledger, or a query's rows, to .xlsx or .docx (masked unless ``full``)."""
        require(user, "visit")
        path = Path(path)
        if query:
            result = self.ledger_query(user, query, community, today)
            title, columns, rows, note = result.title, result.columns, result.rows, result.explanation
        else:
            columns, rows = export.ledger_rows(self.residents(user, community))
            title, note = f"{self._community(user, community) or '全部社区'}居民台账", ""
        if full:
            audit.record("export_unmasked", by=user.username, ledger=title)  # full ID and phone numbers
        if path.suffix.lower() == ".xlsx":
            return export.table_to_xlsx(title, columns, rows, path, full)
        return export.table_to_docx(title, columns, rows, path.with_suffix(".docx"), full, note)

    # ------------------------------------------------------------ annual summary
    def year_summary(self, user: User, year: int, community: str | None = None, *, use_llm: bool = True):
        """(statistics, narrative, removed sentences): numbers from the ledger, the narrative checked against them."""
        require(user, "visit")
        stats = summary.compute(self.ledger, int(year), self._community(user, community))
        text, removed = summary.narrative(stats, self.answerer.llm if use_llm else None)
        return stats, text, removed

    def summary_docx(self, user: User, year: int, path: str | Path, community: str | None = None,
                     *, text: str | None = None, use_llm: bool = True) -> Path:
        """The summary as a Word file (statistics table, chart); ``text``: a narrative already written and
        checked by ``year_summary`` (else one is written now)."""
        if text is None:
            stats, text, _removed = self.year_summary(user, year, community, use_llm=use_llm)
        else:
            require(user, "visit")
            stats = summary.compute(self.ledger, int(year), self._community(user, community))
        return summary.summary_docx(stats, text, Path(path).with_suffix(".docx"))

    @staticmethod
    def summary_figures(stats) -> list:
        """plotly figures of the statistics (the app's charts)."""
        return summary.plotly_figures(stats)

    # ------------------------------------------------------------ risk rules
    def risk_rules_file(self, user: User, *, for_editing: bool = False) -> Path:
        """The rules file in force; ``for_editing``: a copy in the data directory a 督导 may edit."""
        require(user, "visit.roster" if for_editing else "visit")
        return copy_for_editing() if for_editing else active_rules_path()


__all__ = ["NO_COMMUNITY", "VisitActions"]
