"""The resident ledger (台账): residents, their visits, and which community each account works in.

SQLAlchemy Core on the app database (shegong/db.py): SQLite by default, a district PostgreSQL with
SHEGONG_DATABASE_URL; only portable constructs, dates computed in Python. Every read takes a community
(None = all, for an administrator): the Service decides which one an account may see. ID numbers and
phone numbers never go to the log unmasked.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from pathlib import Path

from sqlalchemy import (Boolean, Column, Date, DateTime, ForeignKey, Integer, MetaData, String, Table, Text,
                        UniqueConstraint, and_, func, inspect, insert, select, text, update)

from assistant.visits.parsers import birth_date, id_card_problem, phone_problem
from assistant.visits.record import VisitRecord
from assistant.visits.roster import BadRow, ImportReport, columns_of, parse_date, read_rows, same_person
from shegong import db
from shegong.errors import UserError

log = logging.getLogger(__name__)
metadata = MetaData()

residents = Table(
    "visit_residents", metadata,
    Column("id", Integer, primary_key=True),
    Column("community", String(100), nullable=False, index=True),
    Column("name", String(50), nullable=False),
    Column("id_number", String(18)),
    Column("gender", String(2), nullable=False, default=""),
    Column("birth_date", Date),
    Column("phone", String(30), nullable=False, default=""),
    Column("address", String(200), nullable=False, default=""),
    Column("categories", String(200), nullable=False, default=""),  # "独居老人、低保对象"
    Column("lives_alone", Boolean, nullable=False, default=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("community", "id_number", name="visit_residents_community_id"),
)

visits = Table(
    "visit_records", metadata,
    Column("id", Integer, primary_key=True),
    Column("community", String(100), nullable=False, index=True),
    Column("resident_id", Integer, ForeignKey("visit_residents.id", ondelete="SET NULL"), index=True),
    Column("subject", String(50), nullable=False, default=""),
    Column("visit_date", Date, nullable=False, index=True),
    Column("visit_time", String(30), nullable=False, default=""),
    Column("method", String(10), nullable=False, default=""),
    Column("categories", String(200), nullable=False, default=""),
    Column("risk", String(2), nullable=False, default="低"),
    Column("flags", String(300), nullable=False, default=""),
    Column("referrals", String(500), nullable=False, default=""),  # departments, "、"-joined
    Column("resolved", Boolean, nullable=False, default=False),  # the risk found was dealt with
    Column("record", Text, nullable=False),  # the record's JSON, as saved after editing
    Column("created_by_uid", String(64)),  # the account's uid (service/appdb.py: never reused)
    Column("created_at", DateTime, nullable=False),
)

# Which community an account works in, keyed by the account's uid (service/appdb.py), never by its name or
# its row id: SQLite hands a deleted account's row id out again, and a name deleted and created again is another
# account, which must not inherit the old one's community (the users table is not touched).
user_communities = Table(
    "visit_account_communities", metadata,
    Column("user_uid", String(64), primary_key=True),
    Column("community", String(100), nullable=False),
    Column("set_at", DateTime, nullable=False),
)

SEP = "、"


_BAD_NAME_CHARS = "/\\?*[]:"  # they break Excel sheet titles (the exports are named after the community)


def community_name(text: str | None) -> str:
    """A community name as typed, checked: not empty, at most 100 characters (the columns' size; PostgreSQL
    refuses longer), none of / \\ ? * [ ] :."""
    name = (text or "").strip()
    if not name:
        raise UserError("请填写社区名称")
    if len(name) > 100:
        raise UserError(f"社区名称太长（最多 100 字，现在 {len(name)} 字）")
    bad = "".join(dict.fromkeys(c for c in name if c in _BAD_NAME_CHARS))
    if bad:
        raise UserError(f"社区名称里不能有这些符号：{' '.join(bad)}")
    return name


def mask_id(number: str | None) -> str:
    number = number or ""
    return number[:4] + "*" * max(len(number) - 8, 0) + number[-4:] if len(number) > 8 else "*" * len(number)


def mask_phone(number: str | None) -> str:
    digits = re.sub(r"\D", "", number or "")
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "*" * len(digits)


def age_on(born: dt.date | None, day: dt.date) -> int | None:
    if born is None:
        return None
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _add_uid_column(engine) -> None:
    """A visits table made before accounts had uids has ``created_by`` (a row id) and no ``created_by_uid``."""
    columns = {c["name"] for c in inspect(engine).get_columns(visits.name)}
    if "created_by_uid" not in columns:
        with engine.begin() as conn:
            conn.execute(text(f"ALTER TABLE {visits.name} ADD COLUMN created_by_uid VARCHAR(64)"))


class Ledger:
    def __init__(self, url: str | None = None):
        self.engine = db.ensure_tables(metadata, url)
        _add_uid_column(self.engine)

    # ------------------------------------------------------------ communities of accounts
    def set_community(self, user_uid: str, community: str) -> None:
        community = community_name(community)
        if not user_uid:  # an account not in the users table (or this computer's system user)
            raise UserError("找不到这个账号的记录，无法设置所属社区")
        with self.engine.begin() as conn:
            done = conn.execute(update(user_communities).where(user_communities.c.user_uid == user_uid)
                                .values(community=community, set_at=dt.datetime.now())).rowcount
            if not done:
                conn.execute(insert(user_communities).values(user_uid=user_uid, community=community,
                                                              set_at=dt.datetime.now()))

    def community_of(self, user_uid: str) -> str | None:
        if not user_uid:
            return None
        with self.engine.connect() as conn:
            return conn.execute(select(user_communities.c.community)
                                .where(user_communities.c.user_uid == user_uid)).scalar_one_or_none()

    # ------------------------------------------------------------ roster
    def import_roster(self, path: str | Path, community: str) -> ImportReport:
        """Import a roster: good rows go in (an ID number already in the community updates that person, so does
        a row without one whose name and phone or birth date match a resident without one),
        each bad row is reported with its line and the reason. Nothing is half-written."""
        path = Path(path)
        community = (community or "").strip()
        if not community:
            raise UserError("请先确定要导入到哪个社区")
        if not path.is_file():
            raise UserError(f"找不到花名册文件：{path.name}")
        rows = read_rows(path)
        if not rows:
            raise UserError(f"{path.name} 是空的")
        cols = columns_of(rows[0])
        report = ImportReport()
        good: dict[str, dict] = {}
        no_id: list[dict] = []
        for line, row in enumerate(rows[1:], 2):
            def cell(key: str) -> str:
                i = cols.get(key)
                return row[i].strip() if i is not None and i < len(row) and row[i] else ""

            if not any(c.strip() for c in row):
                continue
            name = cell("name")
            reasons = []
            if not name:
                reasons.append("没有填姓名")
            elif len(name) > 50:
                reasons.append("姓名太长")
            id_number = cell("id_number").replace(" ", "").upper()
            if id_number:
                problem = id_card_problem(id_number)
                if problem:
                    reasons.append(problem)
            phone = cell("phone")
            if phone:
                problem = phone_problem(phone)
                if problem:
                    reasons.append(problem)
            born = parse_date(cell("birth_date"))
            if cell("birth_date") and born is None:
                reasons.append("出生日期看不懂（请写成 1941-03-15）")
            if id_number and id_number in good:
                reasons.append(f"身份证号与第 {good[id_number]['_line']} 行重复")
            if reasons:
                report.bad.append(BadRow(line, "；".join(reasons), name))
                continue
            if born is None and id_number:
                born = birth_date(id_number)
            gender = cell("gender")[:1]
            if not gender and id_number:
                gender = "男" if int(id_number[16]) % 2 else "女"
            categories = SEP.join(c for c in re.split(r"[、,，;；/\s]+", cell("categories")) if c)
            alone = cell("lives_alone") in ("是", "独居", "Y", "y", "1", "√") or "独居" in categories
            entry = {"community": community, "name": name, "id_number": id_number or None, "gender": gender,
                     "birth_date": born, "phone": re.sub(r"\s", "", phone), "address": cell("address")[:200],
                     "categories": categories[:200], "lives_alone": alone, "created_at": dt.datetime.now(),
                     "_line": line}
            (good.__setitem__(id_number, entry) if id_number else no_id.append(entry))
        with self.engine.begin() as conn:
            existing = dict(conn.execute(select(residents.c.id_number, residents.c.id).where(
                and_(residents.c.community == community, residents.c.id_number.is_not(None)))).all())
            changes = [(existing[e["id_number"]], e) for e in good.values() if e["id_number"] in existing]
            new_rows = [e for e in good.values() if e["id_number"] not in existing]
            unnumbered: dict[str, list] = {}  # residents without an ID number, by name
            for r in conn.execute(select(residents.c.id, residents.c.name, residents.c.phone, residents.c.birth_date)
                                  .where(and_(residents.c.community == community, residents.c.id_number.is_(None)))
                                  .order_by(residents.c.id)):
                unnumbered.setdefault(r.name, []).append(r)
            for e in no_id:  # the same name and phone or birth date: the same person, imported again
                known = unnumbered.get(e["name"], [])
                same = next((r for r in known if same_person(r, e)), None)
                if same is None:
                    new_rows.append(e)
                else:
                    known.remove(same)
                    changes.append((same.id, e))
            for resident_id, e in changes:
                values = {k: v for k, v in e.items() if k not in ("_line", "created_at", "community")}
                conn.execute(update(residents).where(residents.c.id == resident_id).values(**values))
            report.updated = len(changes)
            if new_rows:
                conn.execute(insert(residents), [{k: v for k, v in e.items() if k != "_line"} for e in new_rows])
            report.imported = len(new_rows)
        log.info("roster %s imported into %s: %d new, %d updated, %d bad rows", path.name, community,
                 report.imported, report.updated, len(report.bad))
        return report

    # ------------------------------------------------------------ residents and visits
    def residents(self, community: str | None, name: str | None = None) -> list[dict]:
        query = select(residents)
        if community is not None:
            query = query.where(residents.c.community == community)
        if name:
            query = query.where(residents.c.name == name)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query.order_by(residents.c.id))]

    def find_resident(self, community: str, record: VisitRecord) -> int | None:
        """The ledger entry a record is about: by ID number, else a unique name in the community."""
        with self.engine.connect() as conn:
            for number in record.id_numbers:
                found = conn.execute(select(residents.c.id).where(and_(residents.c.community == community,
                                                                       residents.c.id_number == number))).first()
                if found:
                    return found[0]
            if record.subject:
                found = conn.execute(select(residents.c.id).where(and_(residents.c.community == community,
                                                                       residents.c.name == record.subject))).all()
                if len(found) == 1:
                    return found[0][0]
        return None

    def add_visit(self, record: VisitRecord, community: str, user_uid: str | None = None,
                  resident_id: int | None = None, record_json: dict | None = None) -> int:
        """Save a visit (as edited by the social worker: ``record_json`` when given)."""
        data = record_json or record.to_json()
        if resident_id is None:
            resident_id = self.find_resident(community, record)
        day = parse_date(data.get("走访时间") or "") or record.visit_date
        risk = (data.get("风险等级") or {}).get("等级") or record.risk
        if risk not in ("低", "中", "高"):
            raise UserError("风险等级只能是 低、中、高")
        flags = (data.get("风险等级") or {}).get("风险标记") or record.flags
        with self.engine.begin() as conn:
            visit_id = conn.execute(insert(visits).values(
                community=community, resident_id=resident_id, subject=(data.get("走访对象") or {}).get("姓名", "")[:50],
                visit_date=day, visit_time=data.get("走访时间", "")[:30], method=data.get("走访方式", "")[:10],
                categories=SEP.join(data.get("对象类别") or [])[:200], risk=risk, flags=SEP.join(flags)[:300],
                referrals=SEP.join(dict.fromkeys(r["部门"] for r in data.get("建议转介") or []))[:500],
                resolved=False, record=json.dumps(data, ensure_ascii=False), created_by_uid=user_uid,
                created_at=dt.datetime.now())).inserted_primary_key[0]
        log.info("visit %s saved for %s (%s, risk %s)", visit_id, community, record.summary_line(), risk)
        return visit_id

    def set_resolved(self, visit_id: int, community: str | None, resolved: bool = True) -> None:
        with self.engine.begin() as conn:
            where = visits.c.id == visit_id
            if community is not None:
                where = and_(where, visits.c.community == community)
            if not conn.execute(update(visits).where(where).values(resolved=resolved)).rowcount:
                raise UserError(f"找不到编号为 {visit_id} 的走访记录")

    def visits(self, community: str | None, start: dt.date | None = None, end: dt.date | None = None) -> list[dict]:
        query = select(visits)
        if community is not None:
            query = query.where(visits.c.community == community)
        if start:
            query = query.where(visits.c.visit_date >= start)
        if end:
            query = query.where(visits.c.visit_date <= end)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query.order_by(visits.c.visit_date, visits.c.id))]

    def visit(self, visit_id: int, community: str | None) -> dict:
        rows = [v for v in self.visits(community) if v["id"] == visit_id]
        if not rows:
            raise UserError(f"找不到编号为 {visit_id} 的走访记录")
        return rows[0]

    def last_visits(self, community: str | None) -> dict[int, dt.date]:
        query = select(visits.c.resident_id, func.max(visits.c.visit_date)).where(visits.c.resident_id.is_not(None))
        if community is not None:
            query = query.where(visits.c.community == community)
        with self.engine.connect() as conn:
            return dict(conn.execute(query.group_by(visits.c.resident_id)).all())
