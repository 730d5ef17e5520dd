"""Answer verification: numbers checked with their kind of unit, and sentences attributed to the sources that support them."""

from __future__ import annotations

import pytest

from assistant.verify import restates_question, verify_answer

pytestmark = pytest.mark.unit

SOURCES = [
    "第十八条 家庭成员应当关心老年人的精神需求，不得忽视、冷落老年人。与老年人分开居住的家庭成员，应当经常看望或者问候老年人。",
    "对年满80周岁的老人，社区应在7个工作日内完成高龄津贴申请材料的初审。",
]


def test_numbers_must_come_from_cited_sources():
    v = verify_answer("年满80周岁可申请[2]，社区在7个工作日内初审[2]，补贴每月300元[2]。", SOURCES, lambda *_: True)
    assert v.unsupported_numbers == ["300元"]
    assert "300元〔待核实〕" in v.text and "80周岁〔待核实〕" not in v.text
    # a number written in Chinese numerals in the source supports the digits in the answer
    v2 = verify_answer("须在十五日内答复[1]。", ["应当在15日内答复。"], lambda *_: True)
    assert v2.unsupported_numbers == []


def test_a_number_must_be_in_the_source_its_own_sentence_cites():
    """'5个工作日' is in source 1, but the sentence about reporting cites source 2, which says 3: before, any
    cited source's numbers counted for every sentence."""
    src = ["社区收到申请后，应当在5个工作日内完成初审。", "网格员发现险情，应当在3个工作日内上报街道。"]
    v = verify_answer("结论：按时限办理[1]。\n1. 网格员应在5个工作日内上报街道[2]。\n2. 社区在5个工作日内初审[1]。",
                      src, lambda *_: True)
    assert v.unsupported_numbers == ["5个工作日"]
    assert "上报街道" in v.text.split("\n")[1] and "〔待核实〕" in v.text.split("\n")[1]
    assert "〔待核实〕" not in v.text.split("\n")[2]
    # a sentence without a marker may use any cited source
    assert verify_answer("结论：初审[1]，上报[2]。\n社区在5个工作日内初审。", src, lambda *_: True).unsupported_numbers == []


def test_words_that_only_look_like_numbers_are_not_checked():
    src = ["清理楼道和房屋周围的杂物，不要堵住消防通道；有人经常在楼道堆放杂物的，要耐心劝导。"]
    raw = "结论：要清理杂物[1]。\n1. 清理房屋四周的杂物[1]。\n2. 千万不要堵住消防通道[1]。\n3. 有人三天两头在楼道堆放杂物的，要耐心劝导[1]。"
    v = verify_answer(raw, src, lambda *_: True)
    assert v.text == raw and v.unsupported_numbers == []
    # "公示四周" is four weeks, and is checked
    assert verify_answer("结论：清理楼道杂物后公示四周[1]。", src, lambda *_: True).unsupported_numbers == ["四周"]


def test_attribution_adds_markers_and_drops_unsupported_sentences():
    raw = ("结论：子女应当经常看望老年人。\n要点：\n1. 资料中没有提到。\n"
           "2. 家庭成员不得忽视、冷落老年人。\n3. [1] 第三点\n4. 社区可以对不看望的子女罚款五千元。")
    v = verify_answer(raw, SOURCES, lambda *_: True, "子女不回家看望老人违法吗")
    assert v.text == "结论：子女应当经常看望老年人[1]。\n要点：\n1. 家庭成员不得忽视、冷落老年人[1]。"
    assert v.used_sources == [1]
    assert any("找不到依据" in w for w in v.warnings)


def test_sources_named_on_their_own_line_count_as_cited():
    raw = "结论：子女应当经常看望老年人。\n依据的资料：[1]、[2]"
    v = verify_answer(raw, SOURCES, lambda *_: True, "子女要不要看望老人")
    assert "依据的资料" not in v.text
    assert v.used_sources == [1, 2]


def test_restating_the_question_cannot_smuggle_in_an_answer():
    q = "居委会一届任期是几年，能不能连任"
    src = ["居委会依法不得提供担保。"]
    v = verify_answer("结论：居委会一届任期是五年，不能连任。", src, lambda *_: True, q)
    assert "五年" not in v.text
    ok = verify_answer("结论：居委会依法不得提供担保。", src, lambda *_: True, "居委会能不能提供担保")
    assert "不得提供担保[1]" in ok.text


