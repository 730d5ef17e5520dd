"""LLM backend for any OpenAI-compatible chat server (llama.cpp server, vLLM, Ollama, ...).

Speaks the plain HTTP protocol with httpx: POST ``{base_url}/chat/completions``
with ``"stream": true`` and read the server-sent events (``data: {...}`` lines,
ending with ``data: [DONE]``). No OpenAI SDK needed.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterator

import httpx

from assistant.llm.base import Message
from shegong.errors import ModelUnavailable

log = logging.getLogger(__name__)

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
        if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
            return ModelUnavailable(f"模型服务地址“{self.base_url}”写得不对：应以 http:// 或 https:// 开头，"
                                    "例如 http://127.0.0.1:8000/v1。请检查设置 SHEGONG_OPENAI_BASE_URL。")
        return ModelUnavailable(f"无法连接到模型服务 {self.base_url}：请确认模型服务已经启动，地址和端口填写正确。")

    def _http_error(self, status: int, detail: str) -> ModelUnavailable:
        """A Chinese message for an HTTP error; the server's own (usually English) text only goes to the log."""
        log.warning("model server %s answered HTTP %s: %s", self.base_url, status, detail)
        if status in (401, 403):
            return ModelUnavailable(f"模型服务拒绝了访问（HTTP {status}）：访问密钥不对或没有权限。"
                                    "请检查设置 SHEGONG_OPENAI_API_KEY。")
        if status == 404:
            return ModelUnavailable(f"模型服务上找不到这个地址或模型（HTTP 404）：请检查地址 {self.base_url}"
                                    f"（通常以 /v1 结尾）和模型名称“{self.model}”。")
        if status == 429:
            return ModelUnavailable("模型服务正忙（HTTP 429），请稍后重试。")
        if status < 500 and _TOO_LONG.search(detail):
            return ModelUnavailable("问题和参考资料太长，超过了模型服务一次能读的上限。请缩短问题后重试。")
        if status < 500:
            return ModelUnavailable(f"模型服务拒绝了这次请求（HTTP {status}）：请检查设置中的模型名称“{self.model}”。")
        return ModelUnavailable(f"模型服务内部出错（HTTP {status}），请稍后重试；如反复出现，请管理员查看模型服务的日志。")

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
        got_text = False
        try:
            with self._client.stream("POST", f"{self.base_url}/chat/completions", json=body) as resp:
                if resp.status_code >= 400:
                    raise self._http_error(resp.status_code, resp.read().decode("utf-8", errors="replace")[:300])
                if "text/event-stream" not in resp.headers.get("content-type", ""):
                    # A server that ignores "stream" answers with one JSON body; anything else (a web page)
                    # means the address points at something that is not a model server.
                    yield _whole_reply(self.base_url, resp.read().decode("utf-8", errors="replace"))
                    return
                for piece in _parse_sse(resp.iter_lines()):
                    got_text = True
                    yield piece
        except httpx.TimeoutException as exc:
            raise ModelUnavailable(f"模型服务 {self.base_url} 响应超时，请稍后重试或调大超时时间。") from exc
        except (httpx.TransportError, httpx.InvalidURL) as exc:  # refused, DNS, bad address, dropped mid-stream
            if got_text:
                raise ModelUnavailable("模型服务在生成回答的途中断开了连接，请稍后重试。") from exc
            raise self._unreachable(exc) from exc
        except httpx.HTTPError as exc:  # e.g. a body that cannot be decoded
            log.warning("model server %s: %r", self.base_url, exc)
            raise ModelUnavailable(f"模型服务 {self.base_url} 返回的内容无法读取，请确认地址指向兼容 OpenAI 的模型服务。") from exc


# How servers word "the prompt is longer than the context" (llama.cpp, vLLM, OpenAI).
_TOO_LONG = re.compile(r"context[_ ]length|context window|maximum context|too long|exceed", re.I)


def _error_message(err) -> ModelUnavailable:
    """An error event or body from the server, in Chinese (the server's text goes to the log)."""
    msg = err.get("message", err) if isinstance(err, dict) else err
    log.warning("model server error: %s", msg)
    if _TOO_LONG.search(str(msg)):
        return ModelUnavailable("问题和参考资料太长，超过了模型服务一次能读的上限。请缩短问题后重试。")
    return ModelUnavailable("模型服务生成回答时出错，请稍后重试；如反复出现，请管理员查看模型服务的日志。")


def _whole_reply(base_url: str, text: str) -> str:
    """The content of a non-streamed chat-completions body."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict) and data.get("error"):
        raise _error_message(data["error"])
    try:
        return data["choices"][0]["message"]["content"] or ""
    except (TypeError, KeyError, IndexError):
        log.warning("not a chat-completions reply from %s: %.200s", base_url, text)
        raise ModelUnavailable(f"地址 {base_url} 返回的不是模型服务的回答（可能是一个网页）。请检查模型服务地址"
                               "（通常以 /v1 结尾）。") from None


def _parse_sse(lines: Iterator[str]) -> Iterator[str]:
    """Yield content pieces from the ``data:`` lines of a chat-completions stream."""
    done = got_text = False
    for line in lines:
        if not line.startswith("data:"):
            continue  # blank separators, ": ping" comments, "event:" lines
        payload = line[len("data:"):].strip()
        if payload == "[DONE]":
            done = True
            break
        try:
            event = json.loads(payload)
        except json.JSONDecodeError:
            continue
        if not isinstance(event, dict):
            continue
        if event.get("error"):
            raise _error_message(event["error"])
        for choice in event.get("choices") or []:
            text = (choice.get("delta") or {}).get("content") if isinstance(choice, dict) else None
            if isinstance(text, str) and text:
                got_text = True
                yield text
    if not done and not got_text:
        # llama.cpp's server ends the stream at once, without an error, when the prompt is too long.
        raise ModelUnavailable("模型服务没有给出回答就结束了，可能是问题和参考资料太长，超过了服务的上限。"
                               "请缩短问题后重试；如反复出现，请管理员查看模型服务的日志。")
