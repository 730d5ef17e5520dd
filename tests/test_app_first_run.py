"""The app on a fresh data directory, started with Gradio's own variables and a short idle timeout."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import sys
import time

import httpx
import pytest

from appserver import ROOT, free_port, serve

pytestmark = pytest.mark.integration

IDLE_HOURS = 0.002  # 7.2 s


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, sample_kbs_dir):
    """No account yet (the first 管理员 is created at start); GRADIO_SERVER_NAME/PORT name the address."""
    home = tmp_path_factory.mktemp("fresh") / "home"
    home.mkdir()
    shutil.copytree(sample_kbs_dir, home / "kbs")
    port, unused = free_port(), free_port()
    env = dict(os.environ, SHEGONG_HOME=str(home), SHEGONG_LLM_BACKEND="none", SHEGONG_APP_PORT=str(unused),
               GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1", GRADIO_ANALYTICS_ENABLED="False",
               SHEGONG_SESSION_IDLE_HOURS=str(IDLE_HOURS), PYTHONUNBUFFERED="1")
    env.pop("SHEGONG_ADMIN_PASSWORD", None)
    url = f"http://127.0.0.1:{port}"
    log = home.parent / "console.log"
    with serve([sys.executable, "app.py"], url, log, env=env, cwd=ROOT, timeout=180):
        yield url, home, log, unused


def test_gradio_server_name_and_port_are_honoured(fresh):
    url, _home, _log, unused = fresh
    assert httpx.get(url + "/config").status_code == 401  # the app answers where Gradio's variables said
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", unused)) != 0  # and not on app_port


def test_the_first_password_is_in_a_private_file_not_on_the_screen(fresh):
    url, home, log, _ = fresh
    password_file = home / "初始管理员密码.txt"
    password = password_file.read_text(encoding="utf-8").split("密码：")[1].split()[0]
    console = log.read_text(encoding="utf-8", errors="replace")
    assert password not in console and str(password_file) in console
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "app.sqlite").stat().st_mode) == 0o600
    http = httpx.Client(base_url=url)
    assert http.post("/login", data={"username": "admin", "password": password}).status_code == 200


def test_an_idle_session_ends(fresh):
    url, home, _log, _ = fresh
    password = (home / "初始管理员密码.txt").read_text(encoding="utf-8").split("密码：")[1].split()[0]
    http = httpx.Client(base_url=url)
    assert http.post("/login", data={"username": "admin", "password": password}).status_code == 200
    assert http.get("/config").status_code == 200
    time.sleep(IDLE_HOURS * 3600 / 2)
    assert http.get("/config").status_code == 200  # used: the idle time starts again
    time.sleep(IDLE_HOURS * 3600 + 1)
    assert http.get("/config").status_code == 401
    assert any("session_ended user=admin reason=idle" in line
               for line in (home / "logs" / "app.log").read_text(encoding="utf-8").splitlines())
