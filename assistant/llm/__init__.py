"""The LLM layer: pick a backend from the settings.

    llm = make_llm()          # None when settings.llm_backend == "none"; llama_cpp: a WorkerLLM
                              # (the model in a supervised process) unless settings.llm_worker is off
    for piece in llm.stream(messages, max_tokens=256):
        ...
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.llm.base import LLM, Message, complete

if TYPE_CHECKING:
    from shegong.config import Settings

__all__ = ["LLM", "Message", "complete", "make_llm", "clear_llm_cache"]

# Loading a GGUF takes seconds and hundreds of MB, so keep one per (path, settings).
_loaded: dict[tuple, LLM] = {}
_loaded_lock = threading.Lock()


def make_llm(settings: Settings | None = None) -> LLM | None:
    """Build (or reuse) the LLM the settings ask for. Raises ModelUnavailable with a Chinese message."""
    if settings is None:
        from shegong.config import get_settings

        settings = get_settings()

    if settings.llm_backend == "none":
        return None
    if settings.llm_backend == "openai":
        from assistant.llm.openai_compat import OpenAICompatLLM

        return OpenAICompatLLM(settings.openai_base_url, settings.openai_model, settings.openai_api_key,
                               timeout=settings.openai_timeout_s, n_ctx=settings.llm_n_ctx)

    if settings.llm_model_path:
        path = Path(settings.llm_model_path).expanduser()
    else:
        from assistant.llm.assemble import assemble_model

        path = assemble_model(settings.llm_default_model, settings.models_dir)
    key = (str(path.resolve()), settings.llm_n_ctx, settings.llm_n_threads, settings.llm_worker)
    with _loaded_lock:  # two first requests at once must not load the model twice
        cached = _loaded.get(key)
        if cached is None or getattr(cached, "state", "ready") in ("failed", "closed"):  # a worker that gave up
            _loaded[key] = _load(path, settings)
        return _loaded[key]


def _load(path: Path, settings: Settings) -> LLM:
    if settings.llm_worker:
        from assistant.llm.worker import WorkerLLM

        # Raises ModelStartFailed when the model cannot be loaded or fails its self-check.
        return WorkerLLM(path, n_ctx=settings.llm_n_ctx, n_threads=settings.llm_n_threads,
                         hang_timeout_s=settings.llm_hang_timeout_s)
    from assistant.llm.llama_cpp import LlamaCppLLM

    return LlamaCppLLM(path, n_ctx=settings.llm_n_ctx, n_threads=settings.llm_n_threads)


def clear_llm_cache() -> None:
    """Forget loaded models (tests; switching models in the app); worker processes are stopped.
    In-process memory is freed once unreferenced."""
    with _loaded_lock:
        loaded = list(_loaded.values())
        _loaded.clear()
    for llm in loaded:
        close = getattr(llm, "close", None)
        if close is not None:
            close()
