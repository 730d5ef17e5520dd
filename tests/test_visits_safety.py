"""What a code review found in the visits feature: nothing private in the log, a record edited by a client
checked field by field, spreadsheet cells that stay text, community names an office and Excel accept."""

from __future__ import annotations

import datetime as dt
import logging
from types import SimpleNamespace

import pytest

from assistant.visits import parsers

PHONE, ID_NUMBER = "13900004521", "320102194103150021"


@pytest.mark.unit
def test_a_time_extraction_error_logs_neither_phone_nor_id_number(monkeypatch, caplog):
    def broken(text, **_kw):
        raise ValueError(f"cannot parse {text}")

    monkeypatch.setattr(parsers, "jio", lambda: SimpleNamespace(ner=SimpleNamespace(extract_time=broken)))
    jotting = f"昨天上门 王秀英 电话{PHONE} 身份证{ID_NUMBER}"
    with caplog.at_level(logging.DEBUG, logger=parsers.__name__):
        assert parsers.time_points(jotting, dt.date(2026, 3, 12)) == []
    assert "ValueError" in caplog.text and str(len(jotting)) in caplog.text
    assert PHONE not in caplog.text and ID_NUMBER not in caplog.text


FORMULA = '=HYPERLINK("http://x")'


@pytest.mark.unit
def test_xlsx_exports_keep_a_leading_equals_sign_as_text(tmp_path):
    import openpyxl

    from assistant.visits import export

    data = {"走访对象": {"姓名": FORMULA, "年龄": None, "联系电话": []}, "走访记录": FORMULA, "基本情况": [FORMULA]}
    path = export.record_to_xlsx(data, tmp_path / "记录.xlsx")
    cells = {row[0].value: row[1] for row in openpyxl.load_workbook(path).active.iter_rows()}
    for label in ("走访对象", "走访记录", "基本情况"):
        assert cells[label].value == FORMULA and cells[label].data_type == "s", label

    columns = ["编号", "姓名", "住址", "人员类别"]
    path = export.table_to_xlsx("幸福社区居民台账", columns, [[1, FORMULA, FORMULA, "=1+1"]], tmp_path / "台账.xlsx")
    row = list(openpyxl.load_workbook(path).active.iter_rows())[2]
    assert [c.value for c in row] == [1, FORMULA, FORMULA, "=1+1"]
    assert [c.data_type for c in row[1:]] == ["s", "s", "s"]


@pytest.mark.unit
def test_a_community_name_excel_refuses_as_a_sheet_title_is_cleaned(tmp_path):
    import openpyxl

    from assistant.visits import export

    path = export.table_to_xlsx("幸福/和平:社区[一]*?\\居民台账", ["姓名"], [["王秀英"]], tmp_path / "台账.xlsx")
    sheet = openpyxl.load_workbook(path).active
    assert sheet.title == "幸福和平社区一居民台账" and sheet["A1"].value == "幸福/和平:社区[一]*?\\居民台账"
    assert export.sheet_title("/:*") == "台账" and len(export.sheet_title("社" * 40)) == 31


@pytest.fixture
def service(shegong_home):
    from service import Service
    from shegong import db

    yield Service()
    db.dispose_engines()


@pytest.mark.unit
@pytest.mark.parametrize("name, why", [("社" * 101, "太长"), ("幸福/和平社区", "/"), ("幸福社区:一组", ":"),
                                       ("[幸福]社区", "[ ]"), ("幸福社区?", "?"), ("幸福*社区", "*")])
def test_a_community_name_typed_by_an_administrator_is_checked(service, tmp_path, name, why):
    from service.accounts import SYSTEM_USER
    from shegong.errors import UserError

    roster = tmp_path / "花名册.csv"
    roster.write_text("姓名\n王秀英\n", encoding="utf-8")
    with pytest.raises(UserError, match=f"社区名称.*{__import__('re').escape(why)}"):
        service.import_roster(SYSTEM_USER, roster, name)
    with pytest.raises(UserError, match="社区名称"):
        service.save_visit(SYSTEM_USER, "入户 王秀英 挺好", "2026-03-12", community=name)
    assert service.residents(SYSTEM_USER) == [] and service.visits(SYSTEM_USER) == []
    assert service.import_roster(SYSTEM_USER, roster, " 幸福社区 ").imported == 1
    assert [r["community"] for r in service.residents(SYSTEM_USER)] == ["幸福社区"]


@pytest.mark.unit
def test_an_account_without_a_uid_gets_a_chinese_error(service):
    from shegong.errors import UserError

    with pytest.raises(UserError, match="无法设置所属社区"):
        service.ledger.set_community(None, "幸福社区")
    with pytest.raises(UserError, match="不能有"):
        service.ledger.set_community("some-uid", "幸福:社区")


