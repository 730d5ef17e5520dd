"""Start the real app (``python app.py`` or ``shegong app``) in a subprocess for the HTTP and browser tests.

The data directory is prepared before the start: a copy of the session's
sample knowledge bases and one account per role, so the app needs no
first-run setup and answers at once (``SHEGONG_LLM_BACKEND=none``: extractive).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shegong.config import reset_settings

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "test-pass-123"
USERS = {"admin": "管理员", "dudao": "督导", "shegong": "社工", "xueyuan": "学员"}


@dataclass
class AppServer:
    url: str
    home: Path
    log: Path
    pid: int = 0  # the app's process (its model worker is a child of it)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_home(home: Path, sample_kbs_dir: Path) -> None:
    from service import accounts

    shutil.copytree(sample_kbs_dir, home / "kbs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHEGONG_HOME", str(home))
        reset_settings()
        for name, role in USERS.items():
            accounts.create_user(name, PASSWORD, role)
    reset_settings()


@contextmanager
def serve(cmd: list[str], ready_url: str, log: Path, *, env: dict | None = None, cwd: Path | None = None,
          timeout: float = 180):
    """Run a server subprocess until ``ready_url`` answers 200; stop it afterwards."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[1:3]} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(ready_url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{cmd[1:3]} did not start in {timeout}s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def running_app(home: Path, timeout: float = 180, command: tuple[str, ...] = ("app.py",), env: dict | None = None):
    """The app started as ``python <command>``: ``app.py`` (the README's way) or ``-m cli app`` (``shegong app``).
    ``env``: more environment variables for the app (a setting to try; may replace the defaults, e.g. a real
    model instead of SHEGONG_LLM_BACKEND=none)."""
    port = free_port()
    app_env = dict(os.environ, SHEGONG_HOME=str(home), SHEGONG_LLM_BACKEND="none", SHEGONG_APP_PORT=str(port),
                   SHEGONG_APP_HOST="127.0.0.1", GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1")
    app_env.update(env or {})
    url = f"http://127.0.0.1:{port}"
    log = home / "app.log"
    with serve([sys.executable, *command], url, log, env=app_env, cwd=ROOT, timeout=timeout) as proc:
        yield AppServer(url=url, home=home, log=log, pid=proc.pid)


@contextmanager
def app_over(tmp_path_factory, kbs_dir: Path, name: str = "apphome"):
    """The app started over a fresh home holding a copy of ``kbs_dir`` and the test accounts (USERS)."""
    home = tmp_path_factory.mktemp(name)
    prepare_home(home, kbs_dir)
    with running_app(home) as srv:
        yield srv


def client(server, name: str):
    """A gradio_client signed in as one of the test accounts."""
    from gradio_client import Client

    return Client(server.url, auth=(name, PASSWORD), verbose=False)

