"""Read a district's 权责清单 from XLSX or CSV and check every row.

Columns (exactly these names, any order): 编号,事项,主责部门,配合部门,社区职责,依据,说明.
A file-level problem (unreadable file, a missing column, no usable row) raises UserError and
nothing is imported; a bad row is reported with its line and reason and the good rows go on.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ingest.textutil import detect_decode
from shegong.errors import UserError

COLUMNS = ("编号", "事项", "主责部门", "配合部门", "社区职责", "依据", "说明")
REQUIRED = ("编号", "事项", "主责部门", "社区职责")  # 配合部门, 依据 and 说明 may be empty
DUTIES = ("牵头", "协助", "告知转办")
DUTY_MEANING = {
    "牵头": "居委会牵头办理",
    "协助": "居委会协助主责部门办理",
    "告知转办": "居委会告知居民办理途径并转办，不自行处理",
}
MAX_ITEMS = 2000
MAX_CELL = 3000  # a 说明 longer than this is a document, not a boundary note
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_.]{0,31}$")
SUFFIXES = (".xlsx", ".csv")


@dataclass
class Item:
    code: str       # 编号
    matter: str     # 事项
    lead: str       # 主责部门
    partners: str   # 配合部门
    duty: str       # 社区职责
    basis: str      # 依据
    notes: str      # 说明
    line: int = 0   # where it stood in the imported file (for messages)

    def to_json(self) -> dict:
        return {"编号": self.code, "事项": self.matter, "主责部门": self.lead, "配合部门": self.partners,
                "社区职责": self.duty, "依据": self.basis, "说明": self.notes}

    @classmethod
    def from_json(cls, d: dict) -> Item:
        return cls(code=d["编号"], matter=d["事项"], lead=d["主责部门"], partners=d.get("配合部门", ""),
                   duty=d["社区职责"], basis=d.get("依据", ""), notes=d.get("说明", ""))


@dataclass
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"第 {self.line} 行：{self.reason}"


@dataclass
class ParsedList:
    items: list[Item]
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    encoding: str = ""

    def report(self) -> str:
        """What the importer tells the supervisor, in Chinese."""
        lines = [f"可导入 {len(self.items)} 项"]
        if self.errors:
            lines.append(f"有 {len(self.errors)} 行有问题，未导入：")
            lines += [f"  {e}" for e in self.errors]
        lines += [f"提示：{w}" for w in self.warnings]
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {"items": len(self.items), "errors": [asdict(e) for e in self.errors], "warnings": self.warnings}


def read_list(path: str | Path) -> ParsedList:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        hint = "。旧版 .xls 请先在 Excel/WPS 中另存为 .xlsx" if suffix == ".xls" else ""
        raise UserError(f"权责清单只能是 Excel（.xlsx）或 CSV 文件，这个文件是 {suffix or '无扩展名'}{hint}")
    if not path.is_file():
        raise UserError(f"找不到文件：{path.name}")
    if path.stat().st_size == 0:
        raise UserError(f"文件是空的：{path.name}")
    if suffix == ".csv":
        rows, encoding, warnings = _csv_rows(path.read_bytes())
    else:
        rows, warnings = _xlsx_rows(path)
        encoding = "xlsx"
    parsed = parse_rows(rows)
    parsed.encoding = encoding
    parsed.warnings = warnings + parsed.warnings
    return parsed


def _csv_rows(data: bytes) -> tuple[list[tuple[int, list[str]]], str, list[str]]:
    decoded = detect_decode(data)  # UTF-8 with or without BOM, GBK/GB18030: offices save all of them
    reader = csv.reader(io.StringIO(decoded.text, newline=""))
    rows = []
    start = 1
    try:
        for row in reader:
            rows.append((start, [c.strip() for c in row]))  # the line the record starts on
            start = reader.line_num + 1
    except csv.Error as e:
        raise UserError(f"CSV 文件格式有误（第 {reader.line_num} 行附近：引号不成对或字段中有非法字符），"
                        "请用 Excel/WPS 打开后另存为 CSV 再导入") from e
    return rows, decoded.encoding, decoded.warnings


def _xlsx_rows(path: Path) -> tuple[list[tuple[int, list[str]]], list[str]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    except Exception as e:  # BadZipFile, InvalidFileException, a password-protected file...
        raise UserError("Excel 文件已损坏或设了打开密码，无法读取。请在 Excel/WPS 中另存为 .xlsx 后再导入") from e
    warnings: list[str] = []
    try:
        chosen = None
        for sheet in book.worksheets:
            rows = [(i, [_cell(v) for v in row]) for i, row in enumerate(sheet.iter_rows(values_only=True), 1)]
            rows = [(i, r) for i, r in rows if any(r)]
            if chosen is None and _header_index(rows) is not None:
                chosen = (sheet.title, rows)
            elif rows:
                warnings.append(f"工作表「{sheet.title}」没有读取（清单只读第一个带表头的工作表）")
    finally:
        book.close()
    if chosen is None:
        raise UserError(_missing_message(set()))
    if len(book.worksheets) > 1:
        warnings.insert(0, f"读取的是工作表「{chosen[0]}」")
    return chosen[1], warnings


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 3 as 3.0
    return str(value).strip()


def _header_index(rows: list[tuple[int, list[str]]]) -> int | None:
    """The header row: among the first three (a merged title row may stand above it), one naming 编号 and 事项."""
    for k, (_, row) in enumerate(rows[:3]):
        names = {c.replace(" ", "").lstrip("\ufeff") for c in row}
        if "编号" in names and "事项" in names:
            return k
    return None


def _missing_message(found: set[str]) -> str:
    missing = [c for c in COLUMNS if c not in found]
    return (f"清单缺少这些列：{'、'.join(missing)}。表头必须是：{','.join(COLUMNS)}"
            "（第一行，可以在它上面留一行标题）。清单没有导入，原来的清单不变。")


def parse_rows(rows: list[tuple[int, list[str]]]) -> ParsedList:
    """(line number, cells) rows, header included -> checked items."""
    rows = [(n, r) for n, r in rows if any(c.strip() for c in r)]
    if not rows:
        raise UserError("文件里没有任何内容。清单没有导入，原来的清单不变。")
    k = _header_index(rows)
    header_row = rows[k][1] if k is not None else rows[0][1]
    header = [c.replace(" ", "").lstrip("\ufeff") for c in header_row]
    if k is None or any(c not in header for c in COLUMNS):
        raise UserError(_missing_message(set(header)))
    warnings = []
    extra = [c for c in header if c and c not in COLUMNS]
    if extra:
        warnings.append(f"这些列不属于清单，已忽略：{'、'.join(extra)}")
    index = {c: header.index(c) for c in COLUMNS}
    items: list[Item] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for line, cells in rows[k + 1:]:
        values = {c: (cells[i].strip() if i < len(cells) else "") for c, i in index.items()}
        reason = _row_problem(values, seen)
        if reason:
            errors.append(RowError(line, reason))
            continue
        seen[values["编号"]] = line
        items.append(Item(code=values["编号"], matter=values["事项"], lead=values["主责部门"],
                          partners=values["配合部门"], duty=values["社区职责"], basis=values["依据"],
                          notes=values["说明"], line=line))
    if len(items) > MAX_ITEMS:
        raise UserError(f"清单有 {len(items)} 项，超过了 {MAX_ITEMS} 项的上限，请按街道拆分后分别使用。清单没有导入。")
    if not items:
        raise UserError("没有一行可以导入：\n" + "\n".join(f"  {e}" for e in errors[:20])
                        + "\n清单没有导入，原来的清单不变。")
    codes = {it.code for it in items}
    dangling = sorted({ref for it in items for ref in cross_refs(it.notes) if ref not in codes})
    if dangling:
        warnings.append(f"说明中提到的这些编号不在清单里：{'、'.join(dangling)}（可能写错，或对应的行有问题未导入）")
    return ParsedList(items=items, errors=errors, warnings=warnings)


def _row_problem(values: dict[str, str], seen: dict[str, int]) -> str:
    empty = [c for c in REQUIRED if not values[c]]
    if empty:
        return f"{'、'.join(empty)}为空"
    code = values["编号"]
    if not CODE.match(code):
        return f"编号“{code}”不合格式（只能用字母、数字和减号，最长 32 位，例如 A-017）"
    if code in seen:
        return f"编号 {code} 重复（第 {seen[code]} 行已有这个编号，保留了那一行）"
    if values["社区职责"] not in DUTIES:
        return f"社区职责“{values['社区职责']}”不认识，只能是：{'、'.join(DUTIES)}"
    long = [c for c, v in values.items() if len(v) > MAX_CELL]
    if long:
        return f"“{long[0]}”太长（{len(values[long[0]])} 字，最多 {MAX_CELL} 字）"
    return ""


CROSS_REF = re.compile(r"见\s*([A-Za-z0-9][A-Za-z0-9\-_.]*[A-Za-z0-9])((?:\s*[、，,和及]\s*[A-Za-z0-9][A-Za-z0-9\-_.]*[A-Za-z0-9])*)")


def cross_refs(notes: str) -> list[str]:
    """The 编号 a 说明 points to ("工厂废气见A-018"; "违法搭建见A-020、A-021")."""
    out = []
    for m in CROSS_REF.finditer(notes):
        out.append(m.group(1))
        out += re.findall(r"[A-Za-z0-9][A-Za-z0-9\-_.]*[A-Za-z0-9]", m.group(2))
    return out