@pytest.mark.unit
def test_concurrent_first_requests_build_one_ledger(service, monkeypatch):
    import threading
    import time

    from service import visits

    built = []

    class SlowLedger:
        def __init__(self):
            built.append(self)
            time.sleep(0.2)

    monkeypatch.setattr(visits, "Ledger", SlowLedger)
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(service.ledger)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1 and all(s is built[0] for s in seen)


JOTTING = "上周三下午去的 补记 刘德顺 七十九岁 现在一个人 说晚上睡不着 儿子在深圳 电话139 0000 4521 下周一再去看看"


@pytest.mark.unit
def test_the_record_made_is_the_record_stored(service):
    """The CLI's visit-note --save stored the jotting extracted again: no paragraph, and follow-up dates
    resolved against the visit date instead of the 填写日期."""
    import json

    from service.accounts import SYSTEM_USER

    record = service.visit_note(SYSTEM_USER, JOTTING, "2026-03-12", "2026-03-14", use_llm=False)
    printed = record.to_json()
    assert printed["走访记录"] and printed["后续跟进"][0]["期限"] == "2026-03-16"
    visit_id = service.save_visit(SYSTEM_USER, JOTTING, record.visit_date, None, "幸福社区", record=record)
    stored = service.ledger.visit(visit_id, "幸福社区")
    assert json.loads(stored["record"]) == printed and record.to_json() == printed
    assert stored["subject"] == "刘德顺" and stored["visit_date"] == dt.date(2026, 3, 4)


@pytest.mark.unit
@pytest.mark.parametrize("edited, field", [
    ({"风险等级": "高"}, "风险等级"),
    ({"风险等级": {"等级": "很高"}}, "风险等级只能是 低、中、高"),
    ({"风险等级": {"等级": "高", "风险标记": "独居"}}, "风险标记"),
    ({"走访对象": {"姓名": None, "年龄": "八十", "联系电话": []}}, "年龄"),
    ({"走访对象": {"姓名": ["刘德顺"], "联系电话": []}}, "姓名"),
    ({"走访对象": "刘德顺"}, "走访对象"),
    ({"走访时间": 20260312}, "走访时间"),
    ({"走访方式": ["入户走访"]}, "走访方式"),
    ({"对象类别": "独居老人"}, "对象类别"),
    ({"建议转介": [{"事由": "独居"}]}, "建议转介.*部门"),
    ({"建议转介": ["民政"]}, "建议转介"),
    ({"后续跟进": {"事项": "回访"}}, "后续跟进"),
    ({"后续跟进": [{"事项": "回访", "期限": 3}]}, "后续跟进的期限"),
])
def test_a_badly_shaped_edited_record_is_refused_naming_the_field(service, edited, field):
    from service.accounts import SYSTEM_USER
    from shegong.errors import UserError

    with pytest.raises(UserError, match=field):
        service.save_visit(SYSTEM_USER, JOTTING, "2026-03-12", edited, "幸福社区")
    assert service.visits(SYSTEM_USER) == []


@pytest.mark.unit
def test_null_in_an_edited_record_is_taken_as_empty(service):
    import json

    from service.accounts import SYSTEM_USER

    edited = {"走访对象": {"姓名": "刘德顺", "年龄": None, "联系电话": None}, "走访时间": None, "走访方式": None,
              "风险等级": {"等级": "高", "风险标记": ["独居", "精神心理异常"], "理由": None},
              "建议转介": [{"部门": "民政", "事由": None}], "需求": None}
    visit_id = service.save_visit(SYSTEM_USER, JOTTING, "2026-03-12", edited, "幸福社区")
    stored = service.ledger.visit(visit_id, "幸福社区")
    data = json.loads(stored["record"])
    assert data["走访时间"] == "" and data["需求"] == [] and data["风险等级"]["理由"] == []
    assert stored["flags"] == "独居、精神心理异常" and stored["referrals"] == "民政" and stored["risk"] == "高"
    assert {"走访时间", "走访方式", "联系电话", "年龄"} <= set(data["待补充"])


@pytest.mark.unit
def test_the_apps_corrected_form_still_saves(service):
    """What the 走访 tab sends (webapp/visits_view.form_to_json over the record's JSON) passes the checks."""
    import json

    from service.accounts import SYSTEM_USER
    from webapp import visits_view as view

    jotting = "今天上门 陈桂英 84岁 一个人住 降压药快吃完了 身份证320000194103150021 邻居张阿姨帮忙买菜 下周一再去看看"
    data = service.visit_note(SYSTEM_USER, jotting, "2026-03-16", use_llm=False).to_json()
    assert data["建议转介"] and data["走访对象"].get("身份证号")
    rows = [[k, "高" if k == "风险等级" else v] for k, v in view.form_rows(data)]
    visit_id = service.save_visit(SYSTEM_USER, jotting, "2026-03-16", view.form_to_json(rows, data), "幸福社区")
    stored = service.ledger.visit(visit_id, "幸福社区")
    assert stored["risk"] == "高" and json.loads(stored["record"])["建议转介"] == data["建议转介"]
