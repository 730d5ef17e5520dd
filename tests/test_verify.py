"""Answer verification: citation markers, law articles and titles checked against a real KB, question rewriting.
(Numbers and sentence attribution: test_verify_support.py.)"""

from __future__ import annotations

import pytest

from assistant.verify import normalise_article, verify_answer
from knowledge.retrieve.rewrite import rewrite

SOURCES = [
    "第十八条 家庭成员应当关心老年人的精神需求，不得忽视、冷落老年人。与老年人分开居住的家庭成员，应当经常看望或者问候老年人。",
    "对年满80周岁的老人，社区应在7个工作日内完成高龄津贴申请材料的初审。",
]


@pytest.mark.unit
def test_normalise_article():
    assert normalise_article("第18条") == "第十八条"
    assert normalise_article("第 1042 条") == "第一千零四十二条"
    assert normalise_article("第十八条") == "第十八条"


@pytest.mark.unit
def test_dangling_markers_removed():
    v = verify_answer("应当常回家看望老人[1]。另见[7]和[0]。", SOURCES, lambda law, a: True)
    assert "[7]" not in v.text and "[0]" not in v.text and "[1]" in v.text
    assert v.removed_markers == ["[7]", "[0]"]
    assert v.used_sources == [1]
    assert any("不存在" in w for w in v.warnings)


@pytest.mark.integration
def test_law_articles_checked_against_real_kb(library):
    from knowledge.retrieve import HybridRetriever

    exists = HybridRetriever(library).article_exists
    text = ("根据《中华人民共和国老年人权益保障法》第十八条，子女应常回家看望[1]。"
            "另据《老年人权益保障法》第999条和《社区和谐促进法》第三条规定，还应每周探望[1]。")
    v = verify_answer(text, SOURCES, exists)
    assert "第十八条" in v.text  # real article kept
    assert "第999条" not in v.text and "《社区和谐促进法》第三条" not in v.text
    assert set(v.invalid_articles) == {"《老年人权益保障法》第999条", "《社区和谐促进法》第三条"}
    assert v.severe
    # a supported sentence keeps its content, only the invented article number goes
    v2 = verify_answer("依据《社区和谐促进法》第三条，家庭成员应当经常看望老年人[1]。", SOURCES, exists)
    assert v2.text.startswith("依据《社区和谐促进法》相关规定，家庭成员应当经常看望老年人[1]")
    # with the title lookup the invented law goes too, with the words that introduce it
    v3 = verify_answer("依据《社区和谐促进法》第三条，家庭成员应当经常看望老年人[1]。", SOURCES, exists,
                       title_exists=HybridRetriever(library).title_exists)
    assert v3.text == "家庭成员应当经常看望老年人[1]。"
    assert v3.invalid_titles == ["社区和谐促进法"] and any("不在知识库中" in w for w in v3.warnings)


@pytest.mark.integration
def test_law_titles_checked_against_real_kb(library):
    from knowledge.retrieve import HybridRetriever

    title_exists = HybridRetriever(library).title_exists
    assert title_exists("中华人民共和国老年人权益保障法") and title_exists("老年人权益保障法")
    assert not title_exists("中华人民共和国个人所得税法")
    raw = ("结论：专项附加扣除的填写依据是《中华人民共和国个人所得税法》[1]。\n"
           "1. 按《老年人权益保障法》规定，家庭成员应当经常看望老年人[1]。")
    v = verify_answer(raw, SOURCES, lambda *_: True, "个人所得税专项附加扣除怎么填", title_exists)
    assert "个人所得税法" not in v.text and "《老年人权益保障法》" in v.text
    assert v.invalid_titles == ["中华人民共和国个人所得税法"]
    # a title quoted by a source is not an invention, even when the KB does not hold that document
    quoted = ["依照《中华人民共和国刑法》追究刑事责任。"]
    v2 = verify_answer("情节严重的，依照《中华人民共和国刑法》追究刑事责任[1]。", quoted, lambda *_: True, "", title_exists)
    assert v2.invalid_titles == [] and "《中华人民共和国刑法》" in v2.text


@pytest.mark.integration
def test_arabic_article_number_resolves(library):
    from knowledge.retrieve import HybridRetriever

    exists = HybridRetriever(library).article_exists
    v = verify_answer("见老年人权益保障法第18条[1]。", SOURCES, exists)
    assert v.invalid_articles == [] and "第18条" in v.text


