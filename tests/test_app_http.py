"""The real app over HTTP, driven with gradio_client: sign-in, asking, KB management, server-side roles.

One app process serves the whole module (extractive answers: SHEGONG_LLM_BACKEND=none).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file

from appserver import app_over, client

pytestmark = pytest.mark.integration

REFUSED_KB = "当前账号（社工）没有权限执行此操作：上传或删除知识库资料"


@pytest.fixture(scope="module")
def server(tmp_path_factory, sample_kbs_dir):
    with app_over(tmp_path_factory, sample_kbs_dir, "apphome") as srv:
        yield srv


@pytest.fixture(scope="module")
def supervisor(server):
    return client(server, "dudao")


@pytest.fixture(scope="module")
def worker(server):
    return client(server, "shegong")


def ask(c: Client, question: str, mode: str = "policy") -> tuple[list, dict]:
    chat, _question_box, answer, _history = c.predict(question, mode, api_name="/ask")
    return chat, answer


def message_text(message: dict) -> str:
    content = message["content"]
    return "".join(part.get("text", "") for part in content) if isinstance(content, list) else content


def documents(c: Client, query: str = "") -> list[list]:
    return c.predict("全部", "", query, api_name="/list_documents")["data"]


def stats(c: Client) -> list[list]:
    return c.predict(api_name="/kb_stats")["data"]


def test_sign_in_is_required(server):
    assert httpx.get(server.url + "/config").status_code == 401
    assert httpx.post(server.url + "/gradio_api/call/kb_stats", json={"data": []}).status_code == 401
    with pytest.raises(ValueError):
        Client(server.url, auth=("shegong", "wrong-password"), verbose=False)


def test_every_page_says_it_is_chinese_before_gradio_draws_it(server):
    """Gradio's sign-in page takes its language from the browser; the page tells it zh-CN (test_browser.py
    shows the result in an English-language browser)."""
    page = httpx.get(server.url + "/", headers={"Accept-Language": "en-US"})
    assert page.status_code == 200 and '"auth_required":true' in page.text.replace(" ", "")
    head = page.text.split("<head>", 1)[1]
    assert head.startswith('<script>Object.defineProperty(navigator, "language", {get: () => "zh-CN"})')
    assert '<html\n\tlang="zh-CN"' in page.text
    assert int(page.headers["content-length"]) == len(page.content)


def test_ask_returns_an_answer_with_source_cards(worker):
    chat, answer = ask(worker, "独居老人好几天没出门，社区应该怎么做？")
    assert not answer["refused"] and answer["extractive"]
    assert answer["citations"] and answer["citations"][0]["title"]
    html = message_text(chat[-1])
    assert 'class="sg-card' in html and "查看原文" in html and "<mark>" in html
    assert "摘录模式" in html


def test_out_of_scope_question_is_refused_with_nearest_sources(worker):
    _, answer = ask(worker, "量子计算机的超导比特怎么降温？")
    assert answer["refused"]
    assert "没有找到" in answer["answer"]


def test_upload_as_supervisor(supervisor, worker, tmp_path):
    f = tmp_path / "社区食堂就餐指引.txt"
    f.write_text("社区食堂就餐指引\n\n社区长者食堂每天中午十一点开餐，六十岁以上老人凭卡就餐享受八折优惠，"
                 "八十岁以上老人可申请送餐上门。\n", encoding="utf-8")
    summary, _files = supervisor.predict([handle_file(str(f))], "自动（按资料类型）", "handbook", api_name="/upload")
    assert "✓ 社区食堂就餐指引" in summary and "失败" not in summary
    assert any(row[2] == "社区食堂就餐指引" for row in documents(supervisor, "食堂"))
    _, answer = ask(worker, "长者食堂几点开餐，老人有优惠吗？")
    assert "社区食堂就餐指引" in [c["title"] for c in answer["citations"]]


def test_case_added_in_the_form_is_found_by_the_next_question(supervisor, worker):
    message = supervisor.predict(
        "高空抛物的劝阻与取证", "物业、派出所", "居民反映楼上经常往下扔垃圾和烟头",
        "抛物者难以确定，居民之间互相猜疑", "联合物业加装朝上的监控摄像头，在楼道张贴提示，逐户上门宣传高空抛物的法律责任",
        "两个月内没有再发生", "高空抛物、安全", api_name="/add_case")
    assert "已保存案例" in message
    _, answer = ask(worker, "楼上有人高空抛物，社区怎么劝阻？", "solution")
    assert "高空抛物的劝阻与取证" in [c["title"] for c in answer["citations"]]


def test_delete_as_supervisor(supervisor, worker, tmp_path):
    f = tmp_path / "旧衣回收箱说明.txt"
    f.write_text("旧衣回收箱说明\n\n小区旧衣回收箱设在三号楼东侧，每月第一个周一清运，衣物请洗净打包后投放。\n",
                 encoding="utf-8")
    supervisor.predict([handle_file(str(f))], "自动（按资料类型）", "handbook", api_name="/upload")
    row = next(r for r in documents(supervisor, "旧衣") if r[2] == "旧衣回收箱说明")
    doc_id, kb = row[0], row[1]
    question = "小区旧衣回收箱什么时候清运？"
    assert "旧衣回收箱说明" in [c["title"] for c in ask(worker, question)[1]["citations"]]
    downloaded = supervisor.predict(kb, doc_id, api_name="/download_document")  # the stored original, byte for byte
    path = downloaded["value"] if isinstance(downloaded, dict) else downloaded
    assert Path(path).read_bytes() == f.read_bytes()

    message, *_ = supervisor.predict(kb, doc_id, True, api_name="/delete_document")

    assert "已删除" in message
    assert not documents(supervisor, "旧衣")
    assert "旧衣回收箱说明" not in [c["title"] for c in ask(worker, question)[1]["citations"]]


def test_social_worker_is_refused_on_the_server(worker, supervisor, tmp_path):
    before_stats, before_docs = stats(supervisor), documents(supervisor)
    f = tmp_path / "不该导入的文件.txt"
    f.write_text("不该导入的文件\n\n这是一段测试文字，社工账号不能把它导入知识库。\n", encoding="utf-8")
    kb, doc_id = before_docs[0][1], before_docs[0][0]
    with pytest.raises(Exception) as err:  # the file itself is refused: it never reaches Gradio's cache
        worker.predict([handle_file(str(f))], "自动（按资料类型）", "", api_name="/upload")
    assert "403" in str(err.value)
    calls = [
        lambda: worker.predict("社工自己加的案例", "", "场景", "问题", "做法", "", "", api_name="/add_case"),
        lambda: worker.predict(kb, doc_id, True, api_name="/delete_document"),
        lambda: worker.predict(["慈善法"], "", api_name="/import_laws"),
    ]
    for call in calls:
        with pytest.raises(Exception) as err:
            call()
        assert REFUSED_KB in str(err.value)
    with pytest.raises(Exception) as err:
        worker.predict(api_name="/list_users")
    assert "没有权限" in str(err.value) and "管理账号" in str(err.value)
    assert stats(supervisor) == before_stats
    assert documents(supervisor) == before_docs


def test_feedback_is_stored(worker, server):
    import sqlite3

    _, answer = ask(worker, "居民身份证丢了，去哪里补办？")
    worker.predict("希望写明办理窗口", api_name="/feedback_bad")  # about the answer the server gave this client
    with sqlite3.connect(server.home / "app.sqlite") as conn:
        rows = conn.execute("SELECT username, question, rating, comment FROM feedback").fetchall()
    assert ("shegong", "居民身份证丢了，去哪里补办？", -1, "希望写明办理窗口") in rows


def test_a_password_reset_signs_the_user_out_everywhere(server):
    admin = client(server, "admin")
    admin.predict("wangge", "社工", "first-pass-123", api_name="/add_user")
    signed_in = Client(server.url, auth=("wangge", "first-pass-123"), verbose=False)
    ask(signed_in, "居民身份证丢了，去哪里补办？")  # works before the reset
    admin.predict("wangge", "second-pass-456", api_name="/reset_password")
    with pytest.raises(Exception):
        ask(signed_in, "居民身份证丢了，去哪里补办？")
    ask(Client(server.url, auth=("wangge", "second-pass-456"), verbose=False), "老人走失了怎么办？")


def test_values_the_form_does_not_offer_are_refused_in_chinese(supervisor, server, tmp_path):
    """The HTTP API can send any value; the server's own check answers, not Gradio's English one."""
    f = tmp_path / "类型不对.txt"
    f.write_text("类型不对\n\n这份文件用一个不存在的资料类型上传。\n", encoding="utf-8")
    before = documents(supervisor)
    with pytest.raises(Exception) as err:
        supervisor.predict([handle_file(str(f))], "自动（按资料类型）", "notes", api_name="/upload")
    assert "未知的资料类型：notes" in str(err.value)
    with pytest.raises(Exception) as err:
        supervisor.predict("全部", "notes", "", api_name="/list_documents")
    assert "未知的资料类型：notes" in str(err.value)
    with pytest.raises(Exception) as err:
        client(server, "admin").predict("xiaowang", "超级管理员", "pass-123456", api_name="/add_user")
    assert "未知的角色：超级管理员" in str(err.value)
    with pytest.raises(Exception) as err:
        ask(client(server, "shegong"), "老人走失了怎么办？", mode="advice")
    assert "未知的提问方式：advice" in str(err.value)
    assert documents(supervisor) == before
    report = supervisor.predict(["中华人民共和国社区法"], "", api_name="/import_laws")
    assert "失败 1 个" in report and "中华人民共和国社区法" in report
