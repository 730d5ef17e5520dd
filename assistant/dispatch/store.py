"""The district's 权责清单 (versioned) and the record of dispatched tickets, in the app database.

SQLAlchemy Core on shegong.db's engine, portable SQL only: the same code runs on the default
SQLite file and on a district PostgreSQL server.

- Every import is a new version (number, time, who, file); the newest version is the list in use.
  Its items are written in the same transaction as the version row, so a reader sees either the
  old list or the whole new one, never a mix.
- Every dispatch is recorded (time, who, ticket, list version, chosen items, the full result);
  a user then accepts it or corrects it. A correction is what the matcher later shows the model
  as an example for similar tickets, so it is kept with the corrected 编号 list (empty = 无匹配).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import (Boolean, Column, DateTime, ForeignKey, Integer, MetaData, String, Table, Text,
                        UniqueConstraint, func, insert, select, update)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from assistant.dispatch.listfile import Item
from shegong import db
from shegong.errors import UserError
from shegong.spreadsheet import keep_as_text

metadata = MetaData()

lists = Table(
    "dispatch_lists", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version", Integer, nullable=False, unique=True),  # concurrent imports: one wins, one is told to retry
    Column("title", String(200), nullable=False),
    Column("source_file", String(500), nullable=False),
    Column("imported_at", DateTime, nullable=False),
    Column("imported_by", String(64), nullable=False),
    Column("n_items", Integer, nullable=False),
    Column("report", Text, nullable=False, default=""),  # rows left out and warnings at import (JSON)
)

items = Table(
    "dispatch_items", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("list_id", Integer, ForeignKey("dispatch_lists.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("code", String(32), nullable=False),
    Column("matter", Text, nullable=False),
    Column("lead", Text, nullable=False),
    Column("partners", Text, nullable=False),
    Column("duty", String(8), nullable=False),
    Column("basis", Text, nullable=False),
    Column("notes", Text, nullable=False),
    UniqueConstraint("list_id", "code"),
)

records = Table(
    "dispatch_records", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime, nullable=False, index=True),
    Column("username", String(64), nullable=False),
    Column("list_version", Integer, nullable=False),
    Column("ticket", Text, nullable=False),
    Column("codes", Text, nullable=False),        # JSON list of the 编号 the matcher chose ([] = 无匹配)
    Column("result", Text, nullable=False),       # the whole result as shown (JSON)
    Column("status", String(12), nullable=False, default="pending"),  # pending | accepted | corrected
    Column("final_codes", Text),                  # JSON list after review ([] = 无匹配); NULL while pending
    Column("reviewed_by", String(64)),
    Column("reviewed_at", DateTime),
    Column("note", Text, nullable=False, default=""),
)

STATUS_LABELS = {"pending": "待确认", "accepted": "已确认", "corrected": "已纠正"}


@dataclass
class ListVersion:
    id: int
    version: int
    title: str
    source_file: str
    imported_at: dt.datetime
    imported_by: str
    n_items: int
    report: dict = field(default_factory=dict)

    def describe(self) -> str:
        return (f"第 {self.version} 版《{self.title}》，{self.n_items} 项，"
                f"{self.imported_at:%Y-%m-%d %H:%M} 由 {self.imported_by} 导入")


@dataclass
class Record:
    id: int
    created_at: dt.datetime
    username: str
    list_version: int
    ticket: str
    codes: list[str]
    result: dict
    status: str
    final_codes: list[str] | None
    reviewed_by: str | None
    reviewed_at: dt.datetime | None
    note: str

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


class DispatchStore:
    def __init__(self, url: str | None = None):
        self.engine = db.ensure_tables(metadata, url)

    # ------------------------------------------------------------ the list
    def import_list(self, parsed_items: list[Item], *, title: str, source_file: str, user: str,
                    report: dict | None = None) -> ListVersion:
        """Store a new version and make it the list in use, in one transaction."""
        if not parsed_items:
            raise UserError("清单里没有可以导入的事项，原来的清单不变")
        try:
            with self.engine.begin() as conn:
                version = (conn.execute(select(func.max(lists.c.version))).scalar() or 0) + 1
                list_id = conn.execute(insert(lists).values(
                    version=version, title=title[:200], source_file=source_file[:500], imported_at=_now(),
                    imported_by=user, n_items=len(parsed_items),
                    report=json.dumps(report or {}, ensure_ascii=False))).inserted_primary_key[0]
                conn.execute(insert(items), [
                    {"list_id": list_id, "seq": i, "code": it.code, "matter": it.matter, "lead": it.lead,
                     "partners": it.partners, "duty": it.duty, "basis": it.basis, "notes": it.notes}
                    for i, it in enumerate(parsed_items)])
        except IntegrityError as e:
            raise UserError("另一位督导正在同时导入清单，这次没有导入，原来的清单不变。请稍后重试") from e
        except SQLAlchemyError as e:
            raise UserError(f"清单没有保存（数据库出错：{type(e).__name__}），原来的清单不变") from e
        return self.current()

    def current(self) -> ListVersion | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(lists).order_by(lists.c.version.desc()).limit(1)).mappings().first()
        return _version(row) if row else None

    def versions(self) -> list[ListVersion]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(lists).order_by(lists.c.version.desc())).mappings().all()
        return [_version(r) for r in rows]

    def items(self, version: ListVersion | None = None) -> list[Item]:
        version = version or self.current()
        if version is None:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(select(items).where(items.c.list_id == version.id).order_by(items.c.seq)).mappings()
            return [Item(code=r["code"], matter=r["matter"], lead=r["lead"], partners=r["partners"], duty=r["duty"],
                         basis=r["basis"], notes=r["notes"]) for r in rows]

    # ------------------------------------------------------------ the record
    def add_record(self, *, user: str, list_version: int, ticket: str, codes: list[str], result: dict) -> int:
        with self.engine.begin() as conn:
            return conn.execute(insert(records).values(
                created_at=_now(), username=user, list_version=list_version, ticket=ticket,
                codes=json.dumps(codes, ensure_ascii=False), result=json.dumps(result, ensure_ascii=False),
                status="pending", note="")).inserted_primary_key[0]

    def get(self, record_id: int) -> Record | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(records).where(records.c.id == int(record_id))).mappings().first()
        return _record(row) if row else None

    def review(self, record_id: int, *, user: str, accepted: bool, codes: list[str] | None = None,
               note: str = "") -> Record:
        """Accept the dispatch as it was, or correct it to ``codes`` ([] = no item fits)."""
        rec = self.get(record_id)
        if rec is None:
            raise UserError(f"没有编号为 {record_id} 的派单记录")
        final = rec.codes if accepted else list(codes or [])
        if not accepted and final == rec.codes:
            accepted = True  # "corrected" to what it already was: nothing to learn from
        with self.engine.begin() as conn:
            conn.execute(update(records).where(records.c.id == rec.id).values(
                status="accepted" if accepted else "corrected", final_codes=json.dumps(final, ensure_ascii=False),
                reviewed_by=user, reviewed_at=_now(), note=note[:500]))
        return self.get(rec.id)

    def corrections(self, limit: int = 500) -> list[Record]:
        """Corrected dispatches, newest first: the examples the matcher shows the model."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(records).where(records.c.status == "corrected")
                                .order_by(records.c.id.desc()).limit(limit)).mappings().all()
        return [_record(r) for r in rows]

    def records(self, limit: int = 1000, username: str | None = None) -> list[Record]:
        q = select(records).order_by(records.c.id.desc()).limit(limit)
        if username:
            q = q.where(records.c.username == username)
        with self.engine.connect() as conn:
            return [_record(r) for r in conn.execute(q).mappings().all()]

    def export_xlsx(self, path: str | Path, limit: int = 100_000) -> Path:
        """The record as an Excel workbook (one row per dispatched ticket)."""
        import openpyxl
        from openpyxl.styles import Alignment, Font

        path = Path(path)
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = "派单记录"
        header = ["记录号", "时间", "派单人", "清单版本", "工单", "派给（编号）", "派给（事项）", "社区职责", "无匹配",
                  "状态", "纠正为", "确认/纠正人", "确认/纠正时间", "备注"]
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for r in reversed(self.records(limit)):
            matched = r.result.get("matches", [])
            sheet.append([
                r.id, r.created_at, r.username, r.list_version, r.ticket, "、".join(r.codes),
                "、".join(m.get("事项", "") for m in matched), "、".join(m.get("社区职责", "") for m in matched),
                "是" if r.result.get("无匹配") else "否", STATUS_LABELS.get(r.status, r.status),
                ("、".join(r.final_codes) or "无匹配") if r.status == "corrected" else "",
                r.reviewed_by or "", r.reviewed_at, r.note])
        widths = [8, 20, 10, 9, 60, 14, 30, 12, 8, 8, 14, 12, 20, 20]
        for i, w in enumerate(widths):
            sheet.column_dimensions[openpyxl.utils.get_column_letter(i + 1)].width = w
        keep_as_text(sheet, min_row=2)  # a resident's words starting with "=" are text, never a formula
        for row in sheet.iter_rows(min_row=2):
            row[4].alignment = Alignment(wrap_text=True, vertical="top")
        path.parent.mkdir(parents=True, exist_ok=True)
        book.save(path)
        return path


def _version(row) -> ListVersion:
    return ListVersion(id=row["id"], version=row["version"], title=row["title"], source_file=row["source_file"],
                       imported_at=row["imported_at"], imported_by=row["imported_by"], n_items=row["n_items"],
                       report=json.loads(row["report"] or "{}"))


def _record(row) -> Record:
    return Record(id=row["id"], created_at=row["created_at"], username=row["username"],
                  list_version=row["list_version"], ticket=row["ticket"], codes=json.loads(row["codes"]),
                  result=json.loads(row["result"]), status=row["status"],
                  final_codes=None if row["final_codes"] is None else json.loads(row["final_codes"]),
                  reviewed_by=row["reviewed_by"], reviewed_at=row["reviewed_at"], note=row["note"] or "")
