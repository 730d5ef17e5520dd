"""Question bank files: JSON Lines, CSV and XLSX, read with every bad row reported and written back.

Spreadsheet layout (the first row with 题干 and 答案 is the header; a title row above it is skipped):

    题号 | 题型 | 科目 | 级别 | 标签 | 题干 | 选项A | 选项B | … | 选项H | 答案 | 解析 | 来源

English headers (id, type, subject, level, tags, stem, A…H, answer, explanation, source) work too.
Tags in one cell are separated by 、 or commas; a 判断题's answer may be written 正确/错误 or √/×.
A bad row never stops the others: it is reported with its row number, the rest are read.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from assistant.drills.bank import LETTERS, TYPE_LABELS, BankError, Question, question_from_record
from shegong.errors import UserError
from shegong.spreadsheet import keep_as_text

SUFFIXES = (".jsonl", ".json", ".csv", ".xlsx")
MAX_ROWS = 20000
MAX_UNZIPPED_MB = 200  # an .xlsx is a zip: its parts are checked before openpyxl inflates them

# Column header (as people write it) -> record field
HEADERS = {"题号": "id", "编号": "id", "id": "id", "题型": "type", "type": "type", "科目": "subject",
           "subject": "subject", "级别": "level", "level": "level", "标签": "tags", "知识点": "tags",
           "tags": "tags", "题干": "stem", "题目": "stem", "stem": "stem", "答案": "answer", "正确答案": "answer",
           "answer": "answer", "解析": "explanation", "答案解析": "explanation", "explanation": "explanation",
           "来源": "source", "出处": "source", "source": "source"}
HEADERS.update({f"选项{ch}": ch for ch in LETTERS} | {ch: ch for ch in LETTERS} | {ch.lower(): ch for ch in LETTERS})
EXPORT_COLUMNS = ["题号", "题型", "科目", "级别", "标签", "题干"]  # then 选项A… , then the tail below
EXPORT_TAIL = ["答案", "解析", "来源"]


@dataclass
class RowProblem:
    where: str  # "第 5 行" / "工作表「单选」第 5 行"
    message: str
    qid: str = ""

    def __str__(self) -> str:
        return f"{self.where}{f'（{self.qid}）' if self.qid else ''}：{self.message}"


@dataclass
class BankFile:
    """What a file held: the good questions and the rows that could not be read."""

    questions: list[Question] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


def read_bank(path: Path | str, collection: str | None = None) -> BankFile:
    """Read a bank file; raises UserError only when the file as a whole cannot be read."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UserError(f"不支持的题库文件类型：{suffix or '（无扩展名）'}。支持 JSON Lines（.jsonl）、CSV（.csv）和 Excel（.xlsx）")
    if not path.is_file():
        raise UserError(f"找不到题库文件：{path}")
    collection = collection if collection is not None else path.stem
    if suffix == ".xlsx":
        rows = _xlsx_rows(path)
    elif suffix == ".csv":
        rows = _csv_rows(path)
    else:
        rows = _json_rows(path)
    out = BankFile()
    first_seen: dict[str, str] = {}
    for where, record in rows:
        qid = str(record.get("id") or "").strip() if isinstance(record, dict) else ""
        if isinstance(record, BankError):
            out.problems.append(RowProblem(where, str(record)))
            continue
        try:
            question = question_from_record(record, collection)
        except BankError as e:
            out.problems.append(RowProblem(where, str(e), qid))
            continue
        if question.id in first_seen:
            out.problems.append(RowProblem(where, f"题号与{first_seen[question.id]}重复，这一行没有导入", question.id))
            continue
        first_seen[question.id] = where
        out.questions.append(question)
    if not out.questions and not out.problems:
        raise UserError("题库文件里没有任何题目")
    return out


def _json_rows(path: Path):
    text = _decode(path.read_bytes())
    if path.suffix.lower() == ".json" and text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as e:
            raise UserError(f"JSON 文件格式有误（第 {e.lineno} 行）：请检查括号和引号是否成对") from e
        _check_rows(len(items))
        return [(f"第 {i} 题", item) for i, item in enumerate(items, 1)]
    lines = text.splitlines()
    _check_rows(len(lines))
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append((f"第 {n} 行", json.loads(line)))
        except json.JSONDecodeError:
            rows.append((f"第 {n} 行", BankError("不是合法的 JSON（每行应当是一个完整的 {…} 对象，检查引号和逗号）")))
    return rows


def _decode(data: bytes) -> str:
    from ingest.textutil import detect_decode

    return detect_decode(data).text  # UTF-8 or the GBK that Excel on Chinese Windows writes


