"""The model in a supervised worker process (assistant/llm/worker.py), on real parts: the small bundled
GGUF run by llama.cpp in a real child process, killed with real signals."""

from __future__ import annotations

import logging
import os
import re
import signal
import stat
import sys
import threading
import time

import pytest

from assistant.llm import clear_llm_cache, complete, make_llm
from assistant.llm.base import LLM, ChoiceScorer
from assistant.llm.llama_cpp import LlamaCppLLM
from assistant.llm.worker import ModelCrashed, ModelHung, ModelStartFailed, WorkerLLM, describe_exit
from shegong.config import Settings
from shegong.errors import ModelUnavailable

QUESTION = [
    {"role": "system", "content": "你是社区社工助手，只用简体中文简短回答。"},
    {"role": "user", "content": "居民家里的老人摔倒了，社工第一步应该做什么？"},
]
LONG = [{"role": "user", "content": "请写一篇八百字的社区工作总结，分十个方面，每个方面写三段。"}]
ASCII_WORD = re.compile(r"[A-Za-z]{4,}")


def plain_chinese(message: str) -> bool:
    """A message for a user: Chinese, with at most signal names (SIGKILL) and file paths in Latin letters."""
    rest = re.sub(r"SIG[A-Z]+|/\S+|bash scripts/setup\.sh|GGUF", "", message)
    return bool(re.search(r"[\u4e00-\u9fff]", message)) and not ASCII_WORD.search(rest)


@pytest.fixture
def worker(small_model_path):
    w = WorkerLLM(small_model_path, n_ctx=2048, backoff_s=0.2)
    yield w
    w.close()


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.slow
def test_worker_output_is_identical_to_in_process(worker, small_model_path):
    assert isinstance(worker, LLM) and isinstance(worker, ChoiceScorer)
    local = LlamaCppLLM(small_model_path, n_ctx=2048)
    assert (worker.n_ctx, worker.name) == (local.n_ctx, local.name)
    for temperature in (0.1, 0.0):  # seeded sampling and greedy
        mine = list(worker.stream(QUESTION, max_tokens=48, temperature=temperature))
        theirs = list(local.stream(QUESTION, max_tokens=48, temperature=temperature))
        assert len(mine) > 3 and mine == theirs  # the same pieces, not only the same text
    stats = worker.last_stats
    assert stats.prompt_tokens == local.last_stats.prompt_tokens
    assert stats.completion_tokens == local.last_stats.completion_tokens and stats.ttft_s > 0
    assert worker.count_tokens("居民委员会每届任期五年") == local.count_tokens("居民委员会每届任期五年")
    assert worker.count_tokens("") == 0
    assert worker.count_prompt_tokens(QUESTION) == local.count_prompt_tokens(QUESTION)
    mine, theirs = worker.choice_logprobs(QUESTION, ["能", "不能"]), local.choice_logprobs(QUESTION, ["能", "不能"])
    assert mine.keys() == theirs.keys() and all(abs(mine[k] - theirs[k]) < 0.15 for k in mine)
    # the stop strings and the token limit reach the child
    text = complete(worker, [{"role": "user", "content": "从1数到20，用逗号分隔。"}], max_tokens=64, temperature=0,
                    stop=["5"])
    assert "5" not in text and "4" in text


@pytest.mark.slow
@pytest.mark.parametrize("sig, said", [(signal.SIGKILL, "SIGKILL"), (signal.SIGSEGV, "段错误 SIGSEGV")])
def test_a_crash_mid_stream_ends_that_answer_and_the_worker_restarts(worker, sig, said, caplog):
    caplog.set_level(logging.INFO, logger="assistant.llm.worker")
    expected = complete(worker, QUESTION, max_tokens=12, temperature=0)
    pieces = worker.stream(LONG, max_tokens=200, temperature=0)
    next(pieces)
    first_pid = worker.pid
    os.kill(first_pid, sig)
    with pytest.raises(ModelCrashed) as err:
        list(pieces)
    message = str(err.value)
    assert "大模型进程意外退出" in message and said in message and "正在自动重启" in message, message
    assert plain_chinese(message), message
    # the next request is answered by a new worker process, with the same output as before
    assert complete(worker, QUESTION, max_tokens=12, temperature=0) == expected
    assert worker.pid != first_pid and worker.restarts == 1 and worker.health() is None
    log = caplog.text
    assert f"model worker pid {first_pid} ended" in log and f"exit status {-sig}" in log
    assert "model worker restarted" in log
    if sig == signal.SIGSEGV:  # the child's stderr (Python's fault handler) is in the log entry
        assert "Segmentation fault" in log


@pytest.mark.slow
def test_counting_tokens_does_not_wait_behind_a_generation(worker):
    arrivals: list[float] = []
    holder = worker.stream(LONG, max_tokens=160, temperature=0)
    next(holder)  # this generation now holds the model

    def drain():
        for _ in holder:
            arrivals.append(time.perf_counter())

    reader = threading.Thread(target=drain)
    reader.start()
    start = time.perf_counter()
    counts = [worker.count_tokens("居民委员会每届任期五年"), worker.count_prompt_tokens(QUESTION)]
    counted = time.perf_counter()
    reader.join(timeout=300)
    assert counts[0] > 0 and counts[1] > counts[0]
    assert counted - start < 2.0, f"counting took {counted - start:.1f}s"
    assert arrivals and counted < arrivals[-1], "counting waited until the generation was over"


