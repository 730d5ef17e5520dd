"""The running app, tried as an attacker and as a careless colleague would (issue 16), over HTTP.

One app process serves the module (extractive answers). The sign-in throttle tests come last: they
leave 127.0.0.1 throttled.
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file

from appserver import PASSWORD, ROOT, prepare_home, running_app

pytestmark = pytest.mark.integration

UPLOAD_LIMIT_MB = 2


@pytest.fixture(scope="module")
def server(tmp_path_factory, sample_kbs_dir):
    home = tmp_path_factory.mktemp("apphome")
    prepare_home(home, sample_kbs_dir)
    env = {"SHEGONG_MAX_UPLOAD_MB": str(UPLOAD_LIMIT_MB), "GRADIO_TEMP_DIR": str(home / "gradio-tmp")}
    with running_app(home, env=env) as srv:
        yield srv


def client(server, name: str, password: str = PASSWORD) -> Client:
    return Client(server.url, auth=(name, password), verbose=False)


def sign_in(server, name: str, password: str = PASSWORD) -> httpx.Client:
    http = httpx.Client(base_url=server.url, timeout=30)
    response = http.post("/login", data={"username": name, "password": password})
    assert response.status_code == 200, response.text
    return http


def ask(c: Client, question: str = "居民身份证丢了，去哪里补办？"):
    return c.predict(question, "policy", api_name="/ask")


def cached_files(server) -> list[Path]:
    folder = server.home / "gradio-tmp"
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def audit_lines(server) -> list[str]:
    return [line for line in (server.home / "logs" / "app.log").read_text(encoding="utf-8").splitlines()
            if " AUDIT " in line]


def cli(server, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, SHEGONG_HOME=str(server.home), SHEGONG_LLM_BACKEND="none")
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


# ---------------------------------------------------------------- what each role sees
def test_workers_cannot_browse_the_knowledge_bases(server):
    worker, supervisor = client(server, "shegong"), client(server, "dudao")
    doc = supervisor.predict("全部", "", "", api_name="/list_documents")["data"][0]
    calls = [lambda: worker.predict(api_name="/kb_stats"),
             lambda: worker.predict("全部", "", "", api_name="/list_documents"),
             lambda: worker.predict(doc[1], doc[0], api_name="/document_chunks"),
             lambda: worker.predict(doc[1], doc[0], api_name="/download_document")]
    for call in calls:
        with pytest.raises(Exception) as err:
            call()
        assert "没有权限" in str(err.value) and "查看知识库" in str(err.value)


# ---------------------------------------------------------------- what the screen shows
def test_markdown_in_a_status_message_is_shown_as_text(server):
    from markdown_it import MarkdownIt

    supervisor = client(server, "dudao")
    title = "![p](http://127.0.0.1:9/p.png)[点我](http://127.0.0.1:9/)"
    message = supervisor.predict(title, "", "楼道堆物", "", "楼组长上门劝导", "", "", api_name="/add_case")
    assert "已保存案例" in message
    html = MarkdownIt("commonmark").render(message)
    assert "<img" not in html and "<a " not in html, html
    assert "![p](http://127.0.0.1:9/p.png)" in html  # the title is shown as written, as text


def test_sources_are_shown_verbatim_without_latex(server):
    http = sign_in(server, "shegong")
    config = http.get("/config").json()
    shown = [c for c in config["components"] if c.get("type") in ("chatbot", "markdown")]
    assert shown and all(c["props"].get("latex_delimiters") == [] for c in shown), \
        [(c["type"], c["props"].get("latex_delimiters")) for c in shown]


# ---------------------------------------------------------------- feedback
def test_feedback_is_about_the_servers_own_answer(server):
    worker = client(server, "shegong")
    with pytest.raises(Exception, match="还没有可以评价的回答"):
        worker.predict("说明", api_name="/feedback_good")
    ask(worker, "老人走失了怎么办？")
    worker.predict("希望写明派出所电话", api_name="/feedback_bad")
    with pytest.raises(Exception, match="意见太长"):
        worker.predict("长" * 501, api_name="/feedback_bad")
    with sqlite3.connect(server.home / "app.sqlite") as conn:
        rows = conn.execute("SELECT username, question, rating, comment, turn, length(answer) FROM feedback").fetchall()
    assert [r[:5] for r in rows] == [("shegong", "老人走失了怎么办？", -1, "希望写明派出所电话", 0)]
    assert rows[0][5] > 20  # the server's stored answer


# ---------------------------------------------------------------- uploads
def test_only_roles_that_add_files_can_upload_to_gradio(server, tmp_path):
    f = tmp_path / "资料.txt"
    f.write_text("社区资料\n\n每周二上午开放。\n", encoding="utf-8")
    before = cached_files(server)
    for name in ("shegong",):
        http = sign_in(server, name)
        with open(f, "rb") as data:
            response = http.post("/gradio_api/upload", files=[("files", (f.name, data, "text/plain"))])
        assert response.status_code == 403 and "没有权限" in response.json()["detail"], response.text
    assert cached_files(server) == before
    assert any("permission_denied user=shegong" in line for line in audit_lines(server))
    http = sign_in(server, "dudao")
    with open(f, "rb") as data:
        assert http.post("/gradio_api/upload", files=[("files", (f.name, data, "text/plain"))]).status_code == 200


def test_gradio_refuses_files_over_the_apps_own_limit(server, tmp_path):
    big = tmp_path / "很大的文件.txt"
    big.write_bytes(b"a" * ((UPLOAD_LIMIT_MB + 1) << 20))
    http = sign_in(server, "dudao")
    with open(big, "rb") as data:
        response = http.post("/gradio_api/upload", files=[("files", (big.name, data, "text/plain"))])
    assert response.status_code == 413, response.status_code
    assert not any(p.name == big.name for p in cached_files(server))


def test_the_temporary_copy_of_a_refused_upload_is_removed(server, tmp_path):
    f = tmp_path / "程序.exe"
    f.write_bytes(b"MZ not a document")
    supervisor = client(server, "dudao")
    summary, _ = supervisor.predict([handle_file(str(f))], "自动（按资料类型）", "", api_name="/upload")
    assert "不支持的文件类型" in str(summary) or "失败" in str(summary)
    deadline = time.monotonic() + 30
    while any(p.name == f.name for p in cached_files(server)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(p.name == f.name for p in cached_files(server))


# ---------------------------------------------------------------- long imports
def import_status(c: Client) -> str:
    return c.predict(api_name="/import_status")


def test_a_long_import_runs_in_the_background_and_can_be_cancelled(server, tmp_path):
    big = tmp_path / "很长的登记办法.txt"
    big.write_text("很长的登记办法\n\n" + "\n\n".join(
        f"第{i}条 社区第{i}号楼的居民可以在每周{i % 7 + 1}上午到居委会办理第{i}项登记，需要带身份证和户口本。"
        for i in range(15000)), encoding="utf-8")
    supervisor = client(server, "dudao")
    started = time.monotonic()
    status = supervisor.predict([handle_file(str(big))], "自动（按资料类型）", "", api_name="/start_upload")[0]
    assert time.monotonic() - started < 20 and "很长的登记办法.txt" in status, status
    # the import lane is busy; a case and a deletion are not in it
    started = time.monotonic()
    message = supervisor.predict("长导入期间录入的案例", "", "楼道堆物", "", "楼组长上门劝导", "", "", api_name="/add_case")
    assert "已保存案例" in message and time.monotonic() - started < 20
    doc = next(r for r in supervisor.predict("全部", "", "长导入期间", api_name="/list_documents")["data"])
    assert "已删除" in supervisor.predict(doc[1], doc[0], True, api_name="/delete_document")[0]
    deadline = time.monotonic() + 120
    while "导入中" not in (status := import_status(supervisor)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert "%" in status, status  # progress, e.g. "[导入中 35%] 很长的登记办法.txt：…：正在计算向量：640/2300 段"
    supervisor.predict(api_name="/cancel_import")
    while "已取消" not in (status := import_status(supervisor)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert "已取消" in status, status
    assert not supervisor.predict("全部", "", "很长的登记办法", api_name="/list_documents")["data"]
    assert not list((server.home / "imports").glob("*/*/*"))  # the job's copies are gone


# ---------------------------------------------------------------- sessions
def test_a_deleted_accounts_session_ends_even_if_the_name_comes_back(server):
    admin = client(server, "admin")
    admin.predict("linshi", "社工", "first-pass-123", api_name="/add_user")
    old = client(server, "linshi", "first-pass-123")
    ask(old)
    admin.predict("linshi", True, api_name="/delete_user")
    admin.predict("linshi", "督导", "other-pass-456", api_name="/add_user")
    with pytest.raises(Exception):
        old.predict(api_name="/kb_stats")  # the old browser must not act as the new 督导
    assert client(server, "linshi", "other-pass-456").predict(api_name="/kb_stats")


def test_a_password_reset_with_the_cli_ends_the_sessions(server):
    client(server, "admin").predict("zhoujie", "社工", "first-pass-123", api_name="/add_user")
    signed_in = client(server, "zhoujie", "first-pass-123")
    ask(signed_in)
    run = cli(server, "user", "passwd", "zhoujie", "--password", "second-pass-456")
    assert run.returncode == 0, run.stderr
    time.sleep(3)  # the app reads the account back every 2 s
    with pytest.raises(Exception):
        ask(signed_in)
    ask(client(server, "zhoujie", "second-pass-456"))


def test_changing_my_own_password_ends_my_other_sessions(server):
    client(server, "admin").predict("zhaoli", "社工", "first-pass-123", api_name="/add_user")
    here, there = client(server, "zhaoli", "first-pass-123"), client(server, "zhaoli", "first-pass-123")
    ask(there)
    here.predict("first-pass-123", "second-pass-456", "second-pass-456", api_name="/change_password")
    with pytest.raises(Exception):
        ask(there)


# ---------------------------------------------------------------- sign-in throttle (last: it throttles 127.0.0.1)
def test_wrong_passwords_back_off_and_are_logged_with_the_address(server):
    client(server, "admin").predict("target", "社工", "right-pass-123", api_name="/add_user")
    http = httpx.Client(base_url=server.url, timeout=30)
    for _ in range(5):
        assert http.post("/login", data={"username": "target", "password": "guess"}).status_code == 400
    response = http.post("/login", data={"username": "target", "password": "right-pass-123"})
    assert response.status_code == 400 and "登录失败次数过多" in response.json()["detail"], response.text
    lines = audit_lines(server)
    assert sum("login_failed user=target address=127.0.0.1" in line for line in lines) == 5
    assert any("login_throttled user=target address=127.0.0.1" in line for line in lines)


def test_32_parallel_wrong_logins_do_not_stall_other_requests(server):
    http = sign_in(server, "dudao")  # signed in before the storm

    def latency() -> float:
        started = time.perf_counter()
        assert http.get("/gradio_api/login_check").status_code == 200
        return time.perf_counter() - started

    quiet = statistics.median(latency() for _ in range(10))
    go = threading.Event()

    def guess(i: int) -> int:
        go.wait()
        with httpx.Client(base_url=server.url, timeout=60) as c:
            return c.post("/login", data={"username": f"guess{i}", "password": "wrong"}).status_code

    with ThreadPoolExecutor(32) as pool:
        storm = [pool.submit(guess, i) for i in range(32)]
        go.set()
        time.sleep(0.05)
        during = [latency() for _ in range(10)]
        assert all(f.result() == 400 for f in storm)
    assert statistics.median(during) < max(0.3, 5 * quiet), (quiet, during)
    assert max(during) < 1.0, (quiet, during)
