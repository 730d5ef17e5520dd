"""The model worker process: ``python -m assistant.llm.worker_child '<json config>'``.

Started and supervised by ``assistant.llm.worker.WorkerLLM``; nothing else should run it.
It loads the GGUF with ``LlamaCppLLM`` (so generation is exactly the in-process code), runs a
short self-check generation, says ``ready`` and then serves requests, one JSON object per line:

    parent -> child (stdin)                       child -> parent (the original stdout)
    {"op": "stream", "id", "messages", ...}       {"id", "ev": "started", "prompt_tokens"}
                                                  {"id", "ev": "piece", "text"} ...
                                                  {"id", "ev": "done", "stats": {...} | null}
    {"op": "choice", "id", "messages", "options"} {"id", "ev": "result", "value": {...}}
    {"op": "count" | "count_prompt", "id", ...}   {"id", "ev": "result", "value": n}
    {"op": "cancel", "id"}                        (the stream stops after its current piece)
    any request that fails                        {"id", "ev": "error", "message": "<Chinese>"}

Generation and choice scoring run one at a time on a thread of their own; token counting is
answered at once by the thread that reads stdin, so it never waits behind a generation.
File descriptor 1 is moved aside for the protocol and pointed at stderr, so that anything a
library prints cannot corrupt it. When stdin closes (the parent exited or was killed) the
process exits at once.
"""

from __future__ import annotations

import dataclasses
import faulthandler
import json
import os
import queue
import sys
import threading
import time
import traceback

# A short chat turn that goes through the template, a batched prompt pass and a few decoding
# steps: the kernels a crashing build dies in (a native build's AMX path on many VMs) all run.
SELFCHECK = [{"role": "system", "content": "你是社区社工助手，只用简体中文回答。"},
             {"role": "user", "content": "请用一句话说明居民委员会是什么样的组织，以及它的主要职责。"}]
SELFCHECK_TOKENS = 3


class Channel:
    """Writes protocol lines; several threads share it."""

    def __init__(self, fd: int):
        self._out = os.fdopen(fd, "w", encoding="utf-8", buffering=1)
        self._lock = threading.Lock()

    def send(self, msg: dict) -> None:
        line = json.dumps(msg, ensure_ascii=False)
        with self._lock:
            self._out.write(line + "\n")
            self._out.flush()


def _failure(exc: BaseException) -> str:
    from shegong.errors import UserError

    if isinstance(exc, UserError):
        return str(exc)
    traceback.print_exception(exc, file=sys.stderr)
    return "大模型进程处理请求时出错（详情已记入日志）"


def main(argv: list[str]) -> int:
    out = Channel(os.dup(1))
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    faulthandler.enable()  # a segfault prints the Python stack to stderr, which the parent logs
    config = json.loads(argv[0])

    from shegong.errors import ModelUnavailable

    t0 = time.perf_counter()
    try:
        from assistant.llm.llama_cpp import LlamaCppLLM

        llm = LlamaCppLLM(config["model_path"], n_ctx=config["n_ctx"], n_threads=config["n_threads"],
                          n_batch=config["n_batch"], seed=config["seed"])
    except ModelUnavailable as exc:  # a file that cannot be loaded does not get better by retrying
        out.send({"ev": "start_failed", "message": str(exc), "permanent": True})
        return 2
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which logs and retries
        out.send({"ev": "start_failed", "message": _failure(exc), "permanent": False})
        return 2
    loaded_s = time.perf_counter() - t0
    if config.get("selfcheck", True):
        try:
            text = "".join(llm.stream(SELFCHECK, max_tokens=SELFCHECK_TOKENS, temperature=0))
        except Exception as exc:  # noqa: BLE001
            out.send({"ev": "start_failed", "message": f"模型试运行出错：{_failure(exc).rstrip('。')}",
                      "permanent": False})
            return 2
        if not text.strip():
            out.send({"ev": "start_failed", "message": "模型试运行没有生成任何内容", "permanent": True})
            return 2
    import llama_cpp

    out.send({"ev": "ready", "pid": os.getpid(), "name": llm.name, "n_ctx": llm.n_ctx, "n_threads": llm.n_threads,
              "load_s": round(loaded_s, 2), "selfcheck_s": round(time.perf_counter() - t0 - loaded_s, 2),
              "system_info": llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip()})
    serve(llm, out)
    return 0


def serve(llm, out: Channel) -> None:
    jobs: queue.Queue = queue.Queue()
    cancelled: dict[int, threading.Event] = {}

    def generate() -> None:
        while True:
            msg = jobs.get()
            rid = msg["id"]
            try:
                if msg["op"] == "stream":
                    _stream(llm, out, msg, cancelled[rid])
                else:
                    value = llm.choice_logprobs(msg["messages"], msg["options"])
                    out.send({"id": rid, "ev": "result", "value": value})
            except Exception as exc:  # noqa: BLE001 - one request fails, the worker goes on
                out.send({"id": rid, "ev": "error", "message": _failure(exc)})
            finally:
                cancelled.pop(rid, None)

    threading.Thread(target=generate, name="generate", daemon=True).start()
    for raw in sys.stdin.buffer:
        try:
            msg = json.loads(raw)
        except ValueError:
            print(f"worker: not a request: {raw[:200]!r}", file=sys.stderr)
            continue
        op, rid = msg.get("op"), msg.get("id")
        try:
            if op == "count":
                out.send({"id": rid, "ev": "result", "value": llm.count_tokens(msg["text"])})
            elif op == "count_prompt":
                out.send({"id": rid, "ev": "result", "value": llm.count_prompt_tokens(msg["messages"])})
            elif op in ("stream", "choice"):
                cancelled[rid] = threading.Event()
                jobs.put(msg)
            elif op == "cancel":
                if rid in cancelled:
                    cancelled[rid].set()
            elif op == "exit":
                break
        except Exception as exc:  # noqa: BLE001
            out.send({"id": rid, "ev": "error", "message": _failure(exc)})
    # stdin closed or "exit": whatever runs on the generation thread is not waited for
    sys.stderr.flush()
    os._exit(0)


def _stream(llm, out: Channel, msg: dict, cancel: threading.Event) -> None:
    rid = msg["id"]
    if cancel.is_set():
        out.send({"id": rid, "ev": "done", "stats": None})
        return
    out.send({"id": rid, "ev": "started", "prompt_tokens": llm.count_prompt_tokens(msg["messages"])})
    llm.last_stats = None
    pieces = llm.stream(msg["messages"], max_tokens=msg["max_tokens"], temperature=msg["temperature"],
                        stop=msg.get("stop") or None)
    try:
        for piece in pieces:
            out.send({"id": rid, "ev": "piece", "text": piece})
            if cancel.is_set():
                break
    finally:
        pieces.close()  # frees llama.cpp's generator now when cancelled
    stats = llm.last_stats
    out.send({"id": rid, "ev": "done", "stats": dataclasses.asdict(stats) if stats and not cancel.is_set() else None})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