def _check_rows(n: int) -> None:
    if n > MAX_ROWS:
        raise UserError(f"题库文件太大（{n} 行），一次最多导入 {MAX_ROWS} 行，请拆分后分批导入")


def _records(table: list[list], where_prefix: str = "", first_row: int = 1):
    """Header + data rows of one sheet -> (where, record) pairs; None when the sheet has no header."""
    for h, row in enumerate(table[:10]):
        names = [HEADERS.get(str(c or "").strip().replace(" ", "")) for c in row]
        if "stem" in names and "answer" in names:
            break
    else:
        return None
    out = []
    for offset, row in enumerate(table[h + 1:], h + 1 + first_row):
        if not any(str(c or "").strip() for c in row):
            continue
        record: dict = {"options": {}}
        for name, cell in zip(names, row):
            if name is None or cell is None or str(cell).strip() == "":
                continue
            if len(name) == 1:  # an option column
                record["options"][name] = cell
            else:
                record[name] = cell
        if not record["options"]:
            record.pop("options")
        out.append((f"{where_prefix}第 {offset} 行", record))
    return out


def _csv_rows(path: Path):
    text = _decode(path.read_bytes())
    table = list(csv.reader(io.StringIO(text)))
    _check_rows(len(table))
    rows = _records(table)
    if rows is None:
        raise UserError("CSV 文件里找不到表头：第一行应当有“题号、题干、选项A、选项B…、答案、解析”等列（见说明文档）")
    return rows


def _xlsx_rows(path: Path):
    import openpyxl

    try:
        with zipfile.ZipFile(path) as z:
            if sum(info.file_size for info in z.infolist()) > MAX_UNZIPPED_MB * 2**20:
                raise UserError(f"Excel 文件解压后超过 {MAX_UNZIPPED_MB} MB，不像是题库，没有导入")
        book = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    except UserError:
        raise
    except Exception as e:  # BadZipFile, InvalidFileException, KeyError…
        raise UserError("Excel 文件已损坏，无法读取。如果是旧版 .xls 文件，请先另存为 .xlsx 再导入") from e
    rows, sheets_read = [], 0
    try:
        several = len(book.worksheets) > 1
        for sheet in book.worksheets:
            table = [list(r) for r in sheet.iter_rows(values_only=True)]
            _check_rows(len(rows) + len(table))
            found = _records(table, f"工作表「{sheet.title}」" if several else "")
            if found is not None:
                rows += found
                sheets_read += 1
    finally:
        book.close()
    if not sheets_read:
        raise UserError("Excel 文件里找不到表头：第一行应当有“题号、题干、选项A、选项B…、答案、解析”等列（见说明文档）")
    return rows


# ---------------------------------------------------------------- export
def write_bank(path: Path | str, questions: list[Question]) -> int:
    """Write questions in the layout the file's suffix names; returns how many were written."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UserError(f"不支持导出为 {suffix or '（无扩展名）'}，请用 .jsonl、.csv 或 .xlsx 结尾的文件名")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if suffix in (".jsonl", ".json"):
        tmp.write_text("".join(json.dumps(q.to_record(), ensure_ascii=False) + "\n" for q in questions),
                       encoding="utf-8")
    else:
        n_options = max((len(q.options) for q in questions), default=4)
        header = EXPORT_COLUMNS + [f"选项{ch}" for ch in LETTERS[:n_options]] + EXPORT_TAIL
        rows = [header] + [_row(q, n_options) for q in questions]
        if suffix == ".csv":
            with open(tmp, "w", encoding="utf-8-sig", newline="") as f:  # the BOM lets Excel read it as UTF-8
                csv.writer(f).writerows(rows)
        else:
            _write_xlsx(tmp, rows)
    tmp.replace(path)  # a failed export never leaves half a file under the real name
    return len(questions)


def _row(q: Question, n_options: int) -> list[str]:
    return ([q.id, TYPE_LABELS[q.type], q.subject, q.level, "、".join(q.tags), q.stem]
            + [q.options.get(ch, "") for ch in LETTERS[:n_options]] + [q.answer, q.explanation, q.source])


def _write_xlsx(path: Path, rows: list[list[str]]) -> None:
    import openpyxl
    from openpyxl.styles import Alignment, Font

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "题库"
    for row in rows:
        sheet.append(row)
    keep_as_text(sheet)  # a stem or option starting with "=" is text, never a formula
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = {"题干": 50, "解析": 50, "来源": 30}
    for i, name in enumerate(rows[0], 1):
        letter = openpyxl.utils.get_column_letter(i)
        sheet.column_dimensions[letter].width = widths.get(name, 24 if name.startswith("选项") else 12)
        if name in widths:
            for cell in sheet[letter][1:]:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    book.save(str(path))
