"""The answer pipeline when its model misbehaves: every failure ends in plain Chinese or the labelled
extract, never an English error or a misleading "未通过核验".

The OpenAI-compatible cases use a real ``llama_cpp.server`` (with an API key and a small context) and,
for what no model server does on purpose (a web page at the address, a stream cut off), a plain
local HTTP server that answers exactly that.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from appserver import free_port, serve

from assistant.answer import Answerer
from assistant.gate import RelevanceGate
from assistant.llm.llama_cpp import LlamaCppLLM
from assistant.llm.openai_compat import OpenAICompatLLM, _parse_sse
from assistant.verify import cut_repetition, verify_answer
from knowledge.retrieve import HybridRetriever
from shegong.errors import ModelUnavailable

ROOT = Path(__file__).resolve().parent.parent
HELLO = [{"role": "user", "content": "你好"}]
ALWAYS_ANSWER = RelevanceGate(low=0.0, high=0.0)


def chinese_only(message: str) -> bool:
    """No English words in a message (addresses, paths, setting names and HTTP/GGUF aside)."""
    text = re.sub(r"https?://[\x21-\x7e]+|/[\x21-\x7e]+|SHEGONG_[A-Z_]+", "", message)
    return not set(re.findall(r"[A-Za-z]{4,}", text)) - {"HTTP", "GGUF"}


# ---------------------------------------------------------------- servers

@pytest.fixture(scope="module")
def keyed_server(small_model_path, tmp_path_factory):
    """A real llama_cpp.server that wants the key sk-good and reads at most 512 tokens."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(small_model_path), "--host", "127.0.0.1",
           "--port", str(port), "--n_ctx", "512", "--api_key", "sk-good"]
    with serve(cmd, f"http://127.0.0.1:{port}/openapi.json", log, timeout=90):
        yield f"http://127.0.0.1:{port}/v1"


class _Canned(http.server.BaseHTTPRequestHandler):
    """Answers every POST with the class's ``reply`` (status, content type, body; chunked when body is a list)."""

    protocol_version = "HTTP/1.1"
    reply: tuple[int, str, object] = (200, "text/html", "")

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        status, ctype, body = self.reply
        self.send_response(status)
        self.send_header("content-type", ctype)
        if isinstance(body, list):  # a stream: send the pieces, then drop the connection without ending it
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for piece in body:
                data = piece.encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
            self.close_connection = True
            return
        data = body.encode()
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def canned():
    """Start a local HTTP server that gives one fixed reply: ``url = canned(status, ctype, body)``."""
    servers = []

    def start(status: int, ctype: str, body) -> str:
        handler = type("Handler", (_Canned,), {"reply": (status, ctype, body)})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/v1"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def error_of(llm, messages=HELLO) -> str:
    with pytest.raises(ModelUnavailable) as info:
        list(llm.stream(messages, max_tokens=4))
    return str(info.value)


# ---------------------------------------------------------------- OpenAI-compatible backend

@pytest.mark.slow
def test_a_refused_api_key_and_a_too_long_prompt_are_said_in_chinese(keyed_server):
    wrong_key = error_of(OpenAICompatLLM(keyed_server, "local", "sk-wrong", timeout=60))
    assert "访问密钥" in wrong_key and "SHEGONG_OPENAI_API_KEY" in wrong_key and chinese_only(wrong_key), wrong_key
    # llama.cpp's server ends a stream at once, without any event, when the prompt does not fit
    too_long = error_of(OpenAICompatLLM(keyed_server, "local", "sk-good", timeout=60),
                        [{"role": "user", "content": "楼上漏水" * 300}])
    assert "太长" in too_long and chinese_only(too_long), too_long
    assert "".join(OpenAICompatLLM(keyed_server, "local", "sk-good", timeout=60).stream(HELLO, max_tokens=4))


