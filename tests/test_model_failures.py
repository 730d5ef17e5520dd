"""A model that crashes or cannot run, seen from the outside: the real app over HTTP (gradio_client), a
real browser, and the real command line, each with the small GGUF in a real model worker process."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from gradio_client import Client

from appserver import PASSWORD, ROOT, prepare_home, running_app

pytestmark = pytest.mark.slow

Q_A = "独居老人好几天没出门，社区应该怎么做？"
Q_B = "居民身份证丢了，去哪里补办？"
Q_C = "楼上楼下噪音纠纷怎么调解？"
CANNOT_RUN = "大模型在这台电脑上无法运行"


def worker_pids(parent: int) -> list[int]:
    """The model worker processes whose parent is ``parent``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = open(f"/proc/{entry}/stat").read()
            cmdline = open(f"/proc/{entry}/cmdline", "rb").read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and b"assistant.llm.worker_child" in cmdline:
            found.append(int(entry))
    return found


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def app_log(server) -> str:
    path = server.home / "logs" / "app.log"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def message_text(message: dict) -> str:
    content = message["content"]
    return "".join(part.get("text", "") for part in content) if isinstance(content, list) else content


def shown(job) -> list[str]:
    """The assistant message of every update a streaming /ask job has sent so far."""
    return [message_text(out[0][-1]) for out in job.outputs() if out and out[0]]


def corrupt_gguf(folder: Path) -> Path:
    junk = folder / "broken.gguf"
    junk.write_bytes(b"GGUF" + b"\x00" * 64 + b"not a model" * 1000)
    return junk


@pytest.fixture(scope="module")
def model_app(tmp_path_factory, sample_kbs_dir, small_model_path):
    home = tmp_path_factory.mktemp("modelapp")
    prepare_home(home, sample_kbs_dir)
    env = {"SHEGONG_LLM_BACKEND": "llama_cpp", "SHEGONG_LLM_MODEL_PATH": str(small_model_path),
           "SHEGONG_LLM_N_CTX": "2048", "SHEGONG_LLM_MAX_TOKENS": "160"}
    with running_app(home, env=env) as server:
        wait_for(lambda: "model worker ready" in app_log(server), 600, "the model worker")
        yield server


def test_killing_the_worker_mid_answer_ends_only_that_answer(model_app):
    first_worker = wait_for(lambda: worker_pids(model_app.pid), 10, "the worker process")[0]
    a = Client(model_app.url, auth=("shegong", PASSWORD), verbose=False)
    b = Client(model_app.url, auth=("dudao", PASSWORD), verbose=False)
    job_a = a.submit(Q_A, "solution", api_name="/ask")
    # the sources and 原文摘录 come first; the model's text then streams in below them
    wait_for(lambda: any("原文摘录" in html for html in shown(job_a)), 120, "user A's 原文摘录")
    wait_for(lambda: any("sg-draft" in html for html in shown(job_a)), 600, "the model's text for user A")
    job_b = b.submit(Q_B, "policy", api_name="/ask")  # a second user, in flight at the same time
    wait_for(lambda: any("原文摘录" in html for html in shown(job_b)), 120, "user B's 原文摘录 during A's answer")
    os.kill(first_worker, signal.SIGKILL)

    chat_a, _box, answer_a, _history = job_a.result(timeout=300)
    # on screen, the 原文摘录 came before the model's first word, and stayed above its text while it streamed
    updates = shown(job_a)
    first_extract = next(i for i, html in enumerate(updates) if "原文摘录" in html)
    first_words = next(i for i, html in enumerate(updates) if "sg-answer" in html)
    assert first_extract < first_words, updates[: first_words + 1]
    assert all(html.index("原文摘录") < html.index("sg-draft") for html in updates if "sg-draft" in html)
    assert answer_a["extractive"] and answer_a["citations"] and not answer_a["refused"]
    note = next(w for w in answer_a["warnings"] if "大模型进程意外退出" in w)
    assert "SIGKILL" in note and "正在自动重启" in note, note
    html = message_text(chat_a[-1])
    assert "摘录模式" in html and "大模型进程意外退出" in html

    chat_b, _box, answer_b, _history = job_b.result(timeout=600)  # completes, on the restarted worker
    assert answer_b["answer"] and answer_b["citations"], answer_b
    assert not any("大模型暂时不可用" in w for w in answer_b["warnings"]), answer_b["warnings"]

    chat_c, _box, answer_c, _history = a.predict(Q_C, "solution", api_name="/ask")  # and the next question
    assert answer_c["answer"] and not any("大模型暂时不可用" in w for w in answer_c["warnings"]), answer_c
    restarted = worker_pids(model_app.pid)
    assert restarted and first_worker not in restarted
    log = app_log(model_app)
    assert f"model worker pid {first_worker} ended" in log and "model worker restarted" in log