@pytest.mark.unit
def test_rewrite_adds_formal_terms_and_article_refs():
    q = rewrite("孩子不回家看老人，老年人权益保障法第18条怎么说")
    assert "常回家看望" in q.expansions
    assert ("老年人权益保障法", "第十八条") in q.article_refs
    assert rewrite("民法典第一千零四十二条").article_refs == [("民法典", "第一千零四十二条")]  # a 1-character stem
    assert rewrite("《民法典》第1042条怎么说").article_refs == [("民法典", "第一千零四十二条")]
    q2 = rewrite("楼上漏水不管怎么办")
    assert "相邻关系" in q2.expansions


@pytest.mark.unit
def test_synonym_table_is_well_formed():
    from knowledge.retrieve.rewrite import SYNONYMS_FILE

    phrases = []
    for line in SYNONYMS_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        phrase, tab, terms = line.partition("\t")
        assert tab and phrase.strip() and terms.split(), f"坏行：{line!r}"
        phrases.append(phrase)
    assert len(phrases) == len(set(phrases)), "同一口语说法出现了两次"


@pytest.mark.integration
def test_formal_terms_lift_the_right_item_on_the_real_sample_kb(library):
    from knowledge.retrieve.hybrid import HybridRetriever, RetrievalConfig

    retriever = HybridRetriever(library)
    question = "居民觉得自己的退休金算少了，跑来问社区，我们该让他找谁"
    assert "养老金" in rewrite(question).expansions

    def rank(cfg):
        hits = retriever.search(question, 10, config=cfg)
        return next((i for i, h in enumerate(hits, 1) if "社会保险待遇" in h.location), 99)

    with_table, without = rank(RetrievalConfig()), rank(RetrievalConfig(synonyms=False))
    assert with_table <= 3 and with_table < without


@pytest.mark.integration
def test_a_real_article_under_an_invented_chapter_loses_the_chapter(library):
    """'《老年人权益保障法》第五章第十四条': the article is real, but it is in 第二章; the path the model made
    up goes, the reference to the real article stays."""
    from knowledge.retrieve import HybridRetriever

    retriever = HybridRetriever(library)
    src = ["第十四条 赡养人应当履行对老年人经济上供养、生活上照料和精神上慰藉的义务，照顾老年人的特殊需要。"]
    raw = "结论：子女要赡养老人[1]。\n1. 根据《老年人权益保障法》{path}第十四条，赡养人应当履行对老年人经济上供养的义务[1]。"
    for wrong in ("第五章", "第二编第二章", "第五章 法律责任 › "):
        v = verify_answer(raw.format(path=wrong), src, retriever.article_exists, "",
                          find_article=retriever.find_article)
        assert "根据《老年人权益保障法》第十四条，赡养人" in v.text, v.text
        assert v.wrong_paths and any("编、章" in w for w in v.warnings)
    for right in ("第二章", "第二章家庭赡养与扶养", " › 第二章 家庭赡养与扶养 › ", ""):
        v = verify_answer(raw.format(path=right), src, retriever.article_exists, "",
                          find_article=retriever.find_article)
        assert f"《老年人权益保障法》{right}第十四条" in v.text and not v.wrong_paths


@pytest.mark.unit
def test_a_chapter_written_in_digits_is_the_same_chapter():
    """'《老年人权益保障法》第2章第14条' names the right chapter: the KB writes it 第二章. Before, it was
    taken for an invented path, removed, and the answer warned that the chapter did not match."""
    from types import SimpleNamespace

    hit = SimpleNamespace(location="第二章 家庭赡养与扶养 › 第十四条", text="第十四条 赡养人应当履行赡养义务。")
    src = ["第十四条 赡养人应当履行对老年人经济上供养、生活上照料和精神上慰藉的义务，照顾老年人的特殊需要。"]
    raw = "结论：子女要赡养老人[1]。\n1. 根据《老年人权益保障法》{path}第14条，赡养人应当履行对老年人经济上供养的义务[1]。"
    for path, wrong in (("第2章", False), ("第２章", False), ("第二章", False), ("第5章", True), ("第12章", True)):
        v = verify_answer(raw.format(path=path), src, lambda *_: True, "", find_article=lambda law, art: [hit])
        assert bool(v.wrong_paths) == wrong, (path, v.text)
        assert (f"《老年人权益保障法》{path}第14条" in v.text) != wrong