def test_negation_wording_and_list_lead_in_count_as_supported():
    src = ["居民委员会依法不得提供担保。", "慈善组织应当为志愿者购买相应的人身意外伤害保险。"]
    v = verify_answer("结论：居委会不能为居民借款做担保。", src, lambda *_: True, "居委会可以为居民借款做担保吗")
    assert "不能为居民借款做担保" in v.text
    v2 = verify_answer("结论：组织志愿者上门服务，要做好以下保障：\n1. 为志愿者购买人身意外伤害保险[2]。", src,
                       lambda *_: True, "组织志愿者上门服务，要做好哪些保障")
    assert v2.text.startswith("结论：组织志愿者上门服务，要做好以下保障")
    # a flat claim the sources do not make is still removed
    v3 = verify_answer("结论：居委会可以收取调解费。", src, lambda *_: True, "居委会能收调解费吗")
    assert "收取调解费" not in v3.text


def test_a_verdict_with_connectives_or_a_stock_phrase_is_not_an_unsupported_claim():
    """'即使没砸到人也会被处罚' / '警察能管，但需要采取措施' answer the question without adding a fact:
    the connective and the stock phrase alone must not make the conclusion 'unsupported'."""
    src = ["饲养动物，干扰他人正常生活的，处警告；警告后不改正的，处二百元以上五百元以下罚款。"]
    v = verify_answer("结论：警察能管，但需要采取措施。", src, lambda *_: True, "邻居家养的狗天天叫，警察能管吗")
    assert v.text.startswith("结论：警察能管")
    v2 = verify_answer("结论：往楼下扔东西，即使没砸到人也会被处罚。", src, lambda *_: True,
                       "往楼下扔东西，就算没砸到人也会被处罚吗")
    assert "即使没砸到人也会被处罚" in v2.text
    # but a new fact still needs a source, and the 不 of 不一定 is not waved through as a connective
    v3 = verify_answer("结论：警察能管，但需要先向物业缴纳押金。", src, lambda *_: True, "邻居家养的狗天天叫，警察能管吗")
    assert "押金" not in v3.text
    v4 = verify_answer("结论：发现孩子疑似被打，不一定必须报警。", src, lambda *_: True, "发现孩子疑似被打，是不是必须报警")
    assert "不一定" not in v4.text


def test_a_hedged_line_keeps_its_claim_and_the_claim_is_still_checked():
    """'资料中没有提到，但…' is the small model's habit: the hedge goes, what follows is checked like any line."""
    raw = ("结论：子女应当经常看望老年人。\n1. 资料中没有提到，但家庭成员不得忽视、冷落老年人。\n"
           "2. 资料中没有提到，但社区可以对不看望的子女罚款五千元。\n3. 资料中没有提到具体金额。")
    v = verify_answer(raw, SOURCES, lambda *_: True, "子女不回家看望老人违法吗")
    assert v.text == "结论：子女应当经常看望老年人[1]。\n1. 家庭成员不得忽视、冷落老年人[1]。"
    assert "资料中没有提到" not in v.text and "罚款" not in v.text
    from assistant.verify import only_not_found

    assert only_not_found("结论：资料中没有提到。\n1. 资料中没有提到具体金额。")
    assert not only_not_found("结论：资料中没有提到，但居委会应当设专人负责。")  # a hedged claim is still a claim


def test_points_written_inline_on_one_line_are_separate_items():
    """A model may put its three points on the conclusion line, two of them "资料中没有提到". The one that
    answers stays; the line as a whole does not count as "not found" (that refused the question)."""
    from assistant.verify import only_not_found

    src = ["居委会不评定、不发证。去向：向户籍所在地县级残联申请，到残联指定的医疗机构进行残疾评定，由残联核发残疾人证。"]
    q = "孩子天生听力不好，想办个残疾证，流程是怎样的"
    raw = ("结论：孩子天生听力不好，想办个残疾证，流程是：1. 去户籍所在地县级残联申请，到残联指定的医疗机构进行残疾评定，"
           "由残联核发残疾人证。2. 去社区领取残疾人证办理流程，资料中没有提到。3. 去社区领取残疾人证办理流程，资料中没有提到。")
    assert not only_not_found(raw)
    v = verify_answer(raw, src, lambda *_: True, q)
    assert v.text.startswith("结论：孩子天生听力不好") and v.text.endswith("由残联核发残疾人证[1]。")
    assert "资料中没有提到" not in v.text and v.used_sources == [1]
    assert only_not_found("结论：资料中没有提到。1. 资料中没有提到具体流程。2. 资料中没有提到费用。")


