"""$SHEGONG_HOME holds password hashes, every conversation and every uploaded original: only its owner may read it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from service import accounts

ROOT = Path(__file__).resolve().parent.parent


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.integration
def test_the_cli_keeps_the_data_directory_private(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)  # as an older version left it
    notes = tmp_path / "通知.txt"
    notes.write_text("关于开展夏季燃气安全入户检查的通知。各楼组长配合上门。\n", encoding="utf-8")
    env = dict(os.environ, SHEGONG_HOME=str(home), SHEGONG_LLM_BACKEND="none")
    for args in (["user", "add", "wang", "--role", "督导", "--password", "secret-123"],
                 ["ingest", str(notes), "--kb", "手册"]):
        run = subprocess.run([sys.executable, "-c", "import os; os.umask(0o022); from cli import main; main()",
                              *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr
    assert mode(home) == 0o700
    files = [p for p in home.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"app.sqlite", "cli.log", "app.log", "kb.sqlite"}
    assert {str(p.relative_to(home)): oct(mode(p)) for p in files if mode(p) & 0o077} == {}
    dirs = [p for p in home.rglob("*") if p.is_dir()]
    assert {str(p.relative_to(home)): oct(mode(p)) for p in dirs if mode(p) & 0o077} == {}


@pytest.mark.unit
def test_the_initial_password_file_is_never_readable_by_others(monkeypatch, shegong_home):
    monkeypatch.delenv("SHEGONG_ADMIN_PASSWORD", raising=False)
    monkeypatch.setattr(Path, "chmod", lambda self, m: None)  # a chmod after the write would come too late
    old = os.umask(0)
    try:
        admin = accounts.ensure_admin()
    finally:
        os.umask(old)
    assert mode(admin.password_file) == 0o600
    assert admin.password in admin.password_file.read_text(encoding="utf-8")


@pytest.mark.unit
def test_the_initial_password_is_not_printed_when_it_is_in_the_file(monkeypatch, shegong_home):
    monkeypatch.delenv("SHEGONG_ADMIN_PASSWORD", raising=False)
    admin = accounts.ensure_admin()
    text = admin.announcement()
    assert admin.password not in text and str(admin.password_file) in text and "admin" in text