@pytest.mark.integration
def test_a_real_article_with_an_invented_paragraph_or_item_loses_them(library):
    """老年人权益保障法第十四条 has three 款 and no 项; 居民委员会组织法第十条 lists its duties as 项 （一）…."""
    from knowledge.retrieve import HybridRetriever

    retriever = HybridRetriever(library)
    src = ["第十四条 赡养人应当履行对老年人经济上供养、生活上照料和精神上慰藉的义务，照顾老年人的特殊需要。"]

    def shown(ref: str) -> tuple[str, list[str]]:
        raw = f"结论：子女要赡养老人[1]。\n1. 根据{ref}，赡养人应当履行对老年人经济上供养的义务[1]。"
        v = verify_answer(raw, src, retriever.article_exists, "", source_titles=["中华人民共和国老年人权益保障法"],
                          find_article=retriever.find_article)
        return v.text.split("\n")[1].removeprefix("1. 根据").split("，")[0], v.wrong_clauses

    for invented in ("《老年人权益保障法》第十四条第九款", "《老年人权益保障法》第十四条第三款第二项", "老年人权益保障法第14条第4款"):
        text, wrong = shown(invented)
        assert text == invented[: invented.index("条") + 1] and len(wrong) == 1 and wrong[0].endswith(invented)
    for real in ("《老年人权益保障法》第十四条第三款", "《城市居民委员会组织法》第十条第一款第四项", "《城市居民委员会组织法》第十条第六项"):
        assert shown(real) == (real, [])
    assert shown("《城市居民委员会组织法》第十条第二款")[1] == []  # the 款 after the list of 项
    assert shown("《城市居民委员会组织法》第十条第三款")[1] and shown("《城市居民委员会组织法》第十条第二款第一项")[1]


@pytest.mark.unit
def test_an_article_number_is_only_corrected_to_a_source_of_the_law_it_names():
    """《民法典》 written on the words of 老年人权益保障法第十四条: "correcting" it to 《民法典》第十四条 (a real
    article about 民事权利能力) would make a wrong citation out of a real one."""
    src = ["第十四条 赡养人应当履行对老年人经济上供养、生活上照料和精神上慰藉的义务，照顾老年人的特殊需要。"]
    raw = ("结论：子女要赡养老人[1]。\n1. 《民法典》第一千零六十七条规定，赡养人应当履行对老年人经济上供养、"
           "生活上照料和精神上慰藉的义务[1]。")
    titles = ["中华人民共和国老年人权益保障法"]
    v = verify_answer(raw, src, lambda law, art: True, "子女不赡养老人怎么办", source_titles=titles)
    assert "《民法典》第一千零六十七条" in v.text and "第十四条" not in v.text
    assert not any("条号不符" in w for w in v.warnings)
    # the same sentence naming the source's own law is corrected, with or without 《》 and 中华人民共和国
    for named in ("《中华人民共和国老年人权益保障法》", "《老年人权益保障法》", "根据老年人权益保障法"):
        fixed = verify_answer(raw.replace("《民法典》", named), src, lambda law, art: True, "", source_titles=titles)
        assert "第十四条" in fixed.text and any("条号不符" in w for w in fixed.warnings)


