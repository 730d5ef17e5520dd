"""Visit records from jottings: extraction, corrections, relative dates, spans, editable risk rules,
the checker, and a real GGUF model writing the paragraph."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from assistant.visits.checker import check_text, date_values
from assistant.visits.extract import extract
from assistant.visits.record import EXTRA, FIELDS
from assistant.visits.rules import BUNDLED, copy_for_editing, load_rules
from assistant.visits.writer import make_record
from shegong.errors import UserError



@pytest.mark.unit
def test_record_from_a_terse_jotting():
    text = "上周三下午去的 补记 刘德顺 七十九岁 现在一个人 说晚上睡不着 不想吃饭 儿子在深圳 电话139 0000 4521"
    r = extract(text, dt.date(2026, 3, 12))
    assert r.subject == "刘德顺" and r.age == 79
    assert r.visit_time == "2026-03-04 下午"  # 上周三 from Thursday 12 March
    assert r.method == "入户走访" and r.phones == ["13900004521"]
    assert r.flags == ["独居", "精神心理异常"] and r.risk == "中"
    assert r.categories == ["独居老人"]
    # every field points at the words it came from
    for key, spans in r.spans.items():
        assert spans, key
    assert [text[s:e] for s, e in r.spans["走访对象"]] == ["刘德顺"]
    assert text[slice(*r.spans["走访时间"][0])] == "上周三下午"
    assert "儿子在深圳" in [i.text for i in r.basic]
    data = r.to_json()
    assert list(data) == FIELDS + EXTRA
    assert "后续跟进" in data["待补充"] and "走访时间" not in data["待补充"]


@pytest.mark.unit
def test_corrections_replace_what_was_written_first():
    r = extract("昨天 不对 是前天下午 冯家旺 78 不对 87了 严淑珍 不对 叫严淑贞 电话 135 0000 2260 不对 是135 0000 2206",
                dt.date(2026, 3, 20))
    assert r.visit_time == "2026-03-18 下午" and r.subject == "冯家旺" and r.age == 87
    assert "严淑贞" in r.others and "严淑珍" not in json.dumps(r.to_json(), ensure_ascii=False)
    assert r.phones == ["13500002206"]
    assert len(r.corrections) == 4


@pytest.mark.unit
def test_missing_fields_stay_empty_and_are_listed():
    r = extract("去了 敲门没人应 邻居说好几天没见着了", dt.date(2026, 3, 18))
    assert r.subject == "" and r.visit_time == "" and r.age is None
    assert {"走访对象", "年龄", "走访时间"} <= set(r.missing())
    assert r.flags == ["联系不上"] and r.risk == "中"


@pytest.mark.unit
def test_no_population_stated_leaves_the_category_empty_not_other():
    """Nothing points to a population: 对象类别 stays empty and is listed under 待补充, never guessed as 其他."""
    r = extract("今天上门 钟明 47 离婚后一个人 失业半年 找了个临时工", dt.date(2026, 4, 16))
    assert r.subject == "钟明" and r.categories == []
    assert "对象类别" in r.to_json()["待补充"] and r.to_json()["对象类别"] == []
    # a group the list does not name is 其他; a named one is itself
    assert extract("社区矫正 孟凡 32岁 上门看了", dt.date(2026, 3, 30)).categories == ["其他"]
    assert extract("入户 袁淑芬 七十八 一个人 低保", dt.date(2026, 6, 5)).categories == ["独居老人", "低保对象"]


@pytest.mark.unit
def test_how_grid_workers_write_the_signs():
    """Phrasings beyond the first 40 jottings: each raises its flag (and no more)."""
    day = dt.date(2026, 5, 20)
    cases = {
        "上礼拜在卫生间滑倒了 手腕肿 没去拍片": {"跌倒受伤", "身体不适未就医"},
        "胰岛素就剩一支了": {"药品将尽"},
        "前几天自己开门出去 在小区门口被保安拦下了": {"走失风险", "近期走失"},
        "灶上的锅烧干了两回": {"居住安全隐患"},
        "这个月房租还没交": {"经济困难"},
        "说有人在他家装了监听": {"精神心理异常"},
        "孩子这几天住在隔壁 邻居帮忙管饭": {"监护缺失"},
        "妈妈说最近在家摔东西": set(),
        "3号上午 李翠兰 快90了 一个人住老平房": {"独居", "高龄"},
        "出去遛弯到现在没回来 有点糊涂": {"走失风险", "近期走失"},
        "总说拖累孩子 不想治了": {"自伤自杀风险"},
        "好久没交水电费了": {"经济困难"},
        "前天下楼梯踩空了 额头磕了个包 没去医院": {"跌倒受伤", "身体不适未就医"},
    }
    for text, flags in cases.items():
        assert set(extract(text, day).flags) == flags, text
    # an old man alone at home is living alone; a grandson who comes at weekends does not make it 监护缺失
    r = extract("陈爷爷 88 老伴住院了 他一个人在家 孙子说周末来装", day)
    assert {"独居", "高龄"} <= set(r.flags) and "监护缺失" not in r.flags
    # the caller is not the person visited; the age at the second mention is theirs
    r = extract("潘小红说她妈 潘桂香 在家摔了 起不来 潘桂香 81 平时一个人住", day)
    assert r.subject == "潘桂香" and r.age == 81 and r.risk == "高"
    # a full name after 李婶 is the person; a name written alone may have a character that is also a word
    assert extract("3号上午 李婶 李翠兰 快90了", day).subject == "李翠兰"
    assert extract("入户 残疾人 范志刚 40 左腿截肢", day).subject == "范志刚"


@pytest.mark.unit
def test_bad_input_gets_a_chinese_error():
    with pytest.raises(UserError, match="请先输入"):
        extract("   ", dt.date(2026, 3, 1))
    with pytest.raises(UserError, match="太长"):
        extract("去了" * 1500, dt.date(2026, 3, 1))


@pytest.mark.unit
def test_an_edited_rule_changes_the_risk_level(shegong_home):
    text = "今天上门 王秀英 72岁 一个人住 降压药快吃完了"
    assert extract(text, dt.date(2026, 3, 1)).risk == "中"  # 独居 + 药品将尽, not 高龄: two flags
    path = copy_for_editing()
    assert path.parent == shegong_home / "visits"
    edited = path.read_text(encoding="utf-8").replace('"同时" = ["独居", "高龄", "药品将尽"]', '"同时" = ["独居", "药品将尽"]')
    path.write_text(edited, encoding="utf-8")
    r = extract(text, dt.date(2026, 3, 1))
    assert r.risk == "高" and "独居、药品将尽" in r.risk_reasons[0]
    assert load_rules(BUNDLED).level({"独居", "药品将尽"})[0] == "中"  # the bundled rules are unchanged
    path.write_text('[["规则"]]\n"等级" = "很高"\n"任一" = ["独居"]\n', encoding="utf-8")
    with pytest.raises(UserError, match="等级只能写"):
        extract(text, dt.date(2026, 3, 1))
    path.write_text('[["规则"]]\n"等级" = "高"\n"任一" = ["孤独"]\n', encoding="utf-8")
    with pytest.raises(UserError, match="不认识的风险标记“孤独”"):
        extract(text, dt.date(2026, 3, 1))


@pytest.mark.unit
def test_a_rule_for_one_population_only(tmp_path):
    rules_file = tmp_path / "r.toml"
    rules_file.write_text('[["规则"]]\n"等级" = "高"\n"任一" = ["走失风险"]\n"类别" = ["易走失人员"]\n"说明" = "易走失"\n',
                          encoding="utf-8")
    rules = load_rules(rules_file)
    assert rules.level({"走失风险"}, {"易走失人员"})[0] == "高"
    assert rules.level({"走失风险"}, {"残疾人"})[0] == "低"


@pytest.mark.unit
def test_checker_removes_what_the_jotting_does_not_say():
    source = "今天上午上门 陈桂英 84岁 一个人住 二甲双胍还剩两三天的 外孙说周末来配 没来"
    text = ("2026年3月16日上午，社工入户走访了陈桂英。陈桂英今年84岁，每月领取低保800元。她患有糖尿病，"
            "二甲双胍还剩两三天。王警官也到场。社工计划下周再去。")
    result = check_text(text, source, date_values("2026-03-16 上午"), {"陈桂英"}, "2026-03-16 上午", plans=False)
    assert result.text == "2026年3月16日上午，社工入户走访了陈桂英。陈桂英今年84岁。二甲双胍还剩两三天。"
    removed = " ".join(result.removed_text)
    for what in ("800", "低保", "糖尿病", "王警官", "下周"):
        assert what in removed, what


@pytest.mark.slow
def test_a_real_model_writes_the_paragraph_and_it_is_checked(small_llm):
    text = "今天上午上门 桂花里3栋 陈桂英 84岁 一个人住 二甲双胍还剩两三天的 外孙说周末来配 没来 血糖仪也坏了"
    r = make_record(text, dt.date(2026, 3, 16), small_llm)
    assert len(r.narrative) >= 20
    assert "陈桂英" in r.narrative
    # whatever the model wrote, what is shown states nothing the jotting does not
    recheck = check_text(r.narrative, text, date_values(r.visit_time) | {(84.0, "age")}, {"陈桂英"},
                         " ".join([r.visit_time, *r.flags, *r.categories]), plans=False)
    assert recheck.removed == []
    data = r.to_json()
    assert data["走访记录"] == r.narrative and isinstance(data["已删除的无依据内容"], list)
