"""Reading a district's 权责清单: real CSV (UTF-8, BOM, GBK) and XLSX files, bad rows, bad files."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest

from assistant.dispatch.listfile import COLUMNS, cross_refs, read_list
from assistant.dispatch.ranking import item_texts
from shegong.errors import UserError

pytestmark = pytest.mark.unit

SAMPLE = Path(__file__).resolve().parent.parent / "assistant" / "dispatch" / "data" / "权责清单（示例）.csv"
GBK_TWIN = Path(__file__).resolve().parent / "data" / "dispatch" / "权责清单（示例）.gbk.csv"


def sample_rows() -> list[list[str]]:
    with open(SAMPLE, encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def test_bundled_list_is_marked_sample_and_complete():
    parsed = read_list(SAMPLE)
    assert len(parsed.items) == 73 and not parsed.errors and not parsed.warnings
    assert "示例" in SAMPLE.name and "示例资料" in parsed.items[0].notes
    assert {it.duty for it in parsed.items} == {"牵头", "协助", "告知转办"}


def test_gbk_and_bom_files_read_the_same_as_utf8(tmp_path):
    plain = read_list(SAMPLE)
    gbk = read_list(GBK_TWIN)
    assert gbk.encoding == "gb18030"
    bom = read_list(write_csv(tmp_path / "bom.csv", sample_rows(), "utf-8-sig"))
    assert [it.to_json() for it in gbk.items] == [it.to_json() for it in plain.items]
    assert [it.to_json() for it in bom.items] == [it.to_json() for it in plain.items]


def test_xlsx_with_a_title_row_and_columns_in_another_order(tmp_path):
    rows = sample_rows()
    order = [6, 0, 1, 2, 3, 4, 5]  # 说明 first
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["青禾街道权责清单（示例）"])  # a merged title row above the header
    for row in rows[:11]:
        sheet.append([row[i] for i in order])
    sheet.append([])  # a blank row in the middle is not a bad row
    sheet.append([rows[11][i] for i in order])
    book.save(tmp_path / "清单.xlsx")
    parsed = read_list(tmp_path / "清单.xlsx")
    assert [it.code for it in parsed.items] == [r[0] for r in rows[1:12]]
    assert parsed.items[0].notes == rows[1][6]
    assert parsed.items[-1].line == 14  # the Excel row number a supervisor sees
    assert not parsed.errors


def test_bad_rows_are_reported_with_line_and_reason_and_good_rows_kept(tmp_path):
    rows = [list(COLUMNS)] + [r[:] for r in sample_rows()[1:6]]
    rows[2][0] = rows[1][0]            # line 3: duplicate 编号
    rows[3][4] = "负责"                  # line 4: unknown 社区职责
    rows[4][1] = ""                     # line 5: empty 事项
    parsed = read_list(write_csv(tmp_path / "清单.csv", rows))
    assert [it.code for it in parsed.items] == [rows[1][0], rows[5][0]]
    got = {e.line: e.reason for e in parsed.errors}
    assert set(got) == {3, 4, 5}
    assert "重复" in got[3] and "第 2 行" in got[3]
    assert "负责" in got[4] and "牵头、协助、告知转办" in got[4]
    assert "事项为空" in got[5]
    assert "第 3 行" in parsed.report() and "可导入 2 项" in parsed.report()


def test_line_numbers_count_multi_line_cells(tmp_path):
    rows = [list(COLUMNS)] + [r[:] for r in sample_rows()[1:4]]
    rows[1][6] = "第一行说明\n第二行说明"   # a cell with a line break (Excel's Alt+Enter)
    rows[3][4] = "不知道"
    parsed = read_list(write_csv(tmp_path / "清单.csv", rows))
    assert [e.line for e in parsed.errors] == [5]  # header 1, record 2-3 (two lines), record 4, record 5


@pytest.mark.parametrize("drop", ["社区职责", "说明"])
def test_missing_columns_refuse_the_whole_file(tmp_path, drop):
    rows = sample_rows()
    k = rows[0].index(drop)
    rows = [r[:k] + r[k + 1:] for r in rows]
    with pytest.raises(UserError, match=f"缺少这些列：{drop}"):
        read_list(write_csv(tmp_path / "清单.csv", rows))


def test_other_bad_files_get_chinese_errors(tmp_path):
    with pytest.raises(UserError, match="只能是 Excel"):
        read_list(write_csv(tmp_path / "清单.txt", sample_rows()))
    (tmp_path / "空.csv").write_bytes(b"")
    with pytest.raises(UserError, match="文件是空的"):
        read_list(tmp_path / "空.csv")
    (tmp_path / "坏.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(UserError, match="Excel 文件已损坏"):
        read_list(tmp_path / "坏.xlsx")
    rows = [list(COLUMNS)] + [[r[0], r[1], r[2], r[3], "随便", r[5], r[6]] for r in sample_rows()[1:3]]
    with pytest.raises(UserError, match="没有一行可以导入") as e:
        read_list(write_csv(tmp_path / "全错.csv", rows))
    assert "第 2 行" in str(e.value) and "原来的清单不变" in str(e.value)


def test_cross_references_become_evidence_for_the_item_pointed_at():
    assert cross_refs("工厂、工业企业废气见 B-018；违法搭建见A-020、A-021") == ["B-018", "A-020", "A-021"]
    items = read_list(SAMPLE).items
    texts = item_texts(items)
    # A-001 (邻里纠纷) says 饭店油烟见A-008: the words go to A-008, not to A-001's own text
    assert any("饭店油烟" in a for a in texts["A-008"].aliases)
    assert "饭店油烟" not in texts["A-001"].own and any("饭店油烟" in b for b in texts["A-001"].boundaries)
    assert "示例资料" not in texts["A-001"].own  # the disclaimer says nothing about scope