@pytest.mark.unit
def test_an_article_written_with_its_chapter_path_is_checked_and_its_number_must_match_the_quote():
    """'《民法典》第三编合同第十二章借款合同第六百六十七条' is an article reference like any other."""
    src = ["第六百七十七条 借款人提前返还借款的，除当事人另有约定外，应当按照实际借款的期间计算利息。"]
    q = "借钱提前还了，利息怎么算"
    raw = ("结论：按实际借款的期间计算利息[1]。\n1. 根据《民法典》第三编合同第十二章借款合同第六百六十七条，"
           "借款人提前返还借款的，除当事人另有约定外，应当按照实际借款的期间计算利息[1]。")
    v = verify_answer(raw, src, lambda law, art: True, q)
    assert "第六百七十七条，借款人提前返还借款" in v.text and "第六百六十七条" not in v.text
    assert any("条号不符" in w for w in v.warnings)
    invented = verify_answer("结论：按实际借款的期间计算利息[1]。依据《民法典》第三编合同第九千条。", src,
                             lambda law, art: art != "第九千条", q)
    assert "第九千条" not in invented.text and invented.invalid_articles
    swallowed = verify_answer("结论：要办理接收[1]。《社区矫正法》第三章规定社区矫正机构应当依照第九十九条办理接收手续[1]。",
                              ["社区矫正机构应当办理接收手续。"], lambda law, art: art != "第九十九条", "接收手续")
    assert "第三章规定社区矫正机构应当依照相关规定办理接收手续" in swallowed.text  # only the number goes
    # a number the source itself refers to is a quote, not a wrong number
    quoted = ["第七十六条 家庭成员有本法第七十五条规定行为的，由有关单位给予批评教育。"]
    raw = "结论：会受批评教育[1]。\n1. 家庭成员有本法第七十五条规定行为的，由有关单位给予批评教育[1]。"
    assert "本法第七十五条" in verify_answer(raw, quoted, lambda law, art: True, "家暴会怎样").text
    # never "corrected" to an article the named law does not have
    other_law = ["第一千零四十三条 家庭成员应当敬老爱幼，互相帮助。"]
    raw = "结论：要敬老爱幼[1]。\n1. 《老年人权益保障法》第十八条规定，家庭成员应当敬老爱幼，互相帮助[1]。"
    exists = lambda law, art: not (law == "老年人权益保障法" and art == "第一千零四十三条")  # noqa: E731
    assert "第十八条" in verify_answer(raw, other_law, exists, "家里要敬老吗").text


@pytest.mark.integration
@pytest.mark.parametrize("question", [
    "老年人权益保障法第十四条",
    "请问老年人权益保障法第十四条怎么规定的",          # words before the name
    "根据《中华人民共和国老年人权益保障法》第14条，子女要做什么",
])
def test_an_article_named_in_the_question_comes_first(library, question):
    from knowledge.retrieve.hybrid import HybridRetriever

    top = HybridRetriever(library).search(question, 5)[0]
    assert "老年人权益保障法" in top.title and top.meta.get("article") == "第十四条", (top.title, top.location)
    assert top.meta.get("pinned")


@pytest.mark.unit
def test_an_article_number_without_a_law_must_be_in_the_sources():
    handbook = "2. 告知申请渠道：最低生活保障一般由本人向户籍所在地乡镇人民政府、街道办事处提出。"
    law = "第三十七条 申请最低生活保障，由本人向户籍所在地乡镇人民政府、街道办事处提出。"
    text = ("结论：向乡镇人民政府、街道办事处提出[1]。\n1. [1] 第三十七条：由本人向户籍所在地乡镇人民政府、街道办事处提出。\n"
            "2. [2] 第四条：最低生活保障一般由本人向户籍所在地乡镇人民政府、街道办事处提出。\n"
            "3. 依据第37条，由本人提出[1]。")
    v = verify_answer(text, [law, handbook], lambda *_: True)
    assert "第四条" not in v.text and v.unknown_bare_articles == ["第四条"]
    assert "第三十七条：" in v.text and "依据第37条" in v.text  # the sources have these
    assert any("第四条" in w and "已删除" in w for w in v.warnings)
    assert not v.severe


@pytest.mark.unit
def test_an_article_of_this_law_or_that_law_is_checked_against_the_law_named_before_it():
    """'该法第九十九条' was always accepted (meant for quoted text's own "依照本法第N条"); the 老年人权益保障法
    has 85 articles, so the shown answer cited an invented one."""
    src = ["第十四条 赡养人应当履行对老年人经济上供养、生活上照料和精神上慰藉的义务。"]
    exists = lambda law, art: law in "中华人民共和国老年人权益保障法" and art in ("第十四条", "第七十五条")  # noqa: E731
    raw = ("结论：赡养人应当履行赡养义务[1]。\n1. 根据《老年人权益保障法》第十四条，赡养人应当履行经济上供养的义务[1]。"
           "该法第九十九条还规定，赡养人应当履行生活上照料的义务[1]。")
    v = verify_answer(raw, src, exists, "子女不赡养老人怎么办")
    assert "第九十九条" not in v.text and "该法相关规定" in v.text and v.invalid_articles == ["该法第九十九条"]
    assert "该法第七十五条" in verify_answer(raw.replace("九十九", "七十五"), src, exists).text  # it has that one
    # with no law named before it, "本法第N条" must be one the sources quote
    assert "第九十九条" not in verify_answer("结论：依照本法第九十九条，赡养人应当履行供养义务[1]。", src, exists).text
    quoted = ["第七十六条 家庭成员有本法第九十九条规定行为的，由有关单位给予批评教育。"]
    assert "本法第九十九条" in verify_answer("结论：家庭成员有本法第九十九条规定行为的，由有关单位给予批评教育[1]。",
                                         quoted, exists).text


