"""Quality and speed evaluation: eval retrieval/answers/calibrate/injection.

These call the eval harness (eval/), not the service: a measurement fixes its own retrieval
configurations and model, whatever this office's settings say, so that its figures compare
with eval/README.md's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

eval_app = typer.Typer(help="质量与速度评测", no_args_is_help=True)


@eval_app.command("retrieval")
def eval_retrieval(
    data: Optional[Path] = typer.Option(None, "--data", help="评测集（默认 eval/data/retrieval.jsonl）"),
    kb: Optional[list[str]] = typer.Option(None, "--kb"),
    out: Optional[Path] = typer.Option(None, "--out", help="把结果写成 JSON"),
    hyde: Optional[str] = typer.Option(None, "--hyde", help="再测“假想原文”检索（HyDE），用这个模型写：qwen2.5-coder-1.5b 或 qwen2.5-coder-0.5b；每题多一次模型调用"),
) -> None:
    """检索评测：recall@1/5/10、MRR@10、延迟，并与纯 BM25、纯向量对比。"""
    from eval.retrieval import main as run

    run(data=data, kbs=kb, out=out, hyde_model=hyde)


@eval_app.command("answers")
def eval_answers(
    model: str = typer.Option("qwen2.5-coder-1.5b", "--model", help="qwen2.5-coder-1.5b（默认）、qwen2.5-coder-0.5b 或 none（只用原文摘录）"),
    limit: Optional[int] = typer.Option(None, "--limit", help="只跑前 N 个问题"),
    out: Optional[Path] = typer.Option(None, "--out"),
    replay: Optional[Path] = typer.Option(None, "--replay", help="用 --out 保存的结果重新核验打分（不调用大模型）"),
    inscope: Optional[Path] = typer.Option(None, "--inscope", help="范围内问题集（默认 eval/data/answers.jsonl）"),
    oos: Optional[Path] = typer.Option(None, "--oos", help="范围外问题集（默认 eval/data/out_of_scope.jsonl）"),
    band_only: bool = typer.Option(False, "--band-only", help="只让模型回答门槛拿不准的问题（只统计拒答率，快）"),
    rejudge: bool = typer.Option(False, "--rejudge", help="与 --replay 同用：用现在的相关性判断重新决定拿不准的问题（要加载大模型）"),
) -> None:
    """问答评测：要点命中率、引用有效性、虚构法条和法律名称数、拒答率、误拒率、速度。"""
    from eval.answers import main as run

    run(model, limit, out, replay, inscope, oos, band_only, rejudge)


@eval_app.command("calibrate")
def eval_calibrate(
    judge: bool = typer.Option(False, "--judge", help="同时用大模型校准“是否相关”判断的阈值（较慢）"),
    model: str = typer.Option("qwen2.5-coder-1.5b", "--model", help="qwen2.5-coder-1.5b（默认）或 qwen2.5-coder-0.5b"),
) -> None:
    """校准拒答阈值（范围内 vs 范围外问题的相关度分布）。"""
    from eval.calibrate import calibrate_judge, main as run

    run()
    if judge:
        calibrate_judge(model)


@eval_app.command("injection")
def eval_injection(
    model: Optional[str] = typer.Option(None, "--model", help="qwen2.5-coder-1.5b、qwen2.5-coder-0.5b 或 none；默认按设置"),
    out: Optional[Path] = typer.Option(None, "--out", help="把结果写成 JSON"),
    ids: Optional[list[str]] = typer.Option(None, "--id", help="只跑这几题（如 --id i18）"),
) -> None:
    """提示注入评测：资料里埋下的“指令”、电话、微信、付款，回答会不会转述（eval/data/injection.jsonl）。"""
    from eval.injection import main as run

    run(model, out, ids=ids)
