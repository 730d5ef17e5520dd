"""A visit record: the fixed schema of the issue, each field with the spans of the jotting it came from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

# The JSON keys, in the order an office form lists them.
FIELDS = ["走访对象", "对象类别", "走访时间", "走访方式", "基本情况", "发现的问题", "风险等级", "需求", "已采取措施",
          "后续跟进", "建议转介"]
EXTRA = ["走访记录", "待补充", "已删除的无依据内容"]

Span = tuple[int, int]


@dataclass
class Item:
    """One piece of the jotting put in a field: its text and where it is in the jotting."""

    text: str
    spans: list[Span] = field(default_factory=list)


@dataclass
class FollowUp:
    what: str
    who: str = ""
    when: str = ""  # YYYY-MM-DD when the jotting says (resolved against the visit date), else as written
    spans: list[Span] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"事项": self.what, "负责人": self.who, "期限": self.when}


@dataclass
class Referral:
    department: str
    reason: str  # the risk flag that calls for it

    def to_json(self) -> dict:
        return {"部门": self.department, "事由": self.reason}


@dataclass
class VisitRecord:
    jotting: str
    visit_date: dt.date  # the day the record is written against (relative dates resolve from it)
    subject: str = ""
    age: int | None = None
    phones: list[str] = field(default_factory=list)
    id_numbers: list[str] = field(default_factory=list)
    others: list[str] = field(default_factory=list)  # other people named (relatives, neighbours)
    categories: list[str] = field(default_factory=list)
    visit_time: str = ""  # "2026-03-12 下午" / "2026-03-03"
    method: str = ""  # 入户走访 / 电话走访
    basic: list[Item] = field(default_factory=list)
    problems: list[Item] = field(default_factory=list)
    needs: list[Item] = field(default_factory=list)
    measures: list[Item] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)
    referrals: list[Referral] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    risk: str = "低"
    risk_reasons: list[str] = field(default_factory=list)
    narrative: str = ""
    removed: list[str] = field(default_factory=list)  # what the checker took out of the narrative
    corrections: list[str] = field(default_factory=list)  # "严淑珍 → 严淑贞"
    spans: dict[str, list[Span]] = field(default_factory=dict)  # field name -> spans of the jotting
    flag_spans: dict[str, list[Span]] = field(default_factory=dict)

    # ------------------------------------------------------------------ views
    def missing(self) -> list[str]:
        """Fields the jotting does not state: left empty, never guessed."""
        out = []
        if not self.subject:
            out.append("走访对象")
        if self.age is None:
            out.append("年龄")
        if not self.phones:
            out.append("联系电话")
        if not self.categories:
            out.append("对象类别")
        if not self.visit_time:
            out.append("走访时间")
        if not self.method:
            out.append("走访方式")
        if not self.follow_ups:
            out.append("后续跟进")
        else:
            if any(not f.who for f in self.follow_ups):
                out.append("后续跟进的负责人")
            if any(not f.when for f in self.follow_ups):
                out.append("后续跟进的期限")
        return out

    def to_json(self) -> dict:
        subject = {"姓名": self.subject, "年龄": self.age, "联系电话": self.phones}
        if self.id_numbers:
            subject["身份证号"] = self.id_numbers
        if self.others:
            subject["其他人员"] = self.others
        return {
            "走访对象": subject,
            "对象类别": self.categories,
            "走访时间": self.visit_time,
            "走访方式": self.method,
            "基本情况": [i.text for i in self.basic],
            "发现的问题": [i.text for i in self.problems],
            "风险等级": {"等级": self.risk, "风险标记": self.flags, "理由": self.risk_reasons},
            "需求": [i.text for i in self.needs],
            "已采取措施": [i.text for i in self.measures],
            "后续跟进": [f.to_json() for f in self.follow_ups],
            "建议转介": [r.to_json() for r in self.referrals],
            "走访记录": self.narrative,
            "待补充": self.missing(),
            "已删除的无依据内容": self.removed,
        }

    def facts_text(self) -> str:
        """Everything the record states about the visit (the fields taken from the jotting and the narrative):
        what the no-invented-facts check reads. Rule outputs (risk reasons, referral departments) are
        the supervisor's wording, not facts about the resident."""
        parts = [self.subject, "、".join(self.others), self.visit_time, self.method, "、".join(self.phones),
                 "、".join(self.id_numbers), str(self.age or "")]
        parts += [i.text for i in self.basic + self.problems + self.needs + self.measures]
        parts += [f"{f.what} {f.who} {f.when}" for f in self.follow_ups]
        parts.append(self.narrative)
        return "\n".join(p for p in parts if p)

    def summary_line(self) -> str:
        """One line for lists and logs (no phone or ID number)."""
        return f"{self.subject or '（未写对象）'} {self.visit_time or self.visit_date.isoformat()} 风险{self.risk}"