def test_an_item_that_says_not_found_goes_with_what_it_goes_on_to_say():
    """Held-out h18: '资料中没有提到第X条…。因此…违反了该条的规定' builds on what the sources lack: the item goes whole."""
    src = ["第一千零四十九条 要求结婚的男女双方应当亲自到婚姻登记机关申请结婚登记。符合本法规定的，予以登记，发给结婚证。"]
    raw = ("结论：老人的房子由老人决定[1]。\n1. 资料中没有提到《民法典》第一千零五十四条，该条规定了无效的婚姻。"
           "因此，儿子结婚后不让老人住原来的房子，这违反了该条的规定，是不合法的。")
    v = verify_answer(raw, src, lambda *_: True, "儿子结婚后不让老人住原来的房子，这合法吗")
    assert "该条" not in v.text and "因此" not in v.text


def test_amounts_of_ten_thousand_and_more_do_not_crash_the_check():
    """A number of ten thousand or more is read as one amount (the numerals themselves: test_chinese.py)."""
    src = ["困难家庭每户一次性补助一万五千元。"]
    v = verify_answer("结论：每户一次性补助15000元[1]。", src, lambda *_: True, "困难家庭补助多少")
    assert v.unsupported_numbers == [] and "15000元[1]" in v.text
    assert verify_answer("结论：每户补助12000元[1]。", src, lambda *_: True).unsupported_numbers == ["12000元"]
    assert "第12345条" not in verify_answer("结论：依据民法典第12345条，每户补助一万五千元[1]。", src,
                                            lambda law, art: art != "第一万二千三百四十五条").text


HANDBOOK_STEPS = ("四、高龄津贴 › （二）处置步骤：1. 年满八十周岁的本市户籍老人可以申请高龄津贴。2. 社区在收到材料后5个工作日内"
                  "完成初审，公示七天。3. 津贴标准为每人每月100元，困难家庭一次性补助两万元，每年按百分之五调整。")


@pytest.mark.parametrize("claim", [
    "社区在收到材料后3个工作日内完成初审",  # "3." is a list number of the source, not a deadline
    "社区初审后公示2天",                    # "2." likewise
    "津贴标准为每人每月80元",                # 80 is the age, not an amount
    "每年按百分之五十调整",                  # a percentage in words was not checked at all
    "社区在收到材料后3-5个工作日内完成初审",  # the first number of a range was not checked
    "社区初审后公示四周",                    # weeks were not checked
])
def test_a_number_must_come_from_the_source_with_its_kind_of_unit(claim):
    """Before, any number anywhere in the cited source counted: its list numbers 1. 2. 3., an age for an amount."""
    v = verify_answer(f"结论：{claim}[1]。", [HANDBOOK_STEPS], lambda *_: True, "老人怎么申请高龄津贴")
    assert v.unsupported_numbers and "〔待核实〕" in v.text, v.text


@pytest.mark.parametrize("claim", [
    "年满80岁的老人可以申请高龄津贴", "社区在收到材料后五个工作日内完成初审", "社区初审后公示7天", "津贴标准为每人每月一百元",
    "困难家庭一次性补助2万元", "困难家庭一次性补助20000元", "困难家庭一次性补助20,000元", "每年按5%调整", "每年按百分之五调整",
])
def test_the_same_number_written_another_way_is_supported(claim):
    """2万元 / 20000元 for 两万元 were flagged: the check compared spellings, not values."""
    v = verify_answer(f"结论：{claim}[1]。", [HANDBOOK_STEPS], lambda *_: True, "老人怎么申请高龄津贴")
    assert not v.unsupported_numbers, v.text


def test_ranges_in_the_source_support_both_ends():
    v = verify_answer("结论：处5日以上10日以下拘留[1]。", ["处五至十日拘留。"], lambda *_: True, "会被拘留几天")
    assert not v.unsupported_numbers, v.text


