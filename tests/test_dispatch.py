"""Dispatching tickets on the real parts: the bundled list, the real embedders and knowledge bases, the small
GGUF model (the reason sentence; the judges where a test asks for them), the app database. One desk per test,
in the test's own data dir."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest

from assistant.dispatch.desk import KB_NAME, KB_SOURCE, SAMPLE_LIST, SAMPLE_USER, DispatchDesk
from assistant.dispatch.judge import Example, messages_for, examples_text
from assistant.dispatch.listfile import COLUMNS
from assistant.dispatch.matcher import MAX_TICKET_CHARS, NO_MATCH_TEXT, MatchConfig
from assistant.dispatch.words import quotes_in
from knowledge.retrieve.hybrid import HybridRetriever
from shegong.errors import UserError

pytestmark = pytest.mark.slow  # the small model writes the reasons (and judges, where asked)

GBK_TWIN = Path(__file__).resolve().parent / "data" / "dispatch" / "权责清单（示例）.gbk.csv"
ALARM = "小区里停的车半夜防盗报警器一直响，吵得我们整栋楼都睡不着"
ALARM_AGAIN = "半夜楼下停着的那辆车防盗器老是叫，一响就是十几分钟"  # the same complaint in other words


@pytest.fixture
def desk(library, small_llm):
    return DispatchDesk(library, small_llm)


def test_fresh_data_dir_uses_the_bundled_sample_and_every_answer_is_a_list_item(desk):
    result = desk.dispatch("楼下烧烤店每天晚上油烟熏得我家开不了窗，找过老板没用", user="李社工")
    version = desk.store.current()
    assert version.imported_by == SAMPLE_USER and version.n_items == 73
    assert any("示例清单" in w for w in result.warnings)
    items = {it.code: it for it in desk.items()}
    assert not result.no_match and not result.judged_by_model  # the default: retrieval decides
    for m in result.matches:  # the stored item itself, not words the model wrote
        assert m.item.to_json() == items[m.item.code].to_json()
    assert 2 <= len(result.runner_ups) <= 3 and all(it.code in items for it, _ in result.runner_ups)
    assert all(0 <= s <= 1 for _, s in result.runner_ups)
    first = result.matches[0]
    assert quotes_in(first.reason, result.ticket), first.reason  # its quoted words are the ticket's own
    data = result.to_json()
    assert data["无匹配"] is False and data["matches"][0]["编号"] == first.item.code
    assert set(data["matches"][0]) >= {"编号", "事项", "主责部门", "配合部门", "社区职责", "依据", "理由", "匹配度"}
    rec = desk.store.get(result.record_id)
    assert rec.ticket == result.ticket and rec.codes == result.codes and rec.status == "pending"


@pytest.mark.parametrize("judge", ["choose", "yesno"])
def test_the_model_judges_the_candidates_when_asked(library, small_llm, judge):
    desk = DispatchDesk(library, small_llm, config=MatchConfig(judge=judge, judge_margin=float("inf")))
    result = desk.dispatch("楼下烧烤店每天晚上油烟熏得我家开不了窗，找过老板没用", user="李社工", with_next_steps=False)
    assert result.judged_by_model and len(result.judgement) == desk.config.candidates
    assert set(result.judgement) <= {it.code for it in desk.items()}
    assert all(0 <= p <= 1 for p in result.judgement.values())
    if judge == "choose":  # one distribution over the candidates
        assert sum(result.judgement.values()) == pytest.approx(1.0)
    assert result.no_match or result.codes[0] in result.judgement  # the answer is among those judged


def test_next_steps_come_from_the_handbook_and_cases_for_items_the_community_leads(desk):
    result = desk.dispatch("楼上邻居家天天晚上十一点还在拍球跑跳，吵得孩子没法睡觉，敲门说过好几次了", user="李社工")
    lead = [m for m in result.matches if m.item.duty in ("牵头", "协助")]
    if not lead:
        pytest.fail(f"expected an item the 居委会 leads or assists, got {result.codes}")
    assert result.next_steps and {s["知识库"] for s in result.next_steps} <= {"手册", "案例库"}
    assert all(s["出处"].startswith("《") and s["摘录"] for s in result.next_steps)


def test_a_correction_changes_the_next_similar_ticket(desk):
    before = desk.dispatch(ALARM_AGAIN, user="李社工", record=False, with_reason=False, with_next_steps=False)
    first = desk.dispatch(ALARM, user="李社工", with_reason=False, with_next_steps=False)
    target = "A-007" if first.codes[:1] != ["A-007"] and before.codes[:1] != ["A-007"] else "A-005"
    assert before.codes[:1] != [target]
    desk.review(first.record_id, user="王督导", accepted=False, codes=[target], note="本区把车辆报警器算交通噪声")
    after = desk.dispatch(ALARM_AGAIN, user="李社工", with_reason=False, with_next_steps=False)
    assert after.codes[:1] == [target]
    assert [e.codes for e in after.examples] == [[target]] and 0.6 <= after.examples[0].similarity < 0.92
    # the model was shown the correction, in the district's own words
    shown = examples_text(after.examples, desk.matcher().by_code)
    assert ALARM in shown and desk.matcher().by_code[target].matter in shown
    assert "本区以前纠正过的类似工单" in messages_for(ALARM_AGAIN, desk.matcher().by_code[target],
                                                   desk.matcher().index.texts, shown)[1]["content"]


def test_a_ticket_corrected_to_no_match_is_flagged_next_time(desk):
    ticket = "想问一下福利彩票中了五千块钱去哪里兑奖，要带什么证件"
    first = desk.dispatch(ticket, user="李社工", with_reason=False, with_next_steps=False)
    desk.review(first.record_id, user="王督导", accepted=False, codes=[])
    again = desk.dispatch(ticket + "。", user="李社工", with_next_steps=False)
    assert again.no_match and again.matches == [] and again.to_json()["结论"] == NO_MATCH_TEXT
    assert again.runner_ups  # the nearest items are still shown, as not fitting


def test_bad_tickets_get_chinese_errors_and_nothing_is_recorded(desk):
    desk.ensure_list()
    for bad, words in [("", "工单内容是空的"), ("   \n ", "工单内容是空的"), ("，。？", "工单内容是空的"),
                       ("噪音" * 5000, f"工单太长了（10000 字），请控制在 {MAX_TICKET_CHARS} 字以内")]:
        with pytest.raises(UserError, match=words):
            desk.dispatch(bad, user="李社工")
    assert desk.store.records() == []
    with pytest.raises(UserError, match="清单里没有这些编号：Z-999"):
        desk.review(1, user="王督导", accepted=False, codes=["Z-999"])


def test_import_versions_the_list_and_replaces_it_in_the_policy_kb(desk, tmp_path):
    v1, parsed, kb1 = desk.import_file(SAMPLE_LIST, user="王督导")
    assert (v1.version, v1.imported_by, len(parsed.errors)) == (1, "王督导", 0) and kb1.status == "added"
    # 找政策 finds the list in 政策法规 and cites it by 编号 and 事项
    hits = HybridRetriever(desk.library).search("饭店油烟扰民该找哪个部门", 5, kbs=[KB_NAME])
    listed = [h for h in hits if h.source == KB_SOURCE]
    assert listed and listed[0].title == "权责清单（示例）" and listed[0].location.startswith("A-")

    # a GBK copy with one bad row and one item less: bad row reported, good rows in, old list replaced
    with open(GBK_TWIN, encoding="gb18030", newline="") as f:
        rows = list(csv.reader(f))
    rows[3][4] = "主办"
    rows = rows[:-1]
    path = tmp_path / "青禾街道权责清单.csv"
    with open(path, "w", encoding="gb18030", newline="") as f:
        csv.writer(f).writerows(rows)
    v2, parsed, kb2 = desk.import_file(path, user="李督导")
    assert v2.version == 2 and v2.n_items == 71 and kb2.status == "replaced"
    assert [(e.line, "主办" in e.reason) for e in parsed.errors] == [(4, True)]
    docs = [d for d in desk.library.get(KB_NAME).documents() if d.source == KB_SOURCE]
    assert len(docs) == 1 and docs[0].n_chunks == 71 and docs[0].title == "青禾街道权责清单"
    assert len(desk.items()) == 71 and desk.matcher().list_version == 2

    # a file with a missing column changes nothing
    bad = tmp_path / "缺列.csv"
    with open(bad, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([[c for c in COLUMNS if c != "社区职责"], ["X-1", "事", "部门", "", "", ""]])
    with pytest.raises(UserError, match="缺少这些列：社区职责"):
        desk.import_file(bad, user="李督导")
    assert desk.store.current().version == 2 and len(desk.items()) == 71


def test_export_after_dispatch_and_review(desk, tmp_path):
    r = desk.dispatch("小区门口的路灯坏了一个多月了，晚上黑漆漆的，老人出门容易摔", user="李社工", with_next_steps=False)
    desk.review(r.record_id, user="李社工", accepted=True)
    out = desk.export(tmp_path / "派单记录.xlsx")
    rows = list(openpyxl.load_workbook(out).active.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][4] == r.ticket and rows[1][5] == "、".join(r.codes) and rows[1][9] == "已确认"


def test_examples_for_items_no_longer_on_the_list_are_not_used(desk):
    m = desk.matcher()
    qvec = m.index.query_vector(ALARM_AGAIN)
    gone = Example(ALARM, ["Q-404"])
    kept = Example(ALARM, ["A-007"])
    assert m.similar_examples(qvec, [gone]) == []
    assert [e.codes for e in m.similar_examples(qvec, [kept])] == [["A-007"]]
