"""Source-card HTML and the app's error wrapper (no server, no browser)."""

from __future__ import annotations

import logging

import gradio as gr
import pytest

from webapp import render as ui
from shegong.errors import PermissionDenied

pytestmark = pytest.mark.unit

CITATION = {"n": 1, "title": "中华人民共和国老年人权益保障法", "location": "第二章 家庭赡养与扶养 › 第十四条",
            "text": "第十四条 赡养人应当履行对老年人经济上供养、生活上照料和精神上慰藉的义务。<script>alert(1)</script>",
            "excerpt": "赡养人应当履行对老年人经济上供养的义务。", "doc_type": "law", "kb": "政策法规", "chunk_id": 7}


def test_highlight_marks_terms_and_escapes_html():
    out = ui.highlight("子女<b>不</b>赡养老人", {"赡养", "老人"})
    assert out == "子女&lt;b&gt;不&lt;/b&gt;<mark>赡养</mark><mark>老人</mark>"


def test_source_card_has_type_location_marks_and_the_whole_text():
    card = ui.source_cards([CITATION], "子女不赡养老人怎么办")
    assert "《中华人民共和国老年人权益保障法》" in card and "法律法规" in card and "第十四条" in card
    assert "<mark>赡养</mark>" in card
    assert "<details" in card and "查看原文" in card and "精神上慰藉" in card
    assert "<script>" not in card and "&lt;script&gt;" in card


def test_render_answer_labels_extractive_refused_and_warnings():
    extractive = ui.render_answer({"question": "q", "answer": "（摘录）", "citations": [CITATION], "extractive": True,
                                   "refused": False, "warnings": ["本地大模型未就绪"]})
    assert "摘录模式" in extractive and "⚠ 本地大模型未就绪" in extractive and "sg-card" in extractive
    refused = ui.render_answer({"question": "q", "answer": "知识库里没有找到", "citations": [CITATION],
                                "extractive": False, "refused": True, "warnings": []})
    assert "未找到可靠依据" in refused and "最接近的资料（可能不相关）" in refused and "知识库里没有找到" in refused
    generated = ui.render_answer({"question": "q", "answer": "应当履行赡养义务[1]。\n\n依据原文：\n[1] 《法》：“…”",
                                  "citations": [CITATION], "extractive": False, "refused": False, "warnings": []})
    assert "应当履行赡养义务[1]" in generated and "依据原文" not in generated


def test_guarded_turns_errors_into_chinese_messages(caplog):
    from webapp import common as app

    @app.guarded
    def refused():
        raise PermissionDenied("当前账号（社工）没有权限执行此操作：上传或删除知识库资料")

    @app.guarded
    def broken():
        raise KeyError("internal detail")

    @app.guarded
    def broken_stream():
        yield 1
        raise RuntimeError("boom")

    with pytest.raises(gr.Error) as err:
        refused()
    assert err.value.message == "当前账号（社工）没有权限执行此操作：上传或删除知识库资料"
    with caplog.at_level(logging.ERROR), pytest.raises(gr.Error) as err:
        broken()
    assert err.value.message == app.GENERIC_ERROR and "internal detail" not in err.value.message
    assert "unexpected error" in caplog.text
    with pytest.raises(gr.Error) as err:
        list(broken_stream())
    assert err.value.message == app.GENERIC_ERROR
