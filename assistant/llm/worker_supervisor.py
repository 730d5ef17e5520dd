"""Starting, watching and restarting the model worker's child process (``assistant/llm/worker_child.py``).

``Supervisor`` owns the child: it starts it (retrying a crash with back-off), reads its stdout (JSON lines,
routed to the request that waits for them) and its stderr (into the log), notices it dying, its pipe
closing or it hanging, ends the requests in flight with a Chinese ``ModelFailed`` subclass and starts
another. ``WorkerLLM`` (worker.py) builds the LLM protocol on top of it.
"""

from __future__ import annotations

import atexit
import itertools
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections import deque
from pathlib import Path

from shegong.errors import ModelCrashed, ModelHung, ModelStartFailed, ModelUnavailable, model_cannot_run

log = logging.getLogger("assistant.llm.worker")  # one logger for the whole worker

# The folder that holds assistant/ and shegong/: the child imports the same code as this process.
CODE_ROOT = Path(__file__).resolve().parents[2]
# While the child reads the prompt it sends nothing; allow this slow a reading before calling it hung.
MIN_PROMPT_TOKENS_PER_S = 5.0


def _clause(text: str) -> str:
    """A Chinese message as a clause that can sit inside a longer sentence."""
    return text.strip().rstrip("。").replace("。", "；")


_SIGNALS = {
    signal.SIGSEGV: "段错误 SIGSEGV",
    signal.SIGKILL: "被系统强制结束 SIGKILL，常见原因是内存不足",
    signal.SIGILL: "非法指令 SIGILL，运行库用了这台电脑的 CPU 不支持的指令",
    signal.SIGABRT: "异常中止 SIGABRT",
    signal.SIGBUS: "总线错误 SIGBUS，模型文件可能在运行中被改动",
    signal.SIGFPE: "算术错误 SIGFPE",
    signal.SIGTERM: "被终止 SIGTERM",
}
# A build that crashes in its CPU kernels is fixed by building the portable one again.
_REBUILD_HINT = "请运行 bash scripts/setup.sh 重新编译通用版运行库"


def describe_exit(returncode: int | None) -> str:
    """How a child process ended, in Chinese."""
    if returncode is None:
        return "原因不明"
    if returncode < 0:
        try:
            sig = signal.Signals(-returncode)
        except ValueError:
            return f"被信号 {-returncode} 结束"
        return _SIGNALS.get(sig, f"被信号 {sig.name} 结束")
    return f"退出码 {returncode}"


class _StartError(Exception):
    def __init__(self, reason: str, permanent: bool):
        super().__init__(reason)
        self.reason, self.permanent = reason, permanent


class _Ended:
    """Put in a request's queue when its process ended: the error that request raises."""

    def __init__(self, error: ModelUnavailable):
        self.error = error


_live: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for worker in list(_live):
        worker.close()


