"""LLM backend for any OpenAI-compatible chat server (llama.cpp server, vLLM, Ollama, ...).

Speaks the plain HTTP protocol with httpx: POST ``{base_url}/chat/completions``
with ``"stream": true`` and read the server-sent events (``data: {...}`` lines,
ending with ``data: [DONE]``). No OpenAI SDK needed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator

import httpx

from assistant.llm.base import Message
from shegong.errors import ModelUnavailable

# CJK ideographs, kana, hangul and full-width punctuation.
_CJK = re.compile(r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")


def approx_tokens(text: str) -> int:
    """Upper-bound guess of the token count, without the server's tokenizer.

    Qwen/Llama-style tokenizers use about 0.7-1 token per Chinese character
    and about 4 characters per token for English; counting every CJK
    character as one token and every 3 other characters as one token
    overestimates a little, which is the safe side for fitting a context.
    """
    cjk = len(_CJK.findall(text))
    return cjk + math.ceil((len(text) - cjk) / 3)


class OpenAICompatLLM:
    """Implements the ``LLM`` protocol over HTTP."""

    def __init__(self, base_url: str, model: str, api_key: str = "", timeout: float = 120.0,
                 n_ctx: int = 4096) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = f"openai:{model}"
        self.n_ctx = n_ctx  # the server's real limit is unknown to us; taken from settings
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # Connecting should fail fast; reading may legitimately take long on a CPU server.
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout, connect=10.0))

    def count_tokens(self, text: str) -> int:
        return approx_tokens(text)

    def close(self) -> None:
        self._client.close()

    def _unreachable(self, exc: Exception) -> ModelUnavailable:
        return ModelUnavailable(
            f"无法连接到模型服务 {self.base_url}：请确认模型服务已经启动，地址和端口填写正确。（{type(exc).__name__}）")

    def stream(self, messages: list[Message], *, max_tokens: int = 512, temperature: float = 0.1,
               stop: list[str] | None = None) -> Iterator[str]:
        body: dict = {
            "model": self.model,
            "messages": list(messages),
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": True,
        }
        if stop:
            body["stop"] = stop
        try:
            with self._client.stream("POST", f"{self.base_url}/chat/completions", json=body) as resp:
                if resp.status_code >= 400:
                    detail = resp.read().decode("utf-8", errors="replace")[:300]
                    raise ModelUnavailable(f"模型服务返回错误（HTTP {resp.status_code}）：{detail}")
                yield from _parse_sse(resp.iter_lines())
        except httpx.TimeoutException as exc:
            raise ModelUnavailable(f"模型服务 {self.base_url} 响应超时，请稍后重试或调大超时时间。") from exc
        except httpx.TransportError as exc:  # connection refused, DNS, connection dropped mid-stream
            raise self._unreachable(exc) from exc


def _parse_sse(lines: Iterator[str]) -> Iterator[str]:
    """Yield content pieces from the ``data:`` lines of a chat-completions stream."""
    for line in lines:
        if not line.startswith("data:"):
            continue  # blank separators, ": ping" comments, "event:" lines
        payload = line[len("data:"):].strip()
        if payload == "[DONE]":
            return
        try:
            event = json.loads(payload)
        except json.JSONDecodeError:
            continue
        if "error" in event:
            err = event["error"]
            msg = err.get("message", err) if isinstance(err, dict) else err
            raise ModelUnavailable(f"模型服务生成回答时出错：{msg}")
        for choice in event.get("choices") or []:
            text = (choice.get("delta") or {}).get("content")
            if text:
                yield text
