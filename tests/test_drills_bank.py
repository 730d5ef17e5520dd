"""Question bank files: real JSONL, CSV (UTF-8 and Excel's GBK) and XLSX files in, bad rows reported, the rest
imported, and export back; the bundled 示例题库 checked against the law texts it cites."""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from contextlib import closing

import openpyxl
import pytest

from assistant.drills import SAMPLE_BANK, SUBJECTS, Drills
from assistant.drills.bank import BankError, question_from_record
from assistant.drills.bankfile import read_bank, write_bank
from shegong.errors import UserError

pytestmark = pytest.mark.unit

GOOD = {"id": "T-1", "stem": "依据老年人权益保障法，老年人是指多少周岁以上的公民？",
        "options": {"A": "五十五周岁", "B": "六十周岁", "C": "六十五周岁", "D": "七十周岁"},
        "answer": "B", "explanation": "老年人是指六十周岁以上的公民。"}


def write_jsonl(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                    encoding="utf-8")
    return path


def test_minimal_issue_layout_is_accepted_and_the_type_follows_from_the_record():
    single = question_from_record(GOOD)
    assert (single.type, single.answer, single.subject, single.tags) == ("single", "B", "", [])
    multi = question_from_record(dict(GOOD, id="T-2", answer="a, c、D"))
    assert (multi.type, multi.answer) == ("multiple", "ACD")
    judge = question_from_record({"id": "T-3", "type": "判断", "stem": "居委会是基层群众性自治组织。",
                                  "answer": "正确", "explanation": "组织法第二条。"})
    assert (judge.type, judge.options, judge.answer) == ("judge", {"A": "正确", "B": "错误"}, "A")
    assert question_from_record(dict(GOOD, subject="法规与政策")).subject == "社会工作法规与政策"


@pytest.mark.parametrize("change, message", [
    ({"answer": "E"}, "答案中的 E 不在选项里"),
    ({"answer": ""}, "缺少“答案”"),
    ({"answer": "BB"}, "重复"),
    ({"type": "single", "answer": "AB"}, "单选题只能有一个正确答案"),
    ({"type": "multiple", "answer": "B"}, "多选题至少要有两个正确答案"),
    ({"answer": "ABCD"}, "多选题不能所有选项都正确"),
    ({"options": {"A": "甲", "C": "丙"}}, "选项要从 A 开始连续编号"),
    ({"options": {"A": "甲", "B": "甲"}, "answer": "A"}, "两个选项的文字完全相同"),
    ({"options": ["甲", "乙"]}, "字母到选项文字的对应"),
    ({"stem": "  "}, "缺少“题干”"),
    ({"explanation": None}, "缺少“解析”"),
    ({"subject": "心理学"}, "科目“心理学”不对"),
    ({"level": "高级"}, "级别“高级”不对"),
    ({"id": "有 空格"}, "不能含空格"),
])
def test_bad_records_are_refused_with_a_chinese_reason(change, message):
    with pytest.raises(BankError, match=message):
        question_from_record(dict(GOOD, **change))


def test_jsonl_bad_rows_are_reported_with_line_numbers_and_the_rest_imported(tmp_path, shegong_home):
    path = write_jsonl(tmp_path / "题库.jsonl", [
        GOOD,
        dict(GOOD, id="T-2", answer="F"),             # 2: letter not among the options
        "{这不是 JSON",                                 # 3
        dict(GOOD, stem="另一道题的题干，问的是别的。"),  # 4: duplicate id T-1
        "",                                            # 5: blank lines are skipped, not errors
        dict(GOOD, id="T-3", stem="依据老年人权益保障法，老年人有哪些权利？", answer="AB"),
    ])
    drills = Drills()
    report = drills.import_file(path)
    assert (report.added, len(report.problems)) == (2, 3)
    where = {p.where: p for p in report.problems}
    assert "不在选项里" in where["第 2 行"].message and where["第 2 行"].qid == "T-2"
    assert "不是合法的 JSON" in where["第 3 行"].message
    assert "与第 1 行重复" in where["第 4 行"].message
    assert [q.id for q in drills.questions()] == ["T-1", "T-3"]
    assert "第 2 行（T-2）" in report.summary()
    # The same file again changes nothing; a changed question with a known id is reported, not overwritten.
    assert drills.import_file(path).unchanged == 2
    write_jsonl(path, [dict(GOOD, explanation="改过的解析。")])
    again = drills.import_file(path)
    assert again.added == 0 and "没有覆盖" in again.problems[0].message
    assert drills.questions()[0].explanation == GOOD["explanation"]
    assert drills.import_file(path, replace=True).updated == 1
    assert drills.questions()[0].explanation == "改过的解析。"


