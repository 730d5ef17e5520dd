"""Spreadsheets and CSV on real files made in tmp_path: one record per row."""

from __future__ import annotations

import csv

import pytest

from ingest.chunking import chunk_document
from ingest.loaders import load_file
from shegong.errors import BadDocument

pytestmark = pytest.mark.unit


CASES = [
    ["标题", "场景", "问题", "做法"],
    ["独居老人失联", "独居老人两天没有出门", "联系不上老人", "联系家属并请物业开门"],
    [None, None, None, None],
    ["邻里噪音纠纷", "楼上装修噪音", "邻居多次投诉", "组织人民调解"],
    ["低保申请", "老人不会填表", None, "网格员上门代办"],
]


def test_xlsx_rows_become_records(tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.title = "空表"
    sheet = workbook.create_sheet("案例")
    for row in CASES:
        sheet.append(row)
    path = tmp_path / "案例库.xlsx"
    workbook.save(str(path))

    doc = load_file(path)
    assert doc.doc_type == "case" and doc.meta["sheet"] == "案例"
    chunks = chunk_document(doc)
    assert [c.location for c in chunks] == ["案例 1 · 独居老人失联", "案例 2 · 邻里噪音纠纷", "案例 3 · 低保申请"]
    assert chunks[0].text == "标题：独居老人失联\n场景：独居老人两天没有出门\n问题：联系不上老人\n做法：联系家属并请物业开门"
    assert chunks[2].meta["fields"] == {"标题": "低保申请", "场景": "老人不会填表", "做法": "网格员上门代办"}
    assert "邻里噪音纠纷" in chunks[1].index_text and "人民调解" in chunks[1].index_text


def test_xlsx_with_header_only_is_refused(tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.append(["标题", "做法"])
    path = tmp_path / "空案例.xlsx"
    workbook.save(str(path))
    with pytest.raises(BadDocument, match="没有数据行"):
        load_file(path)


def test_corrupt_xlsx_is_bad_document(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"this is not a spreadsheet" * 10)
    with pytest.raises(BadDocument, match="Excel"):
        load_file(path)


def test_gbk_csv(tmp_path):
    path = tmp_path / "案例.csv"
    with open(path, "w", encoding="gbk", newline="") as f:
        csv.writer(f).writerows([[c or "" for c in row] for row in CASES])
    doc = load_file(path)
    assert doc.meta["encoding"] == "gb18030"
    records = [b for b in doc.blocks if b.kind == "record"]
    assert [r.label for r in records] == ["独居老人失联", "邻里噪音纠纷", "低保申请"]
    assert records[1].fields["做法"] == "组织人民调解"


def test_xlsx_every_sheet_is_imported_with_its_name(tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.title = "一月"
    workbook.active.append(["标题", "做法"])
    workbook.active.append(["独居老人失联", "联系家属"])
    second = workbook.create_sheet("二月")
    second.append(["标题", "做法"])
    second.append(["邻里噪音纠纷", "人民调解"])
    second.append(["低保申请", "上门代办"])
    path = tmp_path / "案例库.xlsx"
    workbook.save(str(path))

    doc = load_file(path)
    assert doc.meta["sheets"] == ["一月", "二月"] and doc.meta["rows"] == 3
    assert [c.location for c in chunk_document(doc)] == [
        "案例 1 · 一月 › 独居老人失联",
        "案例 2 · 二月 › 邻里噪音纠纷",
        "案例 3 · 二月 › 低保申请",
    ]


def test_xlsx_header_only_sheet_does_not_hide_the_data_sheet(tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.title = "模板"
    workbook.active.append(["标题", "做法"])
    data = workbook.create_sheet("数据")
    data.append(["标题", "做法"])
    data.append(["独居老人失联", "联系家属"])
    path = tmp_path / "案例库.xlsx"
    workbook.save(str(path))

    doc = load_file(path)
    assert [b.label for b in doc.blocks] == ["独居老人失联"]  # one sheet with data: no sheet prefix
    assert doc.meta["sheet"] == "数据"
    assert doc.warnings == ["以下工作表只有表头，没有数据行，已跳过：「模板」"]


def test_xlsx_title_row_above_header_is_skipped(tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["社区案例登记表", None, None])
    sheet.merge_cells("A1:C1")
    sheet.append([])
    sheet.append(["标题", "场景", "做法"])
    sheet.append(["独居老人失联", "两天没有出门", "联系家属"])
    path = tmp_path / "案例登记.xlsx"
    workbook.save(str(path))

    doc = load_file(path)
    assert [b.fields for b in doc.blocks] == [{"标题": "独居老人失联", "场景": "两天没有出门", "做法": "联系家属"}]
    assert doc.title == "案例登记" and doc.meta["table_title"] == "社区案例登记表"


def test_duplicate_column_names_keep_both_values(tmp_path):
    path = tmp_path / "案例.csv"
    path.write_text("标题,做法,做法,备注\n独居老人失联,第一步上门探访,第二步电话回访,\n", encoding="utf-8")
    record = load_file(path).blocks[0]
    assert record.fields == {"标题": "独居老人失联", "做法": "第一步上门探访；第二步电话回访"}
    assert record.text == "标题：独居老人失联\n做法：第一步上门探访；第二步电话回访"


def test_xlsx_formulas_without_saved_values(tmp_path):
    import openpyxl

    # openpyxl, like many export tools, writes formulas without their computed values
    workbook = openpyxl.Workbook()
    workbook.active.append(["标题", "做法"])
    workbook.active.append(['=CONCAT("独居","老人")', '="上门"'])
    only_formulas = tmp_path / "公式.xlsx"
    workbook.save(str(only_formulas))
    with pytest.raises(BadDocument, match="公式没有保存计算结果.*在 Excel 中打开并保存"):
        load_file(only_formulas)

    workbook = openpyxl.Workbook()
    workbook.active.append(["标题", "人数", "合计"])
    workbook.active.append(["独居老人", 3, "=B2*2"])
    some_formulas = tmp_path / "部分公式.xlsx"
    workbook.save(str(some_formulas))
    doc = load_file(some_formulas)
    assert doc.blocks[0].fields == {"标题": "独居老人", "人数": "3"}
    assert doc.warnings == ["工作表「Sheet」中有 1 个公式单元格没有保存计算结果，已留空。请在 Excel 中打开并保存后再导入"]
