"""Search and ask: the same retriever and answerer the web app uses, through the service."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Optional

import typer

from cli.common import fail, kb_ref, kbs_to_search, local
from ingest.types import check_doc_type


def search(
    question: Optional[str] = typer.Argument(None, help="问题"),
    kb: Optional[list[str]] = typer.Option(None, "--kb", help="只搜这些知识库（名称或目录，可多次）"),
    k: int = typer.Option(10, "-k", min=1, max=100, help="返回条数（1–100）"),
    as_json: bool = typer.Option(False, "--json", help="每个问题输出一行 JSON"),
    batch: Optional[Path] = typer.Option(None, "--batch", help="问题文件，每行一个问题"),
    doc_type: Optional[list[str]] = typer.Option(None, "--type", help="只搜某类资料"),
    hyde: Optional[bool] = typer.Option(None, "--hyde/--no-hyde",
                                        help="先让大模型按法规口吻写一段假想原文，一起用来检索（每个问题约多 10 秒）"),
) -> None:
    """检索知识库，列出最相关的段落和出处。"""
    if batch:
        from ingest.textutil import detect_decode

        if not batch.is_file():
            fail(f"找不到问题文件：{batch}")
        text = detect_decode(batch.read_bytes()).text  # offices save GBK as often as UTF-8
        questions = [line.strip() for line in text.splitlines() if line.strip()]
        if not questions:
            fail(f"问题文件里没有问题：{batch}")
    elif question:
        questions = [question]
    else:
        fail("请给出问题，或用 --batch 指定问题文件")
    if not any(re.search(r"\w", q) for q in questions):
        fail("问题里没有文字，请用文字描述要查的事情")
    for t in doc_type or []:
        check_doc_type(t)
    svc, user = local()
    kbs = kbs_to_search(kb)
    use_hyde, why_not = svc.use_hyde(hyde)
    if why_not:
        typer.echo(f"提示：{why_not}；不使用假想原文检索。", err=True)
    for q in questions:
        hits = svc.search(user, q, k, kbs=kbs, doc_types=doc_type, hyde=use_hyde)
        if as_json:
            print(json.dumps({"query": q, "hits": [h.to_json() for h in hits]}, ensure_ascii=False), flush=True)
            continue
        typer.secho(f"问题：{q}", bold=True)
        if not hits:
            typer.echo("  （没有找到相关内容）")
        for i, h in enumerate(hits, 1):
            typer.secho(f"[{i}] {h.title} · {h.location}  ({h.score:.3f})", fg=typer.colors.CYAN)
            typer.echo("    " + h.text[:160].replace("\n", " ") + ("…" if len(h.text) > 160 else ""))


def ask(
    question: str = typer.Argument(..., help="问题"),
    mode: str = typer.Option("policy", "--mode", help="policy（找政策）或 solution（搜方案）"),
    kb: Optional[list[str]] = typer.Option(None, "--kb", help="只用这些知识库"),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON"),
) -> None:
    """提问：检索知识库，由本地大模型归纳回答并核验引用。"""
    if mode not in ("policy", "solution"):
        fail("--mode 只能是 policy（找政策）或 solution（搜方案）")
    if not question.strip():
        fail("请先输入问题")
    svc, user = local()
    kbs_to_search(kb)  # a first install is set up here; KBs that do not open are named
    why_not = svc.load_llm()
    if why_not:
        typer.echo(f"提示：{why_not.rstrip('。')}；将只展示知识库原文摘录。", err=True)
    refs = [kb_ref(k) for k in kb] if kb else None  # a --kb may name a folder outside the library
    if as_json:
        print(json.dumps(svc.ask(user, question, mode, kbs=refs).to_json(), ensure_ascii=False))
        return
    final = None
    for ev in svc.ask_stream(user, question, mode, kbs=refs):
        if ev.kind == "token":
            typer.echo(ev.text, nl=False)
        elif ev.kind == "final":
            final = ev.answer
    typer.echo("\n" + "─" * 40)
    typer.echo(final.answer)
    for w in final.warnings:
        typer.secho(f"⚠ {w}", fg=typer.colors.YELLOW)
    typer.echo("来源：")
    for c in final.citations:
        typer.echo(f"  [{c['n']}] {c['title']} · {c['location']}")
