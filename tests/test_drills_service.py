"""题库练习 through the service: roles, progress per account (not per name), and generated questions with the
real small model: drafted from a tag, invisible to practice until a 督导 approves one."""

from __future__ import annotations

import pytest

from service import accounts
from shegong.errors import ModelUnavailable, PermissionDenied, UserError


def practised(svc, user, tag: str) -> list[str]:
    """Every question id of a full round on ``tag``, answered right."""
    view, seen = svc.drill_start(user, tag=tag), []
    while view.question is not None and not view.finished:
        seen.append(view.question.id)
        svc.drill_answer(user, view.id, view.question.id, view.question.answer)
        view = svc.drill_view(user, view.id)
    return seen


@pytest.mark.integration
def test_roles_and_progress_belong_to_the_account_not_the_name(service, users, tmp_path):
    trainee, worker = users["学员"], users["社工"]
    for who in (trainee, worker, users["督导"]):  # every role may practise
        assert service.drill_start(who, tag="慈善法").total == 5
    for refused in (lambda: service.drill_import(trainee, tmp_path / "x.jsonl"),
                    lambda: service.drill_export(worker, tmp_path / "x.jsonl"),
                    lambda: service.drill_drafts(trainee),
                    lambda: service.drill_approve(worker, 1),
                    lambda: service.drill_generate(trainee, tag="慈善法")):
        with pytest.raises(PermissionDenied):
            refused()
    with pytest.raises(ModelUnavailable, match="大模型还没有就绪"):
        service.drill_generate(users["督导"], tag="慈善法")

    view = service.drill_start(trainee, tag="慈善法", limit=1)
    q = view.question
    service.drill_answer(trainee, view.id, q.id, next(ch for ch in q.options if ch not in q.answer))
    assert service.drill_progress(trainee).wrong_active == 1
    # The account is deleted and its name given to a new 学员: the new one starts with nothing.
    accounts.delete_user("trainee")
    newcomer = accounts.create_user("trainee", "secret-456", "学员")
    assert service.drill_progress(newcomer).total.answered == 0 and service.drill_wrong_book(newcomer) == []
    assert service.drill_resume(newcomer) is None


@pytest.mark.slow
def test_generated_questions_reach_practice_only_when_approved(service, users, small_llm):
    supervisor, trainee = users["督导"], users["学员"]
    service.answerer.llm = small_llm
    with pytest.raises(UserError, match="题数应在 1 到 10 之间"):
        service.drill_generate(supervisor, tag="城市居民委员会组织法", n=50)
    drafts = service.drill_generate(supervisor, tag="城市居民委员会组织法", n=2)
    assert len(drafts) == 2
    for d in drafts:  # each from a passage of that law, kept with the draft
        assert d.passage.title == "中华人民共和国城市居民委员会组织法" and d.passage.text
        assert d.record["tags"] == ["城市居民委员会组织法"] and d.record["subject"] == "社会工作法规与政策"
    assert not [qid for qid in practised(service, trainee, "城市居民委员会组织法") if qid.startswith("GEN-")]

    draft = drafts[0]
    law_text = draft.passage.text.split(" ", 1)[-1]
    first_clause = law_text.split("。")[0].split("，")[0]
    edited = service.drill_edit_draft(supervisor, draft.id, {
        "stem": "依据城市居民委员会组织法，下列说法有原文依据的是：",
        "options": {"A": first_clause, "B": "由街道办事处统一审批后方可办理", "C": "须经人民法院判决确认",
                    "D": "由公安机关负责组织实施"}, "answer": "A", "explanation": f"原文：{first_clause}。"})
    assert edited.status == "pending", edited.problems
    assert not [qid for qid in practised(service, trainee, "城市居民委员会组织法") if qid.startswith("GEN-")]
    question = service.drill_approve(supervisor, edited.id)
    assert question.source_text == draft.passage.text and question.source_chunk_id == draft.passage.chunk_id
    assert question.id in practised(service, trainee, "城市居民委员会组织法")