def missing_in(data: dict) -> list[str]:
    """待补充 of a record's JSON as edited by hand (the same fields ``VisitRecord.missing`` lists)."""
    subject = data.get("走访对象") or {}
    out = [name for name, value in (("走访对象", subject.get("姓名")), ("年龄", subject.get("年龄") is not None),
                                    ("联系电话", subject.get("联系电话")), ("对象类别", data.get("对象类别")),
                                    ("走访时间", data.get("走访时间")), ("走访方式", data.get("走访方式")),
                                    ("后续跟进", data.get("后续跟进"))) if not value]
    follow = data.get("后续跟进") or []
    if any(not f.get("负责人") for f in follow):
        out.append("后续跟进的负责人")
    if any(not f.get("期限") for f in follow):
        out.append("后续跟进的期限")
    return out


RISKS = ("低", "中", "高")
_SUBJECT_KEYS = ("姓名", "年龄", "联系电话", "身份证号", "其他人员")
_TEXT_FIELDS = ("走访时间", "走访方式", "走访记录")
_LIST_FIELDS = ("对象类别", "基本情况", "发现的问题", "需求", "已采取措施", "待补充", "已删除的无依据内容")


def checked_json(data: dict) -> dict:
    """A record's JSON as a client sent it (the app's form, an API call), checked field by field against the
    shapes ``VisitRecord.to_json`` writes (null is taken as empty). A wrong shape raises a UserError naming
    the field: it would crash the save or be stored garbled (a string where a list belongs, joined char by char)."""
    from shegong.errors import UserError

    def wrong(name: str, shape: str):
        raise UserError(f"走访记录的“{name}”格式不对，应当是{shape}")

    def text(value, name: str) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            wrong(name, "一段文字")
        return value

    def texts(value, name: str) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            wrong(name, "文字列表，例如 [\"…\", \"…\"]")
        return list(value)

    def keyed(value, name: str, keys: tuple[str, ...]) -> dict:
        if not isinstance(value, dict):
            wrong(name, "{" + "、".join(f"“{k}”: …" for k in keys) + "}")
        unknown = [k for k in value if k not in keys]
        if unknown:
            raise UserError(f"“{name}”里没有这些栏目：{'、'.join(map(str, unknown))}（可以有：{'、'.join(keys)}）")
        return value

    out = dict(data)
    subject = keyed(data.get("走访对象"), "走访对象", _SUBJECT_KEYS)
    age = subject.get("年龄")
    if age is not None and (isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 150):
        wrong("年龄", "0 到 150 之间的整数")
    out["走访对象"] = {"姓名": text(subject.get("姓名"), "姓名"), "年龄": age,
                   "联系电话": texts(subject.get("联系电话"), "联系电话")}
    out["走访对象"].update({k: texts(subject[k], k) for k in ("身份证号", "其他人员") if k in subject})
    for key in _TEXT_FIELDS:
        out[key] = text(data.get(key), key)
    for key in _LIST_FIELDS:
        out[key] = texts(data.get(key), key)
    risk = keyed(data.get("风险等级"), "风险等级", ("等级", "风险标记", "理由"))
    if risk.get("等级") not in RISKS:
        raise UserError("风险等级只能是 低、中、高")
    out["风险等级"] = {"等级": risk["等级"], "风险标记": texts(risk.get("风险标记"), "风险标记"),
                   "理由": texts(risk.get("理由"), "风险等级的理由")}
    for key, keys, needed in (("后续跟进", ("事项", "负责人", "期限"), "事项"), ("建议转介", ("部门", "事由"), "部门")):
        items = data.get(key)
        if items is not None and not isinstance(items, list):
            wrong(key, "列表，每一项写成 {" + "、".join(f"“{k}”: …" for k in keys) + "}")
        rows = []
        for item in items or []:
            item = keyed(item, key, keys)
            row = {k: text(item.get(k), f"{key}的{k}") for k in keys}
            if not row[needed].strip():
                raise UserError(f"“{key}”的每一项都要写明{needed}")
            rows.append(row)
        out[key] = rows
    return out
