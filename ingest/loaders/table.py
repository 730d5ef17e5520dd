"""Tables (.xlsx, .csv): the first row is the header, every other row is one record."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from shegong.errors import BadDocument
from ingest.textutil import detect_decode
from ingest.types import Block, LoadedDocument

LABEL_COLUMNS = ("标题", "title", "名称", "name", "案例名称", "案例标题", "案例")


def load_xlsx(path: Path) -> LoadedDocument:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    except Exception as exc:  # BadZipFile, InvalidFileException, KeyError...
        raise BadDocument("Excel 文件已损坏，无法读取。如果是旧版 .xls 文件，请先另存为 .xlsx 再上传") from exc
    try:
        for sheet in workbook.worksheets:
            rows = [row for row in sheet.iter_rows(values_only=True) if any(_cell(v) for v in row)]
            if rows:
                meta = {"sheet": sheet.title}
                return _document(path, rows, meta)
    finally:
        workbook.close()
    raise BadDocument("Excel 文件里没有任何数据")


def load_csv(path: Path) -> LoadedDocument:
    text, encoding = detect_decode(path.read_bytes())
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;，")
    except csv.Error:
        dialect = csv.excel
    rows = [row for row in csv.reader(io.StringIO(text), dialect) if any(_cell(v) for v in row)]
    if not rows:
        raise BadDocument("CSV 文件里没有任何数据")
    return _document(path, rows, {"encoding": encoding})


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


def _document(path: Path, rows: list, meta: dict) -> LoadedDocument:
    header = [_cell(v) or f"第{i}列" for i, v in enumerate(rows[0], start=1)]
    data_rows = rows[1:]
    if not data_rows:
        raise BadDocument("表格只有表头，没有数据行")
    lowered = [h.lower() for h in header]
    label_index = next((lowered.index(name) for name in LABEL_COLUMNS if name in lowered), 0)

    blocks: list[Block] = []
    for row in data_rows:
        values = [_cell(v) for v in row]
        fields = {name: value for name, value in zip(header, values) if value}
        extra = [value for value in values[len(header) :] if value]  # cells beyond the header
        if extra:
            fields["其他"] = "；".join(extra)
        label = values[label_index] if label_index < len(values) and values[label_index] else next(iter(fields.values()))
        text = "\n".join(f"{name}：{value}" for name, value in fields.items())
        blocks.append(Block(kind="record", text=text, label=label, fields=fields))
    meta["rows"] = len(blocks)
    return LoadedDocument(title="", source=str(path), doc_type="case", blocks=blocks, meta=meta)