def test_xlsx_in_the_documented_layout_with_a_title_row(tmp_path, shegong_home):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["2026 年社区社工练习题"])  # a title row above the header is skipped
    sheet.append(["题号", "题型", "科目", "级别", "标签", "题干", "选项A", "选项B", "选项C", "选项D", "选项E",
                  "答案", "解析", "来源"])
    sheet.append(["X-1", "单选", "法规与政策", "初级", "老年人权益保障法、赡养", GOOD["stem"], "五十五周岁",
                  "六十周岁", "六十五周岁", "七十周岁", None, "B", GOOD["explanation"],
                  "《中华人民共和国老年人权益保障法》第二条"])
    sheet.append(["X-2", "多选", "实务", "中级", "社区工作", "社区走访独居老人时，应当关注：", "身体状况", "居家安全",
                  "情绪变化", "家中存款数额", None, "ABC", "关注健康、安全和情绪；存款属于隐私。", ""])
    sheet.append(["X-3", "判断", "综合能力", "", "", "个案工作结案后不需要做任何评估。", None, None, None, None, None,
                  "×", "结案时要评估服务成效。", ""])
    sheet.append(["X-4", "单选", "", "", "", "缺答案的题", "甲", "乙", None, None, None, None, "解析", ""])
    sheet.append(["X-5", "单选", "", "", "", "答案不在选项里的题", "甲", "乙", None, None, None, "C", "解析", ""])
    book.save(tmp_path / "练习题.xlsx")
    found = read_bank(tmp_path / "练习题.xlsx")
    assert [q.id for q in found.questions] == ["X-1", "X-2", "X-3"]
    x1, x2, x3 = found.questions
    assert x1.subject == "社会工作法规与政策" and x1.tags == ["老年人权益保障法", "赡养"] and x1.level == "初级"
    assert x2.type == "multiple" and x2.answer == "ABC" and set(x2.options) == set("ABCD")
    assert x3.type == "judge" and x3.answer == "B"
    assert [(p.where, p.qid) for p in found.problems] == [("第 6 行", "X-4"), ("第 7 行", "X-5")]
    assert "缺少“答案”" in found.problems[0].message and "C 不在选项里" in found.problems[1].message


def test_gbk_csv_as_excel_saves_it_on_chinese_windows(tmp_path):
    path = tmp_path / "题库.csv"
    with open(path, "w", encoding="gbk", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "stem", "A", "B", "C", "D", "answer", "explanation", "subject", "tags"])
        w.writerow(["C-1", "居民委员会每届任期几年？", "三年", "四年", "五年", "六年", "C", "每届任期五年。", "法规", "居委会"])
        w.writerow(["C-2", "题干", "甲", "乙", "", "", "", "没有答案", "", ""])
    found = read_bank(path)
    assert [(q.id, q.answer, q.subject, q.tags) for q in found.questions] == [
        ("C-1", "C", "社会工作法规与政策", ["居委会"])]
    assert found.problems[0].where == "第 3 行" and "缺少“答案”" in found.problems[0].message


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".xlsx"])
def test_export_then_import_gives_back_the_same_bank(tmp_path, shegong_home, suffix):
    drills = Drills()
    assert drills.ensure_sample().added == 179
    out = tmp_path / f"导出{suffix}"
    assert drills.export_file(out) == 179
    back = read_bank(out, collection="示例题库")
    assert not back.problems
    assert [q.to_record() for q in back.questions] == [q.to_record() for q in drills.questions()]
    assert drills.import_file(out, collection="示例题库").unchanged == 179


def test_whole_file_problems_are_one_clear_error(tmp_path):
    with pytest.raises(UserError, match="不支持的题库文件类型"):
        read_bank(tmp_path / "题库.docx")
    (tmp_path / "坏.xlsx").write_bytes(b"not a zip")
    with pytest.raises(UserError, match="Excel 文件已损坏"):
        read_bank(tmp_path / "坏.xlsx")
    (tmp_path / "无表头.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(UserError, match="找不到表头"):
        read_bank(tmp_path / "无表头.csv")
    with pytest.raises(UserError, match="不支持导出"):
        write_bank(tmp_path / "x.txt", [])


def test_sample_bank_is_complete_and_cites_real_articles():
    """The bundled bank: >= 150 valid questions over the three subjects, each explained; every article its
    sources cite exists in the current text of the law (the laws.db the knowledge base imports from)."""
    from ingest.laws import default_db_path

    found = read_bank(SAMPLE_BANK)
    assert not found.problems and len(found.questions) >= 150
    assert {q.subject for q in found.questions} == set(SUBJECTS)
    assert all(len(q.explanation) >= 20 for q in found.questions)
    refs = [(law, art) for q in found.questions
            for law, arts in re.findall(r"《([^》]+)》((?:第[^《]+?条[、，和及]?)+)", q.source)
            for art in re.findall(r"第[^、，和及]+?条", arts)]
    assert len(refs) >= 90
    with closing(sqlite3.connect(f"file:{default_db_path()}?mode=ro", uri=True)) as conn:
        missing = [(law, art) for law, art in refs if not conn.execute(
            "SELECT 1 FROM articles WHERE law_name=? AND article_no=? AND status IN ('现行有效', '已被修改')",
            (law, art)).fetchone()]
    assert not missing


def test_an_exported_stem_starting_with_an_equals_sign_stays_text(tmp_path):
    question = question_from_record(dict(GOOD, stem='=HYPERLINK("http://example.invalid","点这里")，下列说法正确的是：'))
    out = tmp_path / "题库.xlsx"
    write_bank(out, [question])
    stem_cell = openpyxl.load_workbook(out).active["F2"]
    assert stem_cell.data_type == "s" and stem_cell.value == question.stem  # never a formula Excel would run
    assert read_bank(out).questions[0].stem == question.stem


def test_the_held_out_bank_reads_in_the_documented_layout():
    """eval/data/drills/heldout_bank.jsonl was written from the README's layout alone: it must import as it is."""
    from pathlib import Path

    found = read_bank(Path(__file__).parent.parent / "eval" / "data" / "drills" / "heldout_bank.jsonl")
    assert not found.problems and len(found.questions) == 60
    assert {q.type for q in found.questions} == {"single", "multiple", "judge"}
