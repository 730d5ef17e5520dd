"""智慧走访 commands: visit-note, visit-rules, summary, and the ledger group (import, query, visits, exports,
an account's community). All through the service as this computer's system user; ``--json`` prints exactly
one JSON object on standard output, everything else goes to standard error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from cli.common import local

ledger_app = typer.Typer(help="走访台账：导入花名册、查询、导出、设置账号所属社区", no_args_is_help=True)


def _say(text: str) -> None:
    typer.echo(text, err=True)


def _print_json(data) -> None:
    print(json.dumps(data, ensure_ascii=False, default=str), flush=True)


def _load_llm(svc, wanted: bool) -> None:
    if not wanted:
        return
    why_not = svc.load_llm()
    if why_not:
        _say(f"提示：{why_not.rstrip('。')}；“走访记录”一段由各栏内容直接拼成。")


def visit_note(
    text: str = typer.Argument(..., help="走访时随手记下的内容，例如“3/12 下午 去看了王阿婆 82岁 独居…”"),
    date: Optional[str] = typer.Option(None, "--date", help="走访日期（相对日期“昨天”“上周三”据此推算），默认今天"),
    as_json: bool = typer.Option(False, "--json", help="只在标准输出打印一个 JSON 对象"),
    suggest: bool = typer.Option(False, "--suggest", help="同时从知识库找相关政策、手册和相似案例（带出处）"),
    save: bool = typer.Option(False, "--save", help="存入走访台账"),
    community: Optional[str] = typer.Option(None, "--community", help="存入哪个社区的台账（与 --save 同用）"),
    llm: bool = typer.Option(True, "--llm/--no-llm", help="用本地大模型写“走访记录”一段（默认用）"),
) -> None:
    """把走访随手记整理成规范的走访记录（对象、类别、时间、方式、情况、问题、风险等级、需求、措施、跟进、转介）。"""
    svc, user = local()
    _load_llm(svc, llm)
    record = svc.visit_note(user, text, date)
    data = record.to_json()
    if suggest:
        data["知识建议"] = [s.to_json() for s in svc.visit_suggestions(user, record)]
    if save:
        visit_id = svc.save_visit(user, text, record.visit_date, None, community, record=record)  # as printed
        _say(f"已存入台账，走访编号 {visit_id}")
    if as_json:
        _print_json(data)
        return
    for label, value in svc.record_lines(data):
        typer.echo(f"{label}：{value}")
    if record.removed:
        typer.secho("已删除的无依据内容：" + "；".join(record.removed), fg=typer.colors.YELLOW)
    for s in data.get("知识建议", []):
        typer.echo(f"[{s['编号']}] {s['针对']} → {s['标题']} · {s['位置']}：{s['摘录']}")


def visit_rules(edit: bool = typer.Option(False, "--edit", help="在数据目录里放一份可修改的规则（已有则不动），打印其路径")) -> None:
    """查看当前生效的走访风险等级规则文件（督导可以复制后修改）。"""
    svc, user = local()
    path = svc.risk_rules_file(user, for_editing=edit)
    _say(f"当前生效的风险规则：{path}")
    typer.echo(path.read_text(encoding="utf-8"))


def summary(
    year: int = typer.Option(..., "--year", help="年份，例如 2026"),
    docx: Optional[Path] = typer.Option(None, "--docx", help="写成 Word 文件（含统计表和图表）"),
    community: Optional[str] = typer.Option(None, "--community", help="只统计这个社区（默认全部）"),
    as_json: bool = typer.Option(False, "--json", help="只在标准输出打印统计和总结的 JSON"),
    llm: bool = typer.Option(True, "--llm/--no-llm", help="用本地大模型写年度工作总结（数字都会核对）"),
) -> None:
    """一表做总结：从走访台账统计全年数据，写年度工作总结（可导出 Word）。"""
    svc, user = local()
    _load_llm(svc, llm)
    stats, text, removed = svc.year_summary(user, year, community)
    if docx:
        _say(f"已写入 {svc.summary_docx(user, year, docx, community, text=text)}")
    if as_json:
        _print_json({"统计": stats.to_json(), "年度工作总结": text, "已删除的无依据内容": removed})
        return
    typer.echo(text)
    typer.echo("")
    typer.echo(stats.facts())
    for r in removed:
        typer.secho(f"已删除：{r}", fg=typer.colors.YELLOW, err=True)


@ledger_app.command("import")
def ledger_import(
    path: Path = typer.Argument(..., help="花名册 .xlsx 或 .csv（第一行是列名，至少有“姓名”）"),
    community: str = typer.Option(..., "--community", help="导入到哪个社区"),
) -> None:
    """导入居民花名册：校验身份证号和电话，好的行导入，有问题的行列出原因。"""
    svc, user = local()
    report = svc.import_roster(user, path, community)
    typer.echo(report.summary())


@ledger_app.command("queries")
def ledger_queries() -> None:
    """列出可用的命名查询。"""
    svc, _user = local()
    for name in svc.named_queries():
        typer.echo(name)


@ledger_app.command("query")
def ledger_query(
    question: str = typer.Argument(..., help="命名查询（见 shegong ledger queries）或一句话，例如“一年没走访的残疾人”"),
    community: Optional[str] = typer.Option(None, "--community"),
    today: Optional[str] = typer.Option(None, "--today", help="按哪一天算（默认今天）"),
    as_json: bool = typer.Option(False, "--json"),
    out: Optional[Path] = typer.Option(None, "--export", help="把结果导出成 .xlsx 或 .docx"),
    full: bool = typer.Option(False, "--full", help="导出时不给身份证号和电话打码"),
) -> None:
    """查台账：未来三个月年满90岁的老人、半年未走访的独居老人、本月高风险对象……"""
    svc, user = local()
    result = svc.ledger_query(user, question, community, today)
    if out:
        _say(f"已导出 {svc.export_ledger(user, out, question, community, full=full, today=today)}")
    if as_json:
        _print_json({"查询": result.title, "条件": result.explanation, "列": result.columns, "行": result.rows})
        return
    typer.secho(f"{result.title}（{result.explanation}）：{len(result.rows)} 条", bold=True)
    typer.echo("　".join(result.columns))
    for row in result.rows:
        typer.echo("　".join("" if v is None else str(v) for v in row))


@ledger_app.command("visits")
def ledger_visits(
    year: Optional[int] = typer.Option(None, "--year"),
    community: Optional[str] = typer.Option(None, "--community"),
) -> None:
    """列出台账里的走访记录。"""
    svc, user = local()
    for v in svc.visits(user, community, year):
        typer.echo(f"{v['id']:>5}  {v['visit_date']}  {v['community']}  {v['subject'] or '（未写）'}  风险{v['risk']}"
                   f"{'（已处理）' if v['resolved'] else ''}  {v['flags']}")


@ledger_app.command("resolve")
def ledger_resolve(visit_id: int = typer.Argument(...), undo: bool = typer.Option(False, "--undo")) -> None:
    """把一次走访发现的风险标记为已处理（年度总结里计入“已处理”）。"""
    svc, user = local()
    svc.set_visit_resolved(user, visit_id, not undo)
    typer.echo(f"走访 {visit_id} 已标记为{'未处理' if undo else '已处理'}")


@ledger_app.command("export")
def ledger_export(
    path: Path = typer.Argument(..., help=".xlsx 或 .docx"),
    visit: Optional[int] = typer.Option(None, "--visit", help="只导出这一次走访的走访记录表"),
    community: Optional[str] = typer.Option(None, "--community"),
    full: bool = typer.Option(False, "--full", help="不给身份证号和电话打码（请妥善保管导出的文件）"),
) -> None:
    """导出居民台账或一次走访的记录表（身份证号、电话默认打码）。"""
    svc, user = local()
    if visit is not None:
        done = svc.export_visit(user, visit, path, full=full)
    else:
        done = svc.export_ledger(user, path, None, community, full=full)
    typer.echo(f"已导出 {done}")


@ledger_app.command("community")
def ledger_community(
    username: str = typer.Argument(..., help="账号"),
    community: str = typer.Argument(..., help="社区名称：该账号只能查看和填写这个社区的台账"),
) -> None:
    """设置账号所属的社区。"""
    svc, user = local()
    svc.set_user_community(user, username, community)
    typer.echo(f"账号「{username}」所属社区：{community}")
