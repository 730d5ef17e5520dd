"""Tables (.xlsx, .csv): the first row is the header, every other row is one record.

Every non-empty sheet of a workbook is read. A title row above the header (usually a
merged cell such as "社区案例登记表") is recognised and skipped.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

from shegong.errors import BadDocument
from ingest.textutil import detect_decode
from ingest.types import Block, LoadedDocument

LABEL_COLUMNS = ("标题", "title", "名称", "name", "案例名称", "案例标题", "案例")
HEADER_ONLY = "表格只有表头，没有数据行"
FORMULA_NOT_SAVED = "表格中的公式没有保存计算结果，请在 Excel 中打开并保存后再导入"


@dataclass
class _Table:
    """The records of one sheet (or CSV file)."""

    title: str  # a title row above the header, "" if none; kept in meta, the file name stays the title
    blocks: list[Block]


def load_xlsx(path: Path) -> LoadedDocument:
    import openpyxl

    try:
        # Two views of the same file: cached values, and formulas. A formula cell whose
        # file was written by a program that does not compute it (not Excel/WPS) has no
        # cached value: we must tell the user instead of silently losing the cell.
        values_book = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
        formula_book = openpyxl.load_workbook(str(path), read_only=True, data_only=False)
    except Exception as exc:  # BadZipFile, InvalidFileException, KeyError...
        raise BadDocument("Excel 文件已损坏，无法读取。如果是旧版 .xls 文件，请先另存为 .xlsx 再上传") from exc
    sheets: list[tuple[str, list, int]] = []  # (sheet name, non-empty rows, formula cells without a value)
    try:
        for values_sheet, formula_sheet in zip(values_book.worksheets, formula_book.worksheets):
            rows, unsaved = [], 0
            for values, formulas in zip(values_sheet.iter_rows(values_only=True), formula_sheet.iter_rows(values_only=True)):
                unsaved += sum(1 for v, f in zip(values, formulas) if v is None and _is_formula(f))
                if any(_cell(v) for v in values):
                    rows.append(values)
            sheets.append((values_sheet.title, rows, unsaved))
    finally:
        values_book.close()
        formula_book.close()

    tables: list[tuple[str, _Table]] = []
    warnings: list[str] = []
    header_only: list[str] = []
    for name, rows, unsaved in sheets:
        table = _table(rows) if rows else None
        if table and table.blocks:
            tables.append((name, table))
        elif table and not unsaved:  # with unsaved formulas the rows only look empty
            header_only.append(name)
        if unsaved:
            warnings.append(f"工作表「{name}」中有 {unsaved} 个公式单元格没有保存计算结果，已留空。请在 Excel 中打开并保存后再导入")
    if not tables:
        if any(unsaved for _, _, unsaved in sheets):
            raise BadDocument(FORMULA_NOT_SAVED)
        raise BadDocument(HEADER_ONLY if header_only else "Excel 文件里没有任何数据")
    if header_only:
        warnings.append("以下工作表只有表头，没有数据行，已跳过：" + "、".join(f"「{name}」" for name in header_only))

    blocks: list[Block] = []
    for name, table in tables:
        if len(tables) > 1:  # several sheets: the sheet name tells the user where a record is
            for block in table.blocks:
                block.label = f"{name} › {block.label}"
        blocks.extend(table.blocks)
    names = [name for name, _ in tables]
    meta = {"sheet": "、".join(names), "sheets": names, "rows": len(blocks)}
    titles = [table.title for _, table in tables if table.title]
    if titles:
        meta["table_title"] = "、".join(dict.fromkeys(titles))
    return LoadedDocument(title="", source=str(path), doc_type="case", blocks=blocks, meta=meta, warnings=warnings)


def load_csv(path: Path) -> LoadedDocument:
    decoded = detect_decode(path.read_bytes())
    text = decoded.text
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;，")
    except csv.Error:
        dialect = csv.excel
    rows = [row for row in csv.reader(io.StringIO(text), dialect) if any(_cell(v) for v in row)]
    if not rows:
        raise BadDocument("CSV 文件里没有任何数据")
    table = _table(rows)
    if not table.blocks:
        raise BadDocument(HEADER_ONLY)
    meta = {"encoding": decoded.encoding, "rows": len(table.blocks)}
    if table.title:
        meta["table_title"] = table.title
    return LoadedDocument(title="", source=str(path), doc_type="case", blocks=table.blocks, meta=meta,
                          warnings=decoded.warnings)


def _is_formula(value) -> bool:
    from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

    return isinstance(value, (ArrayFormula, DataTableFormula)) or (isinstance(value, str) and value.startswith("="))


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 3 as 3.0
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _table_rows(rows: list) -> tuple[str, list, list]:
    """Split non-empty rows into (title, header row, data rows).

    A first row with a single filled cell followed by a row with several filled cells
    is a title above the real header (a merged title cell in Excel).
    """
    filled = [[_cell(v) for v in row if _cell(v)] for row in rows[:2]]
    if len(rows) > 1 and len(filled[0]) == 1 and len(filled[1]) > 1:
        return filled[0][0], rows[1], rows[2:]
    return "", rows[0], rows[1:]


def _table(rows: list) -> _Table:
    title, header_row, data_rows = _table_rows(rows)
    header = [_cell(v) or f"第{i}列" for i, v in enumerate(header_row, start=1)]
    lowered = [h.lower() for h in header]
    label_index = next((lowered.index(name) for name in LABEL_COLUMNS if name in lowered), 0)

    blocks: list[Block] = []
    for row in data_rows:
        values = [_cell(v) for v in row]
        fields: dict[str, str] = {}
        for name, value in zip(header, values):
            if value:
                # a repeated column name (做法, 做法): keep both values under one label
                fields[name] = f"{fields[name]}；{value}" if name in fields else value
        extra = [value for value in values[len(header) :] if value]  # cells beyond the header
        if extra:
            fields["其他"] = "；".join(extra)
        label = values[label_index] if label_index < len(values) and values[label_index] else next(iter(fields.values()))
        text = "\n".join(f"{name}：{value}" for name, value in fields.items())
        blocks.append(Block(kind="record", text=text, label=label, fields=fields))
    return _Table(title=title, blocks=blocks)
