"""The 走访 tab's pieces without a browser: the form a social worker corrects goes back to the record's JSON, and
the jotting's words are marked with the fields they went to."""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.visits.extract import extract
from shegong.errors import UserError
from webapp import visits_view as view

pytestmark = pytest.mark.unit

NOTE = "上周三下午去的 补记 刘德顺 七十九岁 现在一个人 说晚上睡不着 约了周五再去 电话139 0000 4521"


def test_the_form_round_trips_and_keeps_corrections():
    data = extract(NOTE, dt.date(2026, 3, 12)).to_json()
    rows = view.form_rows(data)
    assert [r[0] for r in rows] == view.FORM_ROWS
    same = view.form_to_json(rows, data)
    for key in ("走访对象", "对象类别", "走访时间", "走访方式", "基本情况", "发现的问题", "需求", "已采取措施", "后续跟进",
                "建议转介", "走访记录"):
        assert same[key] == data[key], key
    edited = {r[0]: r[1] for r in rows} | {"姓名": "刘德顺", "年龄": "80", "风险等级": "高",
                                            "后续跟进": "周五再去｜王芳｜2026-03-13；联系儿子"}
    back = view.form_to_json({"headers": view.FORM_HEADERS, "data": [[k, v] for k, v in edited.items()]}, data)
    assert back["走访对象"]["年龄"] == 80 and back["风险等级"]["等级"] == "高"
    assert back["风险等级"]["风险标记"] == data["风险等级"]["风险标记"]
    assert back["后续跟进"] == [{"事项": "周五再去", "负责人": "王芳", "期限": "2026-03-13"},
                            {"事项": "联系儿子", "负责人": "", "期限": ""}]
    with pytest.raises(UserError, match="风险等级只能是"):
        view.form_to_json([["风险等级", "很高"]], data)
    with pytest.raises(UserError, match="年龄要写数字"):
        view.form_to_json([["年龄", "七十九"]], data)


def test_each_word_is_marked_with_its_field():
    record = extract(NOTE, dt.date(2026, 3, 12))
    html = view.jotting_html(record)
    assert '<mark class="sg-field" data-field="走访对象" title="走访对象" ' in html and ">刘德顺</mark>" in html
    assert 'data-field="走访时间" title="走访时间、走访方式"' in html  # 上周三下午去的 gives both
    assert ">约了周五再去</mark>" in html and 'data-field="后续跟进"' in html
    table = view.record_html(record, record.to_json())
    assert '<tr data-field="联系电话">' in table and "“139 0000 4521”" in table
    # the jotting is escaped: a pasted tag is shown, not run
    assert "&lt;b&gt;" in view.jotting_html(extract("<b>王阿婆</b> 82岁", dt.date(2026, 3, 12)))
