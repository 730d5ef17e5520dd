"""12345 工单派单 from the command line, through the service (as this computer's system user).

    shegong dispatch "楼下烧烤店油烟熏得开不了窗" [--json]
    shegong dispatch --batch 工单.txt --json        # one ticket per line in, one JSON object per line out
    shegong dispatch import 清单.xlsx [--title 名称]
    shegong dispatch review 12 --accept | --correct A-009[,A-010] | --correct 无匹配
    shegong dispatch export 派单记录.xlsx
    shegong dispatch list

A ticket is the group's default command: anything that is not a subcommand's name is a ticket.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperGroup

from cli.common import fail, local

NO_MATCH_WORDS = ("无匹配", "无", "none")


class TicketByDefault(TyperGroup):
    """``shegong dispatch "工单"`` and ``shegong dispatch --batch F`` go to the ``ticket`` command."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["ticket", *args]
        return super().parse_args(ctx, args)


dispatch_app = typer.Typer(cls=TicketByDefault, no_args_is_help=True,
                           help="12345 工单派单：按本区权责清单派单。\n\n"
                                "派单：shegong dispatch \"工单内容\" [--json]；"
                                "批量：shegong dispatch --batch 工单.txt --json（每行一条，每条输出一行 JSON）。\n\n"
                                "下面的命令导入清单、确认/纠正、导出记录。")


def _service():
    svc, user = local()
    why_not = svc.load_llm()  # the reason sentence (and close calls, if configured) use the model
    if why_not:
        typer.echo(f"提示：{why_not.rstrip('。')}；派单理由直接摘自工单原文。", err=True)
    if svc.library.needs_setup():
        typer.echo("提示：还没有建立默认知识库（shegong setup），派单结果暂不附手册和案例中的下一步做法。", err=True)
    return svc, user


@dispatch_app.command("ticket", hidden=True)
def ticket(
    text: Optional[str] = typer.Argument(None, help="工单内容"),
    batch: Optional[Path] = typer.Option(None, "--batch", help="工单文件，每行一条"),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON（--batch 时每条工单一行）"),
) -> None:
    """派单：给出清单中的事项、理由、备选事项和下一步做法。"""
    if batch:
        from ingest.textutil import detect_decode

        if not batch.is_file():
            fail(f"找不到工单文件：{batch}")
        tickets = [line.strip() for line in detect_decode(batch.read_bytes()).text.splitlines() if line.strip()]
        if not tickets:
            fail(f"工单文件里没有工单：{batch}")
    elif text is not None:
        tickets = [text]
    else:
        fail("请给出工单内容，或用 --batch 指定工单文件")
    svc, user = _service()
    failed = 0
    for t in tickets:
        try:
            result = svc.dispatch_ticket(user, t)
        except Exception as e:
            if not batch:
                raise
            from cli.errors import explain

            failed += 1  # one bad line does not lose the others: it gets its own JSON line with the reason
            out = {"工单": t[:200], "错误": explain(e)}
            print(json.dumps(out, ensure_ascii=False) if as_json else f"✗ {out['错误']}", flush=True)
            continue
        if as_json:
            print(json.dumps(result.to_json(), ensure_ascii=False), flush=True)
        else:
            show(result)
    if failed:
        raise typer.Exit(1)


def show(result) -> None:
    typer.secho(result.message, bold=True)
    for m in result.matches:
        it = m.item
        typer.echo(f"  {it.code} {it.matter}｜主责：{it.lead}｜配合：{it.partners or '无'}｜社区职责：{it.duty}")
        typer.echo(f"  依据：{it.basis or '（清单未写）'}")
        typer.echo(f"  理由：{m.reason}")
    if result.runner_ups:
        typer.echo("备选：" + "；".join(f"{it.code} {it.matter}（{s:.2f}）" for it, s in result.runner_ups))
    for s in result.next_steps:
        typer.echo(f"下一步（{s['出处']}）：{s['摘录'][:120]}")
    for w in result.warnings:
        typer.secho(f"⚠ {w}", fg=typer.colors.YELLOW)
    typer.echo(f"记录号：{result.record_id}（确认：shegong dispatch review {result.record_id} --accept）")


@dispatch_app.command("import")
def import_list(
    path: Path = typer.Argument(..., help="权责清单，Excel（.xlsx）或 CSV"),
    title: Optional[str] = typer.Option(None, "--title", help="清单名称（默认用文件名）"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """导入本区权责清单（替换正在使用的清单；有问题的行列出行号和原因，其余照常导入）。"""
    svc, user = local()
    version, parsed, kb = svc.dispatch_import(user, path, title)
    if as_json:
        print(json.dumps({"version": version.version, **parsed.to_json(), "knowledge_base": kb.status},
                         ensure_ascii=False))
    else:
        typer.echo(f"已导入清单「{version.title}」第 {version.version} 版：{parsed.report()}")
        if kb.status == "error":
            typer.secho(f"⚠ 清单已启用，但未能加入知识库（找政策暂时查不到它）：{kb.error}", fg=typer.colors.YELLOW)
    if parsed.errors:
        raise typer.Exit(2)  # imported, but some rows were left out: scripts can tell


@dispatch_app.command("review")
def review(
    record: int = typer.Argument(..., help="派单记录号"),
    accept: bool = typer.Option(False, "--accept", help="确认派单结果"),
    correct: Optional[str] = typer.Option(None, "--correct", help="纠正为这些编号（逗号分隔），或“无匹配”"),
    note: str = typer.Option("", "--note", help="备注"),
) -> None:
    """确认或纠正一条派单（纠正会用于以后相似的工单）。"""
    if accept == (correct is not None):
        fail("请在 --accept 和 --correct 中选一个")
    svc, user = local()
    codes = None
    if correct is not None:
        codes = [] if correct.strip() in NO_MATCH_WORDS else [
            c.strip() for c in correct.replace("，", ",").replace("、", ",").split(",") if c.strip()]
    rec = svc.dispatch_review(user, record, accepted=accept, codes=codes, note=note)
    typer.echo(f"记录 {rec.id}：{rec.status_label}（{'、'.join(rec.final_codes or []) or '无匹配'}）")


@dispatch_app.command("export")
def export(path: Path = typer.Argument(..., help="导出到这个 .xlsx 文件")) -> None:
    """把派单记录导出为 Excel。"""
    if path.suffix.lower() != ".xlsx":
        fail("导出文件名要以 .xlsx 结尾")
    svc, user = local()
    typer.echo(f"已导出：{svc.dispatch_export(user, path)}")


@dispatch_app.command("list")
def show_list() -> None:
    """列出正在使用的权责清单。"""
    svc, user = local()
    version, items = svc.dispatch_list(user)
    typer.echo(version.describe())
    for it in items:
        typer.echo(f"{it.code}  {it.matter}  [{it.duty}]  {it.lead}")
