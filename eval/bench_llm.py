"""LLM speed in one run: TTFT and decode speed of each way of running the model, and first useful content.

Every variant loads the same GGUF with the same settings and answers the same RAG-style prompt (a
question + 5 short passages, about 600 prompt tokens); each repetition rotates which variant goes first
and changes the prompt's first line, so llama.cpp's prefix cache never skips prompt processing. The
ratios are within this run, so a machine that other work slows down slows every variant alike.

- raw:    llama_cpp.Llama called directly, in this process
- ours:   LlamaCppLLM in this process (ours/raw: the wrapper's overhead)
- worker: WorkerLLM, the model in a supervised child process, what the app and CLI use (worker/ours)
- other:  WorkerLLM run by another interpreter (``--other-python``), e.g. a venv holding a natively built
          llama-cpp-python: other/worker compares two builds on the same prompt, in one run

``--first-content`` then times, on the bundled KB (the library of $SHEGONG_HOME, built if missing), how
long each eval question (answers.jsonl + out_of_scope.jsonl) waits for its first useful content, the
source cards and 原文摘录 or a refusal: once with the worker idle and once while it generates another
answer (another user's), which is when a 2-core PC is busiest.

Usage: ``python -m eval.bench_llm [--model qwen2.5-coder-1.5b|qwen2.5-coder-0.5b] [--other-python PY] [--first-content]
[--variants raw,ours,worker,other] [--out result.json]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from assistant.llm.assemble import BUNDLED_MODELS, assemble_model
from assistant.llm.llama_cpp import LlamaCppLLM
from assistant.llm.worker import WorkerLLM

SYSTEM = ("你是社区社工助手。只根据下面提供的资料回答问题，每句话后用［1］这样的编号注明出处；"
          "资料里没有的内容，直接说“资料中没有相关规定”，不要编造法律条文或数字。")

PASSAGES = [
    "《社区独居老人关爱服务指引》第三章：社工每月至少上门探访一次独居老人，记录其身体状况、"
    "用药情况和家中安全隐患；发现老人连续两天未出门或电话无人接听时，应当在当天联系其紧急联系人，"
    "必要时会同网格员、物业人员一同入户查看。探访后二十四小时内在台账中登记，"
    "对高风险老人（八十岁以上、患慢性病或近期跌倒过）改为每周探访一次。",
    "《居家养老服务补贴办法》第八条：年满八十周岁、经评估为中度以上失能的本市户籍老年人，"
    "可以申请居家养老服务补贴。申请人向户籍所在地居委会提交申请表、身份证明和评估报告，"
    "居委会初审后在五个工作日内报街道审核。补贴以服务券形式按月发放，"
    "可用于助餐、助浴、助洁和上门护理，不得兑换现金；享受补贴期间情况发生变化的，应当及时告知居委会。",
    "《老年人权益保障法》第十八条：家庭成员应当关心老年人的精神需求，不得忽视、冷落老年人。"
    "与老年人分开居住的家庭成员，应当经常看望或者问候老年人。用人单位应当按照国家有关规定"
    "保障赡养人探亲休假的权利。",
    "案例：某小区一位独居老人夜间在卫生间摔倒，因佩戴了社区发放的紧急呼叫器，"
    "值班人员十分钟内赶到并拨打急救电话。事后社工协助家属申请了适老化改造，"
    "在卫生间加装扶手和防滑垫，并把老人纳入每周电话问候名单。社工还联系了楼组长和两位邻居，"
    "约定每天早晚留意老人家的灯光和门口的报纸，一旦发现异常立即电话通知居委会值班室。"
    "三个月后回访时，老人表示夜里起身更安心了，家属也开始每周视频通话一次。",
    "《社区应急处置工作手册》：遇到老人跌倒，不要急于扶起；先判断意识和呼吸，询问疼痛部位，"
    "怀疑骨折或头部受伤时保持原位并拨打120，同时通知家属；事后填写事件记录表，"
    "三日内回访了解老人恢复情况。如老人独居且行动不便，社工应评估是否需要临时照护，"
    "并告知家属可申请的养老服务和适老化改造项目。",
]

QUESTION = "辖区里一位八十二岁独居老人在家摔倒了，社工现场应该怎么做？事后可以帮他申请哪些帮助？"


def build_messages(rep: int) -> list[dict]:
    sources = "\n\n".join(f"［{i}］{p}" for i, p in enumerate(PASSAGES, 1))
    # The leading line differs per repetition: no run can reuse another's prompt cache.
    return [
        {"role": "system", "content": f"第{rep + 1}轮测试。\n{SYSTEM}"},
        {"role": "user", "content": f"资料：\n{sources}\n\n问题：{QUESTION}"},
    ]


def measure(pieces: Callable[[], Iterator[str]], count_tokens: Callable[[str], int]) -> dict:
    """Time one streamed answer the same way for every variant, on a thread of its own.

    Not on the main thread: the app streams on its request threads and the worker generates on a thread of
    its own, and on a loaded machine llama.cpp read the same prompt much more slowly on a process's main
    thread (TTFT about 1.6x; with OMP_WAIT_POLICY=passive about 1.1x, so OpenMP's spin-waiting is most of
    it: eval/README.md). Timed on the main thread, in process would look slower than the worker.
    """
    out: dict = {}
    runner = threading.Thread(target=lambda: out.update(_measure(pieces, count_tokens)))
    runner.start()
    runner.join()
    if "answer" not in out:
        raise RuntimeError("the measured variant failed (see its traceback above)")
    return out


def _measure(pieces: Callable[[], Iterator[str]], count_tokens: Callable[[str], int]) -> dict:
    start = time.perf_counter()
    first = last = 0.0
    text = []
    for piece in pieces():
        last = time.perf_counter()
        if not text:
            first = last
        text.append(piece)
    answer = "".join(text)
    tokens = count_tokens(answer)
    return {
        "ttft_s": first - start,
        "decode_tps": (tokens - 1) / (last - first) if last > first else 0.0,
        "completion_tokens": tokens,
        "total_s": last - start,
        "answer": answer,
    }


def build_of(python: str) -> str:
    """Which llama.cpp build an interpreter has: its CPU features, e.g. 'AVX2 FMA F16C BMI2 AVX512 ...'."""
    code = "import llama_cpp; print(llama_cpp.llama_print_system_info().decode())"
    info = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=120).stdout
    have = [name for name, value in re.findall(r"\b([A-Z][A-Z0-9_]*) = (\d+)", info)
            if value != "0" and name not in ("SSE3", "SSSE3", "LLAMAFILE", "OPENMP", "REPACK")]
    return " ".join(have) or "unknown"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def speed(args, path: Path) -> dict:
    from llama_cpp import Llama, __version__ as llama_cpp_version

    wanted = args.variants.split(",")
    if "other" in wanted and not args.other_python:
        wanted.remove("other")
    builds = {"this": build_of(sys.executable)}
    ours = LlamaCppLLM(path, n_ctx=args.n_ctx, n_threads=args.threads, seed=0)
    variants: dict[str, Callable[[list[dict]], Iterator[str]]] = {}
    workers = []
    if "raw" in wanted:
        # Same settings as LlamaCppLLM: 0 threads = the library's own defaults.
        raw = Llama(model_path=str(path), n_ctx=args.n_ctx, n_threads=args.threads or None,
                    n_threads_batch=args.threads or None, n_batch=512, n_gpu_layers=0, verbose=False)

        def raw_pieces(messages: list[dict]) -> Iterator[str]:
            for chunk in raw.create_chat_completion(messages=messages, max_tokens=args.max_tokens, temperature=0,
                                                    seed=0, stream=True):
                content = chunk["choices"][0]["delta"].get("content")
                if content:
                    yield content

        variants["raw"] = raw_pieces
    if "ours" in wanted:
        variants["ours"] = lambda messages: ours.stream(messages, max_tokens=args.max_tokens, temperature=0)
    for name, python in (("worker", None), ("other", args.other_python)):
        if name in wanted:
            worker = WorkerLLM(path, n_ctx=args.n_ctx, n_threads=args.threads, seed=0, python=python)
            workers.append(worker)
            variants[name] = (lambda w: lambda messages: w.stream(messages, max_tokens=args.max_tokens,
                                                                  temperature=0))(worker)
    if "other" in variants:
        builds["other"] = build_of(args.other_python)
    threads = f"{ours.n_threads} (prompt {ours._llm.n_threads_batch})"

    warm = [{"role": "user", "content": "你好"}]
    for fn in variants.values():  # first call pays one-off costs (page-in, graph setup)
        list(fn(warm))

    names = list(variants)
    runs: list[dict] = []
    for rep in range(args.reps):
        messages = build_messages(rep)
        order = names[rep % len(names):] + names[:rep % len(names)]  # each variant in each position in turn
        for variant in order:
            fn = variants[variant]
            result = measure(lambda: fn(messages), ours.count_tokens)
            result.update(variant=variant, rep=rep, position=order.index(variant))
            if variant in ("worker", "other"):  # what the pipe adds: the same generation timed in the child
                child = workers[0 if variant == "worker" else -1].child_stats
                result.update(child_ttft_s=child.ttft_s, child_decode_tps=child.decode_tps)
            runs.append(result)
            print(f"  rep {rep + 1} {variant:6s} ttft {result['ttft_s']:6.2f}s  "
                  f"decode {result['decode_tps']:6.2f} tok/s  ({result['completion_tokens']} tokens)", flush=True)
    for worker in workers:
        worker.close()

    summary = {}
    for variant in names:
        mine = [r for r in runs if r["variant"] == variant]
        summary[variant] = {
            "ttft_s_median": statistics.median(r["ttft_s"] for r in mine),
            "decode_tps_median": statistics.median(r["decode_tps"] for r in mine),
        }
    ratios = ratio_table(summary, runs)
    prompt_tokens = ours.count_prompt_tokens(build_messages(0))
    first_rep = {r["variant"]: r["answer"] for r in runs if r["rep"] == 0}
    same_build = [v for v in ("raw", "ours", "worker") if v in first_rep]
    identical = len({first_rep[v] for v in same_build}) <= 1

    print(f"\nmodel {path.name}, prompt {prompt_tokens} tokens, max_tokens {args.max_tokens}, "
          f"threads {threads}, llama-cpp-python {llama_cpp_version}, {args.reps} reps, load {os.getloadavg()}")
    for key, build in builds.items():
        print(f"build ({key}): {build}")
    print(f"{'':8s}{'ttft (median)':>16s}{'decode tok/s (median)':>24s}")
    for variant, s in summary.items():
        print(f"{variant:8s}{s['ttft_s_median']:15.2f}s{s['decode_tps_median']:24.2f}")
    for key, r in ratios.items():
        print(f"{key}: decode {r['decode']:.3f}, ttft {r['ttft']:.3f}; paired within each rep (median): "
              f"decode {r['decode_paired']:.3f}, ttft {r['ttft_paired']:.3f}")
    print(f"identical answers in rep 1 ({', '.join(same_build)}): {identical}")
    overhead = {}
    for variant in ("worker", "other"):
        mine = [r for r in runs if r["variant"] == variant]
        if mine:
            overhead[variant] = {
                "ttft_added_s_median": statistics.median(r["ttft_s"] - r["child_ttft_s"] for r in mine),
                "ttft_added_s_max": max(r["ttft_s"] - r["child_ttft_s"] for r in mine),
                "decode_ratio_median": statistics.median(r["decode_tps"] / r["child_decode_tps"] for r in mine)}
            o = overhead[variant]
            print(f"{variant}: the process boundary adds {o['ttft_added_s_median'] * 1000:.1f} ms to the TTFT "
                  f"(median; max {o['ttft_added_s_max'] * 1000:.1f} ms); decode here/in the child "
                  f"{o['decode_ratio_median']:.4f}")
    return {
        "model": path.name, "prompt_tokens": prompt_tokens, "max_tokens": args.max_tokens,
        "n_ctx": args.n_ctx, "threads": threads, "cpu_count": os.cpu_count(), "machine": platform.machine(),
        "llama_cpp_python": llama_cpp_version, "builds": builds, "summary": summary, "ratios": ratios,
        "identical_answers_rep1": identical, "worker_overhead": overhead,
        "runs": [{k: v for k, v in r.items() if k != "answer"} for r in runs],
        "sample_answers": first_rep,
    }


def ratio_table(summary: dict, runs: list[dict]) -> dict:
    """top/bottom for the pairs measured: ratio of the medians, and the median of the ratios within each rep
    (the two ran minutes apart at most, so a machine whose load changes during the run moves both alike)."""
    by = {(r["variant"], r["rep"]): r for r in runs}
    reps = sorted({r["rep"] for r in runs})
    out = {}
    for top, bottom in (("ours", "raw"), ("worker", "ours"), ("other", "worker")):
        if top in summary and bottom in summary:
            out[f"{top}/{bottom}"] = {
                "decode": summary[top]["decode_tps_median"] / summary[bottom]["decode_tps_median"],
                "ttft": summary[top]["ttft_s_median"] / summary[bottom]["ttft_s_median"],
                "decode_paired": statistics.median(by[top, i]["decode_tps"] / by[bottom, i]["decode_tps"] for i in reps),
                "ttft_paired": statistics.median(by[top, i]["ttft_s"] / by[bottom, i]["ttft_s"] for i in reps)}
    return out


LONG_ANSWER = [{"role": "user", "content": "请写一篇一千字的社区工作总结，分十个方面，每个方面写三段。"}]


def first_content(args, path: Path) -> dict:
    """Seconds from asking to the first useful content (source cards + 原文摘录, or a refusal), per question."""
    from assistant.answer import Answerer
    from eval.answers import mode_of
    from eval.common import DATA_DIR, load_jsonl
    from knowledge.library import get_library
    from knowledge.retrieve.hybrid import HybridRetriever
    from shegong.config import get_settings

    lib = get_library()
    if lib.needs_setup():
        lib.install_defaults()
    worker = WorkerLLM(path, n_ctx=args.n_ctx, n_threads=args.threads)
    answerer = Answerer.from_settings(HybridRetriever(lib), worker, get_settings())
    questions = load_jsonl(DATA_DIR / "answers.jsonl") + load_jsonl(DATA_DIR / "out_of_scope.jsonl")

    def once(item: dict) -> tuple[float, str]:
        start = time.perf_counter()
        events = answerer.stream(item["q"], mode_of(item))
        try:
            for ev in events:
                if ev.kind in ("extract", "final"):
                    return time.perf_counter() - start, ev.kind
        finally:
            events.close()  # the judge and the model are not needed for this figure
        raise AssertionError("no content")

    for item in questions[:2]:  # loads the embedder and the indexes
        once(item)
    out = {}
    for condition in ("idle", "busy"):
        stop = threading.Event()
        background = None
        if condition == "busy":  # another user's answer is being generated meanwhile
            def generate():
                while not stop.is_set():
                    pieces = worker.stream(LONG_ANSWER, max_tokens=400, temperature=0.1)
                    for _ in pieces:
                        if stop.is_set():
                            break
                    pieces.close()

            background = threading.Thread(target=generate, daemon=True)
            background.start()
            time.sleep(20)  # past its prompt: decoding, with both cores in use
        timed = [once(item) for item in questions]
        stop.set()
        if background is not None:
            background.join(timeout=120)
        seconds = [t for t, _ in timed]
        out[condition] = {"n": len(seconds), "median_s": statistics.median(seconds), "p95_s": p95(seconds),
                          "max_s": max(seconds), "extracts": sum(kind == "extract" for _, kind in timed),
                          "refusals": sum(kind == "final" for _, kind in timed)}
        print(f"first useful content ({condition}, {len(seconds)} questions): median {out[condition]['median_s']:.2f}s"
              f", p95 {out[condition]['p95_s']:.2f}s, max {out[condition]['max_s']:.2f}s "
              f"({out[condition]['extracts']} extracts, {out[condition]['refusals']} refusals)", flush=True)
    worker.close()
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(BUNDLED_MODELS), default="qwen2.5-coder-1.5b")
    parser.add_argument("--model-path", help="a GGUF file instead of a bundled model")
    parser.add_argument("--reps", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=0, help="0 = auto (half the cores for generation)")
    parser.add_argument("--variants", default="raw,ours,worker,other")
    parser.add_argument("--other-python", help="an interpreter with another llama-cpp-python build")
    parser.add_argument("--first-content", action="store_true", help="also time first useful content on the KB")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)

    path = Path(args.model_path) if args.model_path else assemble_model(args.model)
    report = speed(args, path)
    if args.first_content:
        report["first_content"] = first_content(args, path)
    report["loadavg_end"] = os.getloadavg()
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