@pytest.fixture(scope="module")
def broken_model_app(tmp_path_factory, sample_kbs_dir):
    home = tmp_path_factory.mktemp("brokenmodelapp")
    prepare_home(home, sample_kbs_dir)
    env = {"SHEGONG_LLM_BACKEND": "llama_cpp", "SHEGONG_LLM_MODEL_PATH": str(corrupt_gguf(home))}
    with running_app(home, env=env) as server:
        wait_for(lambda: "LLM self-check failed" in app_log(server), 300, "the failed self-check in the log")
        yield server


def test_an_app_whose_model_cannot_load_serves_extracts_and_says_why(broken_model_app):
    client = Client(broken_model_app.url, auth=("shegong", PASSWORD), verbose=False)
    chat, _box, answer, _history = client.predict(Q_A, "solution", api_name="/ask")
    assert answer["extractive"] and answer["citations"] and not answer["refused"]
    note = next(w for w in answer["warnings"] if CANNOT_RUN in w)
    assert "无法加载模型文件" in note and "当前为摘录模式" in note, note
    html = message_text(chat[-1])
    assert "摘录模式" in html and CANNOT_RUN in html


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def test_the_status_bar_says_the_model_cannot_run(broken_model_app):
    """On screen, in a real browser: the status line under the title."""
    if not Path(CHROMIUM).exists():
        pytest.skip("没有安装 chromium（运行 bash scripts/setup.sh --dev 或 apt-get install chromium）")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright 未安装（pip install playwright）")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
            page.goto(broken_model_app.url)
            page.wait_for_selector("input[type=password]", timeout=30_000)
            page.locator("input").first.fill("shegong")
            page.locator("input[type=password]").fill(PASSWORD)
            page.keyboard.press("Enter")
            status = page.locator("#sg-status-line")
            status.get_by_text(CANNOT_RUN).wait_for(state="visible", timeout=30_000)
            text = status.inner_text()
            assert "无法加载模型文件" in text and "当前为摘录模式" in text, text
        finally:
            browser.close()


# ---------------------------------------------------------------- the command line

def test_cli_ask_with_a_model_that_cannot_load_says_so_and_exits_3(library, tmp_path):
    env = dict(os.environ, SHEGONG_LLM_BACKEND="llama_cpp", SHEGONG_LLM_MODEL_PATH=str(corrupt_gguf(tmp_path)))
    out = subprocess.run([sys.executable, "-m", "cli", "ask", Q_A, "--mode", "solution"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 3, (out.returncode, out.stderr)
    assert CANNOT_RUN in out.stderr and "当前为摘录模式" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
    assert "（以下内容直接摘自知识库原文" in out.stdout and "来源：" in out.stdout, out.stdout


def test_cli_ask_whose_model_crashes_mid_answer_says_so_and_exits_3(library, small_model_path):
    env = dict(os.environ, SHEGONG_LLM_BACKEND="llama_cpp", SHEGONG_LLM_MODEL_PATH=str(small_model_path),
               SHEGONG_LLM_N_CTX="2048", SHEGONG_LLM_MAX_TOKENS="200", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "cli", "ask", Q_A, "--mode", "solution"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout = bytearray()
    reader = threading.Thread(target=lambda: [stdout.extend(chunk) for chunk in iter(lambda: os.read(
        proc.stdout.fileno(), 4096), b"")], daemon=True)
    reader.start()
    try:
        pid = wait_for(lambda: worker_pids(proc.pid), 300, "the CLI's model worker")[0]
        wait_for(lambda: len(stdout) > 0, 600, "the model's first words on stdout")
        os.kill(pid, signal.SIGKILL)
        stderr = proc.stderr.read().decode()
        assert proc.wait(timeout=300) == 3, stderr
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(timeout=10)
    text = stdout.decode()
    assert "大模型在回答途中出错" in stderr and "SIGKILL" in stderr and "Traceback" not in stderr, stderr
    assert re.search(r"（以下内容直接摘自知识库原文", text) and "来源：" in text, text
    # the worker restarted meanwhile does not outlive the command (it would be left to init, pid 1)
    wait_for(lambda: not worker_pids(1), 30, "no orphaned model worker")
