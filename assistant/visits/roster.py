"""Reading a resident roster (花名册) as offices keep it: .xlsx or .csv (UTF-8 or GBK), the columns found by
their Chinese titles, and which rows without an ID number are residents already in the ledger."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from shegong.errors import UserError

HEADERS = {
    "name": ("姓名", "名字", "居民姓名"),
    "id_number": ("身份证号", "身份证号码", "公民身份号码", "证件号码", "身份证"),
    "gender": ("性别",),
    "birth_date": ("出生日期", "生日", "出生年月"),
    "phone": ("联系电话", "电话", "手机", "手机号", "联系方式"),
    "address": ("住址", "地址", "家庭住址", "居住地址"),
    "categories": ("人员类别", "类别", "对象类别", "重点人群"),
    "lives_alone": ("是否独居", "独居"),
}


@dataclass
class BadRow:
    line: int  # as the office sees it: line 1 is the header row
    reason: str
    name: str = ""


@dataclass
class ImportReport:
    imported: int = 0
    updated: int = 0
    bad: list[BadRow] = field(default_factory=list)

    def summary(self) -> str:
        text = f"导入 {self.imported} 人，更新 {self.updated} 人"
        if self.bad:
            text += f"，{len(self.bad)} 行有问题未导入：\n" + "\n".join(
                f"  第 {b.line} 行{('（' + b.name + '）') if b.name else ''}：{b.reason}" for b in self.bad)
        return text


def read_rows(path: Path) -> list[list[str]]:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except (InvalidFileException, KeyError, OSError, ValueError, zipfile.BadZipFile) as e:
            raise UserError(f"无法读取 Excel 文件 {path.name}：文件可能已损坏或设了密码（{type(e).__name__}）") from e
        sheet = book.worksheets[0]
        rows = [["" if v is None else (v.date().isoformat() if isinstance(v, dt.datetime) else
                                       v.isoformat() if isinstance(v, dt.date) else str(v).strip()) for v in row]
                for row in sheet.iter_rows(values_only=True)]
        book.close()
        return rows
    if suffix == ".csv":
        data = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):  # Excel on a Chinese Windows saves CSV as GBK
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise UserError(f"{path.name} 的编码无法识别，请在 Excel 里另存为“CSV UTF-8”后再导入")
        return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
    if suffix == ".xls":
        raise UserError("不支持旧版 .xls 文件，请在 Excel 里另存为 .xlsx 后再导入")
    raise UserError(f"花名册只能是 .xlsx 或 .csv 文件，{path.name} 不是")


def columns_of(header: list[str]) -> dict[str, int]:
    cols = {}
    for i, title in enumerate(header):
        title = re.sub(r"\s+", "", title or "")
        for key, names in HEADERS.items():
            if title in names and key not in cols:
                cols[key] = i
    if "name" not in cols:
        raise UserError("花名册第 1 行要有列名，并且至少有“姓名”一列（还可以有：身份证号、性别、出生日期、联系电话、住址、人员类别、是否独居）")
    return cols


def parse_date(text: str) -> dt.date | None:
    m = re.match(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})", text or "")
    if not m:
        return None
    try:
        return dt.date(*(int(x) for x in m.groups()))
    except ValueError:
        return None


def same_person(row, entry: dict) -> bool:
    """A roster row without an ID number is a resident already in the ledger without one (same community and
    name) when the phone or the birth date is the same, or when neither has a phone or a birth date."""
    phone = re.sub(r"\D", "", entry["phone"])
    if phone and re.sub(r"\D", "", row.phone or "") == phone:
        return True
    if entry["birth_date"] and row.birth_date == entry["birth_date"]:
        return True
    return not (phone or entry["birth_date"] or row.phone or row.birth_date)