@pytest.mark.unit
@pytest.mark.parametrize("written", ["第十四、九十九条", "第14至99条", "第十四条至第九十九条", "第十四条和第九十九条",
                                     "第十四条、第九十九条", "第99条第2款", "第九十九条第二款"])
def test_every_article_of_a_list_or_range_is_checked(written):
    """'第十四、九十九条' and '第14至99条' were not recognised at all (the invented 第九十九条 was shown);
    '第十四条和第九十九条' lost only the bare second number ("第十四条和，"), '第99条第2款' kept "第2款"."""
    src = ["第十四条 赡养人应当履行对老年人经济上供养、生活上照料和精神上慰藉的义务。"]
    exists = lambda law, art: "老年人权益保障法" in law and art in ("第十四条", "第十五条", "第十六条")  # noqa: E731
    raw = f"结论：赡养人应当履行赡养义务[1]。\n1. 根据《老年人权益保障法》{written}，赡养人应当履行经济上供养的义务[1]。"
    v = verify_answer(raw, src, exists, "子女不赡养老人怎么办")
    assert "根据《老年人权益保障法》相关规定，赡养人" in v.text, v.text
    assert v.invalid_articles and not v.unknown_bare_articles


@pytest.mark.unit
@pytest.mark.parametrize("written", ["第十四、十五条", "第14至16条", "第十四条至第十六条", "第十四条和第十五条",
                                     "第十四条第二款"])
def test_a_list_of_real_articles_is_kept_whole(written):
    """'第十四条和第十五条' lost its second number when the sources quote only 第十四条 ("第十四条和，")."""
    src = ["第十四条 赡养人应当履行对老年人经济上供养、生活上照料和精神上慰藉的义务。"]
    exists = lambda law, art: "老年人权益保障法" in law and art in ("第十四条", "第十五条", "第十六条")  # noqa: E731
    raw = f"结论：赡养人应当履行赡养义务[1]。\n1. 根据《老年人权益保障法》{written}，赡养人应当履行经济上供养的义务[1]。"
    v = verify_answer(raw, src, exists, "子女不赡养老人怎么办")
    assert f"《老年人权益保障法》{written}，赡养人" in v.text and not v.warnings, (v.text, v.warnings)


@pytest.mark.unit
@pytest.mark.parametrize("written,shown", [
    ("根据《老年人权益保障法》的第九十九条，", "根据《老年人权益保障法》的相关规定，"),
    ("根据《老年人权益保障法》中第九十九条，", "根据《老年人权益保障法》中相关规定，"),
    ("根据《老年人权益保障法》第九十九条规定，", "根据《老年人权益保障法》相关规定，"),
    ("《老年人权益保障法》（第九十九条）规定，", "《老年人权益保障法》规定，"),
])
def test_an_unknown_article_goes_without_leaving_debris(written, shown):
    """Before: '《…》的，' / '《…》中，' (only the bare number went), '相关规定规定', '（）'."""
    src = ["第十四条 赡养人应当履行对老年人经济上供养、生活上照料和精神上慰藉的义务。"]
    v = verify_answer(f"结论：赡养人应当履行赡养义务[1]。\n1. {written}赡养人应当履行经济上供养的义务[1]。", src,
                      lambda law, art: art == "第十四条", "子女不赡养老人怎么办")
    assert f"1. {shown}赡养人" in v.text, v.text
    assert "第九十九条" not in v.text


@pytest.mark.unit
def test_a_looping_article_list_is_looked_up_once_per_article():
    """'第十四条和第十四条和…' (a model looping inside one sentence) made one KB lookup per repeat: 2000 took 20 s."""
    calls = []
    exists = lambda law, art: calls.append(art) or True  # noqa: E731
    verify_answer("结论：《老年人权益保障法》" + "第十四条和" * 50 + "第十五条[1]。", ["第十四条 赡养人应当履行赡养义务。"], exists)
    assert sorted(calls) == ["第十五条", "第十四条"]
