"""The local model in a supervised worker process: a crash, a hang or running out of memory in
llama.cpp ends one answer, never the app.

``WorkerLLM`` implements the same ``LLM`` protocol as ``LlamaCppLLM`` (stream, count_tokens,
count_prompt_tokens, choice_logprobs, n_ctx, name, last_stats) and runs exactly that class in a
child process (``assistant/llm/worker_child.py``), talking JSON lines over its stdin/stdout;
the child's life (start, crash, hang, restart) is ``Supervisor``'s, in worker_supervisor.py:

- Starting: the child loads the GGUF and generates a few tokens (the self-check) before it says
  it is ready. A file that cannot be loaded fails at once with llama.cpp's reason in Chinese; a
  crash during start is retried with back-off and given up after ``max_start_failures``
  (``ModelStartFailed``, whose text is the line the app's status bar shows).
- Running: one generation (or relevance judgement) at a time, as in process; counting tokens
  is answered by the child's reading thread, so it never waits behind another user's answer.
  Closing a stream early cancels the generation in the child.
- Failing: the child dying (SIGSEGV, SIGKILL from the OOM killer, any exit), its pipe closing,
  or no output for ``hang_timeout_s`` (the child is then killed) ends the requests in flight
  with ``ModelCrashed`` / ``ModelHung`` (``ModelUnavailable`` subclasses with a plain Chinese
  message: the answerer falls back to extracts), logs the event with the child's last stderr
  lines, and starts a new child in the background. Requests that arrive meanwhile wait for it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from assistant.llm.base import Message
from assistant.llm.llama_cpp import GenerationStats
from assistant.llm.worker_supervisor import MIN_PROMPT_TOKENS_PER_S, Supervisor, describe_exit
from shegong.errors import ModelCrashed, ModelFailed, ModelHung, ModelStartFailed, ModelUnavailable

__all__ = ["WorkerLLM", "ModelFailed", "ModelCrashed", "ModelHung", "ModelStartFailed", "describe_exit"]


class WorkerLLM(Supervisor):
    """A GGUF model run by ``LlamaCppLLM`` in a supervised child process. Implements ``LLM``."""

    def __init__(self, model_path: str | Path, n_ctx: int = 4096, n_threads: int = 0, n_batch: int = 512,
                 seed: int = 0, *, python: str | None = None, hang_timeout_s: float = 120.0,
                 start_timeout_s: float = 300.0, max_start_failures: int = 3, max_crashes: int = 5,
                 backoff_s: float = 1.0, selfcheck: bool = True) -> None:
        path = Path(model_path)
        if not path.is_file():
            raise ModelUnavailable(f"找不到模型文件：{path}。请检查设置中的模型路径。")
        self.model_path = path
        self.seed = seed
        self.name = f"llama_cpp:{path.stem}"
        self.n_ctx = n_ctx  # replaced by the loaded model's own limit once the child is ready
        self.n_threads = n_threads
        self.last_stats: GenerationStats | None = None
        self.child_stats: GenerationStats | None = None  # the same generation timed inside the child
        config = {"model_path": str(path), "n_ctx": n_ctx, "n_threads": n_threads, "n_batch": n_batch,
                  "seed": seed, "selfcheck": selfcheck}
        super().__init__(config, python=python, hang_timeout_s=hang_timeout_s, start_timeout_s=start_timeout_s,
                         max_start_failures=max_start_failures, max_crashes=max_crashes, backoff_s=backoff_s)

    # ------------------------------------------------------------ the LLM protocol
    def stream(self, messages: list[Message], *, max_tokens: int = 512, temperature: float = 0.1,
               stop: list[str] | None = None) -> Iterator[str]:
        with self._generating:
            proc, rid, replies = self._begin()
            finished = False
            try:
                start = time.perf_counter()
                self._send(proc, {"op": "stream", "id": rid, "messages": list(messages), "max_tokens": max_tokens,
                                  "temperature": temperature, "stop": stop or []})
                timeout = self.hang_timeout_s
                first = last = 0.0
                pieces = 0
                while True:
                    msg = self._next(replies, proc, timeout)
                    event = msg["ev"]
                    if event == "started":  # the child now reads the prompt, silently
                        timeout = self.hang_timeout_s + msg["prompt_tokens"] / MIN_PROMPT_TOKENS_PER_S
                    elif event == "piece":
                        last = time.perf_counter()
                        if not pieces:
                            first = last
                        pieces += 1
                        timeout = self.hang_timeout_s
                        yield msg["text"]
                    elif event == "done":
                        finished = True
                        self._completed()
                        stats = msg.get("stats")
                        if stats:  # timed here: what a caller of this process waits
                            self.child_stats = GenerationStats(**stats)
                            decode_s = last - first
                            self.last_stats = GenerationStats(**{
                                **stats, "ttft_s": first - start if pieces else 0.0,
                                "decode_tps": (stats["completion_tokens"] - 1) / decode_s if decode_s > 0 else 0.0,
                                "total_s": time.perf_counter() - start})
                        return
                    elif event == "error":
                        finished = True
                        raise ModelUnavailable(msg["message"])
            finally:
                self._unregister(rid)
                if not finished:  # the caller stopped early (or this request failed): stop the child too
                    self._send_quietly(proc, {"op": "cancel", "id": rid})

    def count_tokens(self, text: str) -> int:
        if not text:
            return 0
        return self._call({"op": "count", "text": text}, self.hang_timeout_s)

    def count_prompt_tokens(self, messages: list[Message]) -> int:
        """Tokens of the whole chat prompt, template markup included."""
        return self._call({"op": "count_prompt", "messages": list(messages)}, self.hang_timeout_s)

    def choice_logprobs(self, messages: list[Message], options: list[str]) -> dict[str, float]:
        """See ``LlamaCppLLM.choice_logprobs``; one prompt pass in the child."""
        chars = sum(len(m["content"]) for m in messages)  # at most about one token per character
        with self._generating:
            value = self._call({"op": "choice", "messages": list(messages), "options": list(options)},
                               self.hang_timeout_s + chars / MIN_PROMPT_TOKENS_PER_S)
        self._completed()
        return value