def test_a_hotline_number_must_come_from_the_sources():
    """'拨打12349热线' was shown unchecked: only numbers with a unit were looked at."""
    src = ["第一时间提醒家属拨打110报警，也可以拨打12345政务服务热线。"]
    v = verify_answer("结论：老人走失要第一时间拨打110报警，再拨打12349养老热线求助[1]。", src, lambda *_: True, "老人走失怎么办")
    assert v.unsupported_numbers == ["12349"] and "110报警" in v.text
    assert not verify_answer("结论：可以拨打12345政务服务热线反映[1]。", src, lambda *_: True).unsupported_numbers
    # an article number in digits is an article reference, checked against the KB, not a hotline
    law = ["第一千零六十七条 成年子女不履行赡养义务的，缺乏劳动能力的父母，有要求成年子女给付赡养费的权利。"]
    for ref in ("第1067条", "第 1067 条"):
        v = verify_answer(f"结论：根据《民法典》{ref}，父母有要求成年子女给付赡养费的权利[1]。", law, lambda *_: True)
        assert not v.unsupported_numbers and ref in v.text, v.text


def test_a_marker_to_a_source_that_does_not_support_the_sentence_is_moved_to_one_that_does():
    """'…精神上慰藉的义务[3]' kept [3] (a handbook passage about a lost elder): the answer then quoted it as the basis."""
    law14 = "第十四条 赡养人应当履行对老年人经济上供养、生活上照料和精神上慰藉的义务，照顾老年人的特殊需要。"
    law18 = "第十八条 家庭成员应当关心老年人的精神需求，不得忽视、冷落老年人。与老年人分开居住的家庭成员，应当经常看望或者问候老年人。"
    lost = "二、老人走失：第一时间提醒家属拨打110报警。找人不需要等满24小时，越早报警越好。"
    raw = ("结论：赡养人应当履行对老年人经济上供养、生活上照料和精神上慰藉的义务[3]。\n"
           "1. 与老年人分开居住的家庭成员，应当经常看望或者问候老年人[2][3]。")
    v = verify_answer(raw, [law14, law18, lost], lambda *_: True, "子女不赡养老人怎么办")
    assert v.text == ("结论：赡养人应当履行对老年人经济上供养、生活上照料和精神上慰藉的义务[1]。\n"
                      "1. 与老年人分开居住的家庭成员，应当经常看望或者问候老年人[2]。"), v.text
    assert v.used_sources == [1, 2]
    # the neighbouring article alone is replaced by the one the sentence quotes; cited together, both stay
    v2 = verify_answer(raw.replace("义务[3]", "义务[2]"), [law14, law18, lost], lambda *_: True, "子女不赡养老人怎么办")
    assert v2.text.startswith("结论：赡养人应当履行对老年人经济上供养、生活上照料和精神上慰藉的义务[1]。"), v2.text
    v3 = verify_answer(raw.replace("义务[3]", "义务[1][2]"), [law14, law18, lost], lambda *_: True, "子女不赡养老人怎么办")
    assert v3.text.startswith("结论：赡养人应当履行对老年人经济上供养、生活上照料和精神上慰藉的义务[1][2]。"), v3.text


@pytest.mark.parametrize(("conclusion", "question", "restated"), [
    ("老楼加装电梯表决时，需要多大比例的业主参与和同意[3]", "老楼加装电梯表决时，需要多大比例的业主参与和同意", True),
    ("高空抛物伤了人但找不到是谁扔的，由谁来补偿。", "请问高空抛物伤了人但找不到是谁扔的，由谁来补偿？", True),
    ("居委会能代他申请吗[1]", "居委会能代他申请吗？", True),
    # part of the question can be a claim; an answer adds words
    ("要等满24小时才能报警[1]。", "是不是要等满24小时才能报警", False),
    ("女职工怀孕了被公司辞退，这违法[1]。", "女职工怀孕了被公司辞退，这违法吗", False),
    ("居委会可以代他申请[2]。", "居委会能不能代他申请", False),
    ("由可能加害的建筑物使用人给予补偿[1]。", "找不到是谁扔的，由谁来补偿", False),
    ("[1]", "找不到是谁扔的，由谁来补偿", False),
])
def test_a_conclusion_that_only_repeats_the_question_is_recognised(conclusion, question, restated):
    assert restates_question(conclusion, question) is restated
