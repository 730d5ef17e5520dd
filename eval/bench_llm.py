"""LLM speed: our LlamaCppLLM.stream vs calling llama_cpp.Llama directly.

Both load the same GGUF with the same settings and answer the same RAG-style
prompt (a question + 5 short passages, about 600 prompt tokens), alternating
which goes first, so the ratio ours/raw shows only our wrapper's overhead.
Each repetition changes the first line of the prompt so llama.cpp's prefix
cache never skips prompt processing.

Usage: ``python -m eval.bench_llm [--model qwen2.5-coder-1.5b|qwen2.5-coder-0.5b] [--out result.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from assistant.llm.assemble import BUNDLED_MODELS, assemble_model
from assistant.llm.llama_cpp import LlamaCppLLM

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
    """Time one streamed answer the same way for both variants."""
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


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(BUNDLED_MODELS), default="qwen2.5-coder-1.5b")
    parser.add_argument("--model-path", help="a GGUF file instead of a bundled model")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=0, help="0 = auto (half the cores for generation)")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)

    from llama_cpp import Llama, __version__ as llama_cpp_version

    path = Path(args.model_path) if args.model_path else assemble_model(args.model)
    ours = LlamaCppLLM(path, n_ctx=args.n_ctx, n_threads=args.threads, seed=0)
    # Same settings as LlamaCppLLM: 0 threads = the library's own defaults.
    raw = Llama(model_path=str(path), n_ctx=args.n_ctx, n_threads=args.threads or None,
                n_threads_batch=args.threads or None, n_batch=512, n_gpu_layers=0, verbose=False)
    threads = f"{raw.n_threads} (prompt {raw.n_threads_batch})"

    def raw_pieces(messages: list[dict]) -> Iterator[str]:
        for chunk in raw.create_chat_completion(messages=messages, max_tokens=args.max_tokens, temperature=0,
                                                seed=0, stream=True):
            content = chunk["choices"][0]["delta"].get("content")
            if content:
                yield content

    def ours_pieces(messages: list[dict]) -> Iterator[str]:
        return ours.stream(messages, max_tokens=args.max_tokens, temperature=0)

    variants = {"raw": raw_pieces, "ours": ours_pieces}
    warm = [{"role": "user", "content": "你好"}]
    for fn in variants.values():  # first call pays one-off costs (page-in, graph setup)
        list(fn(warm))

    runs: list[dict] = []
    for rep in range(args.reps):
        messages = build_messages(rep)
        order = ["raw", "ours"] if rep % 2 == 0 else ["ours", "raw"]
        for variant in order:
            fn = variants[variant]
            result = measure(lambda: fn(messages), ours.count_tokens)
            result.update(variant=variant, rep=rep)
            runs.append(result)
            print(f"  rep {rep + 1} {variant:4s}  ttft {result['ttft_s']:6.2f}s  "
                  f"decode {result['decode_tps']:6.2f} tok/s  ({result['completion_tokens']} tokens)", flush=True)

    summary = {}
    for variant in variants:
        mine = [r for r in runs if r["variant"] == variant]
        summary[variant] = {
            "ttft_s_median": statistics.median(r["ttft_s"] for r in mine),
            "decode_tps_median": statistics.median(r["decode_tps"] for r in mine),
        }
    ratio_decode = summary["ours"]["decode_tps_median"] / summary["raw"]["decode_tps_median"]
    ratio_ttft = summary["ours"]["ttft_s_median"] / summary["raw"]["ttft_s_median"]
    prompt_tokens = ours.count_prompt_tokens(build_messages(0))
    same_answers = all(r["answer"] == runs[0]["answer"] for r in runs if r["rep"] == 0)

    print(f"\nmodel {path.name}, prompt {prompt_tokens} tokens, max_tokens {args.max_tokens}, "
          f"threads {threads}, llama-cpp-python {llama_cpp_version}, {args.reps} reps")
    print(f"{'':6s}{'ttft (median)':>16s}{'decode tok/s (median)':>24s}")
    for variant, s in summary.items():
        print(f"{variant:6s}{s['ttft_s_median']:15.2f}s{s['decode_tps_median']:24.2f}")
    print(f"ours/raw: decode {ratio_decode:.3f} (target >= 0.95), ttft {ratio_ttft:.3f}; "
          f"identical answers in rep 1: {same_answers}")

    report = {
        "model": path.name, "prompt_tokens": prompt_tokens, "max_tokens": args.max_tokens,
        "n_ctx": args.n_ctx, "threads": threads, "cpu_count": os.cpu_count(),
        "machine": platform.machine(), "llama_cpp_python": llama_cpp_version,
        "summary": summary, "ratio_decode": ratio_decode, "ratio_ttft": ratio_ttft,
        "identical_answers_rep1": same_answers,
        "runs": [{k: v for k, v in r.items() if k != "answer"} for r in runs],
        "sample_answer": runs[0]["answer"],
    }
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
