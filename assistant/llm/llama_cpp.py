"""In-process LLM backend: a GGUF model run by llama-cpp-python on the CPU."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from assistant.llm.base import Message
from shegong.errors import ModelUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerationStats:
    """Numbers about the last ``stream`` call (for logs and benchmarks)."""

    prompt_tokens: int       # the chat-formatted prompt, system + user turns
    completion_tokens: int   # re-tokenized from the generated text (can differ by 1 from what was sampled)
    ttft_s: float            # call -> first text piece (includes prompt processing)
    decode_tps: float        # tokens per second after the first piece, wall clock
    total_s: float
    finish_reason: str       # "stop" (end of answer or stop string) | "length" (hit max_tokens)


class LlamaCppLLM:
    """One loaded GGUF model. Implements the ``LLM`` protocol.

    Generation holds a lock: one llama.cpp context can only run one sequence
    at a time, so a second thread waits until the first stream is finished
    (or closed). Token counting does not take the lock; it only reads the
    vocabulary.
    """

    def __init__(self, model_path: str | Path, n_ctx: int = 4096, n_threads: int = 0,
                 n_batch: int = 512, seed: int = 0, verbose: bool = False) -> None:
        from llama_cpp import Llama  # imported here so that `import assistant.llm` stays light
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        path = Path(model_path)
        if not path.is_file():
            raise ModelUnavailable(f"找不到模型文件：{path}。请检查设置中的模型路径。")
        # n_threads=0: llama-cpp-python's defaults, half the cores for generating and all
        # for reading the prompt. Generation threads busy-wait on each other, so using
        # every core makes decoding collapse (2-4 vs 15-20 tok/s measured on 2 cores)
        # as soon as anything else on the machine needs the CPU.
        threads = n_threads if n_threads > 0 else None
        try:
            self._llm = Llama(
                model_path=str(path),
                n_ctx=n_ctx,  # always explicit: the library default (512) is far too small for RAG
                n_threads=threads,
                n_threads_batch=threads,
                n_batch=n_batch,
                n_gpu_layers=0,
                verbose=verbose,
            )
        except Exception as exc:  # llama.cpp reports a bad file as ValueError/RuntimeError
            log.warning("loading %s failed: %r", path, exc)  # llama.cpp's English text: for the log only
            raise ModelUnavailable(
                f"无法加载模型文件 {path}：文件可能已损坏、不完整，或不是 GGUF 格式。"
                "请重新组装或更换模型。") from exc

        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelUnavailable(f"模型文件 {path.name} 没有自带对话模板，无法用于问答。请换用指令（Instruct）模型。")
        # Same formatter llama-cpp-python builds from the GGUF metadata; we keep
        # our own copy only to count prompt tokens before generating.
        self._formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=self._token_text(self._llm.token_eos()),
            bos_token=self._token_text(self._llm.token_bos()),
        )
        self.name = f"llama_cpp:{path.stem}"
        # llama.cpp rounds the context up (300 -> 512) but llama-cpp-python's token buffer keeps the size
        # asked for; a prompt between the two fails deep inside with a numpy error. The smaller one is the limit.
        self.n_ctx = min(self._llm.n_ctx(), len(self._llm.input_ids))
        self.model_path = path
        self.n_threads = self._llm.n_threads  # generation; prompt reading uses self._llm.n_threads_batch
        self.seed = seed
        self.last_stats: GenerationStats | None = None
        self._lock = threading.Lock()

    def _token_text(self, token_id: int) -> str:
        if token_id < 0:
            return ""
        return self._llm.detokenize([token_id], special=True).decode("utf-8", errors="ignore")

    def count_tokens(self, text: str) -> int:
        if not text:
            return 0
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def count_prompt_tokens(self, messages: list[Message]) -> int:
        """Tokens of the whole chat prompt, template markup included."""
        prompt = self._formatter(messages=messages).prompt
        return len(self._llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))

    def stream(self, messages: list[Message], *, max_tokens: int = 512, temperature: float = 0.1,
               stop: list[str] | None = None) -> Iterator[str]:
        with self._lock:
            start = time.perf_counter()
            prompt_tokens = self.count_prompt_tokens(messages)
            if prompt_tokens >= self.n_ctx:
                raise ModelUnavailable(
                    f"问题和参考资料太长（约 {prompt_tokens} 个词元），超过了模型一次能读的上限 {self.n_ctx}。"
                    "请缩短问题或减少资料后重试。")
            chunks = self._llm.create_chat_completion(
                messages=list(messages),
                max_tokens=max(1, min(max_tokens, self.n_ctx - prompt_tokens - 1)),  # generation must fit too
                temperature=temperature,
                stop=stop or [],
                seed=self.seed if self.seed >= 0 else None,  # fixed seed: same input, same answer
                stream=True,
            )
            pieces: list[str] = []
            first_at = last_at = 0.0
            finish_reason = "stop"
            try:
                for chunk in chunks:
                    choice = chunk["choices"][0]
                    text = choice["delta"].get("content")
                    if choice.get("finish_reason"):
                        finish_reason = choice["finish_reason"]
                    if not text:
                        continue
                    last_at = time.perf_counter()
                    if not pieces:
                        first_at = last_at
                    pieces.append(text)
                    yield text
            except (RuntimeError, ValueError) as exc:
                log.warning("generation failed: %r", exc)
                raise ModelUnavailable("模型生成回答时出错，请重试。") from exc
            finally:
                chunks.close()  # if the caller stopped early, free llama.cpp's generator now

            completion_tokens = self.count_tokens("".join(pieces))
            decode_s = last_at - first_at
            self.last_stats = GenerationStats(
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                ttft_s=(first_at - start) if pieces else 0.0,
                decode_tps=(completion_tokens - 1) / decode_s if decode_s > 0 else 0.0,
                total_s=time.perf_counter() - start,
                finish_reason=finish_reason,
            )

    def choice_logprobs(self, messages: list[Message], options: list[str]) -> dict[str, float]:
        """Log-probability of each option's first token as the start of the reply (one prompt pass, no sampling).

        Used for yes/no judgements: a calibrated threshold on P(yes) separates better than
        whichever word a small model happens to say first.
        """
        import numpy as np

        with self._lock:
            prompt = self._formatter(messages=messages).prompt
            tokens = self._llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
            if len(tokens) >= self.n_ctx:
                raise ModelUnavailable("问题和参考资料太长，超过了模型一次能读的上限。")
            # Reuse the cached prefix (the constant system prompt) like llama-cpp-python's generate does;
            # the last token is always evaluated again so its logits are fresh.
            llm = self._llm
            keep = min(llm.longest_token_prefix(llm.input_ids[: llm.n_tokens].tolist(), tokens), len(tokens) - 1)
            llm.n_tokens = keep
            try:
                llm.eval(tokens[keep:])
            except (RuntimeError, ValueError) as exc:
                log.warning("relevance judgement failed: %r", exc)
                raise ModelUnavailable("模型判断时出错，请重试。") from exc
            logits = np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(llm.n_vocab(),)).astype(np.float64)
            logp = logits - (logits.max() + np.log(np.exp(logits - logits.max()).sum()))
            out = {}
            for option in options:
                first = llm.tokenize(option.encode("utf-8"), add_bos=False, special=False)[0]
                out[option] = float(logp[first])
            return out