class Supervisor:
    """The child process of a ``WorkerLLM``: start, requests in flight, crash / hang, restart."""

    def __init__(self, config: dict, *, python: str | None, hang_timeout_s: float, start_timeout_s: float,
                 max_start_failures: int, max_crashes: int, backoff_s: float) -> None:
        """Starts the child (``config`` goes to worker_child.py) and waits until it is ready.

        Raises ``ModelStartFailed`` when it cannot load the model or fails its self-check."""
        self._config = config
        self.python = python or sys.executable
        self.hang_timeout_s = hang_timeout_s
        self.start_timeout_s = start_timeout_s
        self.max_start_failures = max_start_failures
        self.max_crashes = max_crashes
        self.backoff_s = backoff_s
        self.state = "starting"  # starting | ready | restarting | failed | closed
        self.failure = ""  # why the worker gave up (Chinese), when state == "failed"
        self.pid: int | None = None
        self.system_info = ""
        self.restarts = 0
        self._crashes_in_a_row = 0  # crashes since a request last completed
        self._proc: subprocess.Popen | None = None
        self._killed_for = ""  # set when we kill the child ourselves (a hang)
        self._cond = threading.Condition()
        self._generating = threading.Lock()  # one generation / judgement at a time, as in process
        self._writing = threading.Lock()
        self._pending: dict[int, queue.Queue] = {}
        self._ids = itertools.count(1)
        self._stderr_tail: deque[str] = deque(maxlen=30)
        try:
            self._start_with_retries()
        except ModelStartFailed as exc:
            self.state, self.failure = "failed", exc.reason
            raise
        _live.add(self)

    # ------------------------------------------------------------ state, for the app
    def health(self) -> str | None:
        """None while all is well; else one Chinese line for the status bar."""
        if self.state == "restarting":
            return "大模型进程意外退出，正在自动重启……"
        if self.state == "failed":
            return model_cannot_run(self.failure)
        return None

    def close(self) -> None:
        """Stop the child. Requests in flight end with ModelUnavailable."""
        with self._cond:
            if self.state == "closed":
                return
            self.state = "closed"
            proc = self._proc
            self._cond.notify_all()
        _live.discard(self)
        if proc is not None:
            self._send_quietly(proc, {"op": "exit"})
            try:
                proc.stdin.close()
                proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()

    # ------------------------------------------------------------ starting
    def _start_with_retries(self) -> None:
        failures = 0
        while True:
            try:
                self._launch()
                return
            except _StartError as exc:
                failures += 1
                log.warning("model worker start %d of %d failed: %s", failures, self.max_start_failures, exc.reason)
                if exc.permanent or failures >= self.max_start_failures or self.state == "closed":
                    raise ModelStartFailed(exc.reason) from None
                time.sleep(self.backoff_s * 2 ** (failures - 1))

    def _launch(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(CODE_ROOT), env.get("PYTHONPATH")) if p)
        env.setdefault("PYTHONFAULTHANDLER", "1")
        # A process group of its own: Ctrl-C in a terminal reaches this process, which then stops the child.
        # Not a session of its own: with the kernel's autogroup scheduling a new session would get a CPU share
        # of its own, so the model would run faster or slower than in process depending on what else runs.
        proc = subprocess.Popen([self.python, "-m", "assistant.llm.worker_child", json.dumps(self._config)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                cwd=CODE_ROOT, env=env, process_group=0)
        started: queue.Queue = queue.Queue()
        err_reader = threading.Thread(target=self._read_stderr, args=(proc,), daemon=True,
                                      name=f"llm-worker-{proc.pid}-stderr")
        err_reader.start()
        threading.Thread(target=self._read_stdout, args=(proc, started, err_reader), daemon=True,
                         name=f"llm-worker-{proc.pid}").start()
        try:
            msg = started.get(timeout=self.start_timeout_s)
        except queue.Empty:
            proc.kill()
            raise _StartError(f"{self.start_timeout_s:.0f} 秒内没有启动完成", permanent=False) from None
        if msg["ev"] == "start_failed":
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # said it failed but does not exit
                proc.kill()
            raise _StartError(_clause(msg["message"]), permanent=bool(msg.get("permanent")))
        if msg["ev"] == "ended":
            what = describe_exit(msg["returncode"])
            hint = f"；{_REBUILD_HINT}" if msg["returncode"] in (-signal.SIGSEGV, -signal.SIGILL) else ""
            raise _StartError(f"加载或试运行模型时进程崩溃（{what}）{hint}", permanent=False)
        with self._cond:
            if self.state == "closed":
                proc.kill()
                raise _StartError("已关闭", permanent=True)
            self._proc, self.pid = proc, proc.pid
            self.name, self.n_ctx, self.n_threads = msg["name"], msg["n_ctx"], msg["n_threads"]
            self.system_info = msg.get("system_info", "")
            self._killed_for = ""
            self.state = "ready"
            self._cond.notify_all()
        log.info("model worker ready: pid %s, %s, loaded in %.1f s, self-check %.1f s; %s", proc.pid, self.name,
                 msg.get("load_s", 0), msg.get("selfcheck_s", 0), self.system_info)

    # ------------------------------------------------------------ the child's output
    def _read_stderr(self, proc: subprocess.Popen) -> None:
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self._stderr_tail.append(line)
                log.info("model worker %s: %s", proc.pid, line)

    def _read_stdout(self, proc: subprocess.Popen, started: queue.Queue, err_reader: threading.Thread) -> None:
        starting = True
        try:
            for raw in proc.stdout:
                try:
                    msg = json.loads(raw)
                except ValueError:
                    log.warning("model worker %s wrote a line that is not JSON: %.200r", proc.pid, raw)
                    continue
                if starting:
                    if msg.get("ev") in ("ready", "start_failed"):
                        started.put(msg)
                        starting = msg["ev"] != "ready"
                    continue
                with self._cond:
                    replies = self._pending.get(msg.get("id"))
                if replies is not None:
                    replies.put(msg)
        finally:
            try:
                returncode = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # its stdout closed but it lives on: not usable
                proc.kill()
                returncode = proc.wait()
            err_reader.join(timeout=2)  # the last stderr lines belong in the log entry
            if starting:
                started.put({"ev": "ended", "returncode": returncode})
            else:
                self._ended(proc, returncode)

    def _ended(self, proc: subprocess.Popen, returncode: int) -> None:
        """A ready child's process is gone: end its requests, log why, start another."""
        with self._cond:
            if proc is not self._proc:
                return
            self._proc = None
            closing = self.state == "closed"
            killed_for = self._killed_for
            pending = list(self._pending.values())
            if not closing:
                self.state = "restarting"
                self._crashes_in_a_row += 1
            crashes = self._crashes_in_a_row
        if closing:
            error: ModelUnavailable = ModelUnavailable("大模型已关闭")
        else:
            what = killed_for or describe_exit(returncode)
            tail = "\n".join(self._stderr_tail) or "(nothing)"
            log.error("model worker pid %s ended: %s (exit status %s); its last stderr lines:\n%s",
                      proc.pid, what, returncode, tail)
            error = ModelCrashed(f"大模型进程意外退出：{what}，正在自动重启")
        for replies in pending:
            replies.put(_Ended(error))
        if not closing:
            threading.Thread(target=self._restart, args=(crashes,), daemon=True, name="llm-worker-restart").start()

    def _restart(self, crashes: int) -> None:
        if crashes >= self.max_crashes:
            reason = f"大模型进程接连崩溃 {crashes} 次，已停止自动重启（详情见日志）"
            with self._cond:
                if self.state == "restarting":
                    self.state, self.failure = "failed", reason
                self._cond.notify_all()
            log.error("model worker: %s", reason)
            return
        if crashes > 1:  # crashing again right after a restart: wait a little longer each time
            time.sleep(min(self.backoff_s * 2 ** (crashes - 2), 60))
        try:
            self._start_with_retries()
        except ModelStartFailed as exc:
            with self._cond:
                if self.state != "closed":
                    self.state, self.failure = "failed", exc.reason
                self._cond.notify_all()
            log.error("model worker gave up restarting: %s", exc.reason)
            return
        with self._cond:
            self.restarts += 1
        log.warning("model worker restarted (pid %s, restart %d)", self.pid, self.restarts)

    # ------------------------------------------------------------ requests
    def _completed(self) -> None:
        with self._cond:
            self._crashes_in_a_row = 0

    def _begin(self) -> tuple[subprocess.Popen, int, queue.Queue]:
        """Wait until a child is ready (a restart may be under way) and register a request with it.

        Both under one lock: a child that ends after this either has the request in its pending
        list (and ends it) or is no longer the ready one.
        """
        with self._cond:
            self._cond.wait_for(lambda: self.state not in ("starting", "restarting"),
                                timeout=self.start_timeout_s * self.max_start_failures)
            if self.state == "ready" and self._proc is not None:
                rid = next(self._ids)
                replies: queue.Queue = queue.Queue()
                self._pending[rid] = replies
                return self._proc, rid, replies
            if self.state == "failed":
                raise ModelStartFailed(self.failure)
            if self.state == "closed":
                raise ModelUnavailable("大模型已关闭")
            raise ModelUnavailable("大模型正在重新启动，请稍后重试")

    def _unregister(self, rid: int) -> None:
        with self._cond:
            self._pending.pop(rid, None)

    def _send(self, proc: subprocess.Popen, msg: dict) -> None:
        data = (json.dumps(msg, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            with self._writing:
                proc.stdin.write(data)
                proc.stdin.flush()
        except (OSError, ValueError) as exc:  # BrokenPipeError, or a pipe already closed
            raise ModelCrashed("与大模型进程的连接断开了，正在自动重启") from exc

    def _send_quietly(self, proc: subprocess.Popen, msg: dict) -> None:
        try:
            self._send(proc, msg)
        except ModelCrashed:
            pass

    def _next(self, replies: queue.Queue, proc: subprocess.Popen, timeout: float) -> dict:
        try:
            msg = replies.get(timeout=timeout)
        except queue.Empty:
            self._kill_hung(proc, timeout)
            raise ModelHung(f"大模型 {timeout:.0f} 秒没有任何输出，已停止这次生成，正在自动重启") from None
        if isinstance(msg, _Ended):
            raise msg.error
        return msg

    def _call(self, msg: dict, timeout: float):
        proc, rid, replies = self._begin()
        try:
            self._send(proc, {**msg, "id": rid})
            reply = self._next(replies, proc, timeout)
        finally:
            self._unregister(rid)
        if reply["ev"] == "error":
            raise ModelUnavailable(reply["message"])
        return reply["value"]

    def _kill_hung(self, proc: subprocess.Popen, timeout: float) -> None:
        with self._cond:
            if proc is self._proc and not self._killed_for:
                self._killed_for = f"{timeout:.0f} 秒没有任何输出，判定为卡死，已强制结束"
                self.state = "restarting"  # no new request goes to it; _ended starts the next one
        log.error("model worker pid %s sent nothing for %.0f s: killing it", proc.pid, timeout)
        try:
            proc.kill()
        except OSError:
            pass