@pytest.mark.integration
def test_cli_ask_json_with_a_refused_key_is_a_labelled_extract(keyed_server, library):
    env = dict(os.environ, SHEGONG_LLM_BACKEND="openai", SHEGONG_OPENAI_BASE_URL=keyed_server,
               SHEGONG_OPENAI_API_KEY="sk-wrong")
    out = subprocess.run([sys.executable, "-m", "cli", "ask", "独居老人好几天没出门怎么办", "--json"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["extractive"] and not data["refused"] and data["citations"]
    assert data["answer"].startswith("（以下内容直接摘自知识库原文")
    assert any("访问密钥" in w for w in data["warnings"]), data["warnings"]
    assert all(chinese_only(w) for w in data["warnings"]), data["warnings"]
    assert "Invalid" not in out.stdout
    # the server's English reply is for the administrator: in the CLI's log, not on the screen
    assert "model server" not in out.stderr and chinese_only(out.stderr), out.stderr
    log = Path(env["SHEGONG_HOME"]) / "logs" / "cli.log"
    assert "answered HTTP 401" in log.read_text(encoding="utf-8")


@pytest.mark.unit
@pytest.mark.parametrize("status, ctype, body, expected", [
    (401, "application/json", '{"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}}',
     "访问密钥"),
    (404, "application/json", '{"error": "model \\"q1\\" not found, try pulling it first"}', "HTTP 404"),
    (400, "application/json", '{"error": {"message": "This model\'s maximum context length is 4096 tokens"}}', "太长"),
    (502, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>", "内部出错"),
    (200, "text/html", "<html><body>Welcome to nginx!</body></html>", "不是模型服务的回答"),
    (200, "text/event-stream", ['data: {"choices":[{"delta":{"content":"结论：社区"}}]}\n\n'], "途中断开"),
    (200, "text/event-stream", ['data: {"error": {"message": "CUDA out of memory"}}\n\n'], "生成回答时出错"),
])
def test_http_failures_are_said_in_chinese(canned, status, ctype, body, expected):
    llm = OpenAICompatLLM(canned(status, ctype, body), "q1", timeout=10)
    message = error_of(llm)
    assert expected in message and chinese_only(message), message


@pytest.mark.unit
def test_a_server_that_ignores_stream_is_read_whole(canned):
    body = json.dumps({"choices": [{"message": {"role": "assistant", "content": "结论：可以。"}}]})
    assert "".join(OpenAICompatLLM(canned(200, "application/json", body), "m").stream(HELLO)) == "结论：可以。"


@pytest.mark.unit
@pytest.mark.parametrize("url", ["127.0.0.1:8000/v1", "", "http://[::1"])
def test_a_malformed_server_address_is_said_in_chinese(url):
    message = error_of(OpenAICompatLLM(url, "local", timeout=5))
    assert "地址" in message and "http://" in message


@pytest.mark.unit
def test_sse_parser_skips_events_it_cannot_read():
    lines = ["data: 42", 'data: {"choices":["x"]}', 'data: ["a"]', 'data: {"choices":[{"delta":{"content":"好"}}]}',
             "data: [DONE]"]
    assert list(_parse_sse(iter(lines))) == ["好"]
    assert list(_parse_sse(iter(["data: [DONE]"]))) == []  # an empty but finished answer is not an error
    with pytest.raises(ModelUnavailable, match="没有给出回答"):
        list(_parse_sse(iter([": ping", ""])))


@pytest.mark.integration
def test_a_web_page_at_the_server_address_is_not_blamed_on_the_answer(canned, library):
    """Before: the empty "answer" failed verification and the user read "模型回答未通过核验"."""
    llm = OpenAICompatLLM(canned(200, "text/html", "<html>Welcome to nginx!</html>"), "local", timeout=10)
    ans = Answerer(HybridRetriever(library), llm, gate=ALWAYS_ANSWER).ask("独居老人好几天没出门怎么办", "solution")
    assert ans.extractive and not ans.refused and ans.sources
    assert not any("未通过核验" in w for w in ans.warnings), ans.warnings
    assert any("不是模型服务的回答" in w for w in ans.warnings), ans.warnings


@pytest.mark.integration
def test_a_server_that_says_nothing_gives_the_extract_with_the_reason(canned, library):
    llm = OpenAICompatLLM(canned(200, "text/event-stream", ["data: [DONE]\n\n"]), "local", timeout=10)
    ans = Answerer(HybridRetriever(library), llm, gate=ALWAYS_ANSWER).ask("独居老人好几天没出门怎么办", "solution")
    assert ans.extractive and any("没有生成任何内容" in w for w in ans.warnings), ans.warnings
    assert not any("未通过核验" in w for w in ans.warnings)


# ---------------------------------------------------------------- llama.cpp backend

@pytest.mark.integration
def test_a_context_size_llama_cpp_rounds_up_is_not_overrun(small_model_path):
    """llama.cpp makes n_ctx=300 a 512-token context, llama-cpp-python keeps a 300-token buffer: a
    400-token prompt must not fail with numpy's "could not broadcast input array" in the warning."""
    llm = LlamaCppLLM(small_model_path, n_ctx=300)
    assert llm.n_ctx == 300
    prompt = [{"role": "user", "content": "社区" * 320}]
    assert 300 < llm.count_prompt_tokens(prompt) < 512
    message = error_of(llm, prompt)
    assert "太长" in message and chinese_only(message), message
    assert not llm._lock.locked()


@pytest.mark.unit
def test_a_file_that_is_not_a_model_is_said_without_llama_cpps_english(tmp_path):
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"GGUF" + b"\0" * 4000)  # a header and nothing else, like a truncated download
    with pytest.raises(ModelUnavailable) as info:
        LlamaCppLLM(junk)
    assert "无法加载模型文件" in str(info.value) and chinese_only(str(info.value)), str(info.value)


# ---------------------------------------------------------------- verification

@pytest.mark.integration
@pytest.mark.parametrize("claim", ["民法典第九千条规定，饲养的动物造成他人损害的，由饲养人承担责任",
                                   "刑法第九千条规定，饲养的动物造成他人损害的，由饲养人承担责任"])
def test_an_invented_article_of_a_short_law_name_is_caught(library, claim):
    """"民法典第九千条" at the start of a sentence (no 《》, nothing before it) is checked too."""
    source = "依照《中华人民共和国民法典》，饲养的动物造成他人损害的，一般由饲养人或管理人承担责任。"
    retriever = HybridRetriever(library)
    v = verify_answer(f"结论：{claim}[1]。", [source], retriever.article_exists, "民法典第九千条")
    assert v.invalid_articles and "第九千条" not in v.text, v.text
    assert any("查不到" in w for w in v.warnings)


@pytest.mark.unit
def test_a_loop_inside_nested_numbering_is_cut():
    """The 0.5B model wrote "- 1.5. 通知…" "- 1.6. 通知…" (and "2. 2. …") over and over; each number
    made the sentence look new."""
    same = "通知社区矫正机构，告知矫正对象的违法情况[1]。"
    nested = "结论：及时报告[1]。\n1. 协助开展教育帮扶[1]。\n" + "".join(f"   - 1.{i}. {same}\n" for i in range(4, 9))
    assert cut_repetition(nested).count(same) == 1
    doubled = "结论：及时报告[1]。\n" + "".join(f"{i}. {i}. {same}\n" for i in range(1, 5))
    assert cut_repetition(doubled).count(same) == 1


@pytest.mark.unit
@pytest.mark.parametrize("written,expected", [
    ("[1,2,3]", "[1][2][3]"), ("[1，2，7]", "[1][2][7]"), ("[1-3]", "[1][2][3]"), ("[资料1]", "[1]"), ("【资料2】", "[2]"),
    ("（资料1）", "[1]"), ("[来源1]", "[1]"), ("［１］", "[1]"), ("[１]", "[1]"), ("【1,2】", "[1][2]"),
])
def test_marker_variants_become_checkable_markers(written, expected):
    """'[1,2,7]' stayed as written: the check never saw the 7, which was shown pointing to no source."""
    from assistant.verify import normalise_markers

    assert normalise_markers(f"应当经常看望老年人{written}。") == f"应当经常看望老年人{expected}。"