@pytest.mark.slow
def test_stopping_a_stream_early_cancels_the_generation_in_the_child(worker):
    """Measured against the child's own CPU use while it generates: on a busy 2-core machine that can be a
    fifth of a core, so a fixed threshold would say nothing."""
    pieces = worker.stream(LONG, max_tokens=400, temperature=0)
    next(pieces)
    start = cpu_seconds(worker.pid)
    time.sleep(2.0)
    generating = cpu_seconds(worker.pid) - start
    assert generating > 0.05, generating  # it is generating
    pieces.close()
    time.sleep(0.5)
    start = cpu_seconds(worker.pid)
    time.sleep(2.0)
    after = cpu_seconds(worker.pid) - start
    assert after < generating / 4, f"the child went on generating after the stream was closed ({after:.2f} " \
                                   f"CPU-seconds in 2 s, {generating:.2f} while generating)"
    assert complete(worker, QUESTION, max_tokens=8, temperature=0)  # and it takes the next request


@pytest.mark.slow
def test_a_hang_is_cut_and_the_worker_restarts(small_model_path, caplog):
    caplog.set_level(logging.INFO, logger="assistant.llm.worker")
    worker = WorkerLLM(small_model_path, n_ctx=2048, hang_timeout_s=3)
    try:
        pieces = worker.stream(LONG, max_tokens=200, temperature=0)
        next(pieces)
        stuck = worker.pid
        os.kill(stuck, signal.SIGSTOP)  # alive, silent: as a process stuck in a kernel
        start = time.perf_counter()
        with pytest.raises(ModelHung) as err:
            list(pieces)
        waited = time.perf_counter() - start
        assert 2.5 < waited < 15, waited
        assert "3 秒没有任何输出" in str(err.value) and plain_chinese(str(err.value)), str(err.value)
        assert complete(worker, QUESTION, max_tokens=8, temperature=0)
        assert worker.pid != stuck and not os.path.exists(f"/proc/{stuck}/status")
        assert "判定为卡死" in caplog.text
    finally:
        worker.close()


@pytest.mark.integration
def test_a_closed_pipe_ends_the_request_with_a_chinese_message(worker):
    worker._proc.stdin.close()  # as if the pipe broke
    with pytest.raises(ModelCrashed) as err:
        worker.count_tokens("居委会")
    assert "连接断开" in str(err.value) and plain_chinese(str(err.value))


@pytest.mark.integration
def test_a_corrupt_gguf_fails_the_self_check_with_a_chinese_reason(tmp_path, small_model_path):
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf file" * 1000)
    truncated = tmp_path / "truncated.gguf"
    with open(small_model_path, "rb") as f:
        truncated.write_bytes(f.read(4 << 20))  # a real header, most tensors missing
    for path in (junk, truncated):
        start = time.perf_counter()
        with pytest.raises(ModelStartFailed) as err:
            WorkerLLM(path, n_ctx=2048)
        message = str(err.value)
        assert message.startswith("大模型在这台电脑上无法运行：无法加载模型文件") and message.endswith("当前为摘录模式")
        assert "文件可能已损坏" in err.value.reason and plain_chinese(message), message
        assert time.perf_counter() - start < 60  # a file that cannot load is not retried
    with pytest.raises(ModelUnavailable, match="找不到模型文件"):
        WorkerLLM(tmp_path / "missing.gguf")


@pytest.mark.integration
def test_a_crash_at_start_is_retried_with_back_off_then_given_up(tmp_path, small_model_path):
    """An interpreter whose every start dies with SIGSEGV, as a native build on a CPU with AMX does."""
    attempts = tmp_path / "attempts"
    fake = tmp_path / "python"
    fake.write_text(f"#!/bin/sh\necho x >> {attempts}\n"
                    f"exec {sys.executable} -c 'import os, signal; os.kill(os.getpid(), signal.SIGSEGV)'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    start = time.perf_counter()
    with pytest.raises(ModelStartFailed) as err:
        WorkerLLM(small_model_path, python=str(fake), max_start_failures=3, backoff_s=0.3)
    assert len(attempts.read_text().split()) == 3
    assert time.perf_counter() - start >= 0.3 + 0.6  # waited between attempts
    assert "试运行模型时进程崩溃（段错误 SIGSEGV）" in err.value.reason and "scripts/setup.sh" in err.value.reason
    assert str(err.value).startswith("大模型在这台电脑上无法运行：") and plain_chinese(str(err.value))


@pytest.mark.unit
def test_exit_descriptions_are_chinese():
    assert describe_exit(-9).startswith("被系统强制结束 SIGKILL") and "内存不足" in describe_exit(-9)
    assert "SIGILL" in describe_exit(-4) and describe_exit(3) == "退出码 3"


@pytest.mark.integration
def test_make_llm_runs_the_model_in_a_worker_unless_told_not_to(small_model_path):
    clear_llm_cache()
    try:
        settings = Settings(llm_backend="llama_cpp", llm_model_path=str(small_model_path), llm_n_ctx=1024)
        llm = make_llm(settings)
        assert isinstance(llm, WorkerLLM) and llm.n_ctx == 1024 and make_llm(settings) is llm
        in_process = make_llm(settings.model_copy(update={"llm_worker": False}))
        assert isinstance(in_process, LlamaCppLLM)
    finally:
        clear_llm_cache()
    assert llm.state == "closed" and llm._proc is None or llm._proc.poll() is not None
