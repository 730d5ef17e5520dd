"""题库练习 commands: drill import/export/list, practice/review/exam at the terminal, progress, and the
generated questions' queue (generate, drafts, approve, reject). All through the service, as the local
system user (a 管理员 of this computer): its practice history is its own, apart from every account's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from cli.common import fail, local
from service.drills import NO_SUBJECT, SUBJECTS, TYPE_LABELS, ExamClosed

drill_app = typer.Typer(help="题库练习：导入导出题库、练习、模拟考试、生成题目与审核", no_args_is_help=True)
QUIT = {"q", "quit", "exit", "退出"}


@drill_app.command("import")
def drill_import(file: Path = typer.Argument(..., help="题库文件：.jsonl、.csv 或 .xlsx（格式见 README）"),
                 replace: bool = typer.Option(False, "--replace", help="题号已存在而内容不同时，用文件里的版本覆盖")) -> None:
    """导入题库：有问题的行逐行报告原因，其余照常导入。"""
    svc, user = local()
    report = svc.drill_import(user, file, replace=replace)
    typer.echo(report.summary())
    if report.problems and not report.imported and not report.unchanged:
        raise typer.Exit(1)


@drill_app.command("export")
def drill_export(file: Path = typer.Argument(..., help="导出到：.jsonl、.csv 或 .xlsx"),
                 subject: Optional[str] = typer.Option(None, "--subject", help="只导出这个科目"),
                 tag: Optional[str] = typer.Option(None, "--tag", help="只导出带这个标签的题")) -> None:
    """导出题库（格式与导入相同）。"""
    svc, user = local()
    n = svc.drill_export(user, file, subject, tag)
    typer.echo(f"已导出 {n} 道题到 {file}")


@drill_app.command("list")
def drill_list() -> None:
    """题库概况：各科目题数和标签。"""
    svc, user = local()
    for subject, tags in svc.drill_catalogue(user).items():
        named = "、".join(f"{t}（{n}）" for t, n in sorted(tags.items(), key=lambda kv: -kv[1]) if t)
        typer.echo(f"{subject}：{tags['']} 题\n  标签：{named or '无'}")


def _ask(question, position: int, total: int, prompt: str = "你的答案（字母，q 退出）") -> str:
    typer.echo(f"\n第 {position + 1}/{total} 题 · {TYPE_LABELS[question.type]} · {question.subject or NO_SUBJECT}")
    typer.echo(question.stem)
    for ch, text in question.options.items():
        typer.echo(f"  {ch}. {text}")
    return typer.prompt(prompt, default="", show_default=False).strip()


def _drive_round(svc, user, view) -> None:
    """Ask each question of a practice or review round, with the feedback after each answer."""
    while not view.finished and view.question is not None:
        letters = _ask(view.question, view.position, view.total)
        if letters.lower() in QUIT:
            typer.echo("已暂停，下次用 shegong drill practice --resume 接着做")
            return
        if not letters:
            continue
        fb = svc.drill_answer(user, view.id, view.question.id, letters)
        verdict = {"正确": "✓ 回答正确", "错误": "✗ 回答错误", "不完全正确": "△ 不完全正确（少选）"}.get(fb.mark.verdict, "")
        typer.echo(f"{verdict}，正确答案：{fb.question.answer}\n解析：{fb.question.explanation}")
        if fb.review_note:
            typer.echo(fb.review_note)
        for c in fb.related:
            typer.echo(f"  相关依据：《{c['title']}》{c['location']}：{c['excerpt'][:80]}")
        view = svc.drill_view(user, view.id)
    typer.echo(f"\n本次练习完成，共 {view.total} 题。")


@drill_app.command("practice")
def drill_practice(subject: Optional[str] = typer.Option(None, "--subject", help=f"科目：{'、'.join(SUBJECTS)}"),
                   tag: Optional[str] = typer.Option(None, "--tag", help="标签，如 老年人权益保障法"),
                   random_order: bool = typer.Option(False, "--random", help="随机顺序（默认按题库顺序）"),
                   limit: Optional[int] = typer.Option(None, "--limit", help="只做 N 题"),
                   resume: bool = typer.Option(False, "--resume", help="接着做上次没做完的练习")) -> None:
    """在终端练习：每答一题显示对错、解析和相关依据；答错的题进入错题本。"""
    svc, user = local()
    if resume:
        view = svc.drill_resume(user)
        if view is None or view.kind == "exam":
            fail("没有未完成的练习")
    else:
        view = svc.drill_start(user, subject=subject, tag=tag, order="random" if random_order else "sequential",
                               limit=limit)
    typer.echo(view.title)
    _drive_round(svc, user, view)


@drill_app.command("review")
def drill_review() -> None:
    """错题复习：今天到期的错题。"""
    svc, user = local()
    view = svc.drill_start_review(user)
    typer.echo(view.title)
    _drive_round(svc, user, view)


@drill_app.command("exam")
def drill_exam(per_subject: int = typer.Option(20, "--per-subject", help="每科题数"),
               minutes: Optional[float] = typer.Option(None, "--minutes", help="限时（分钟），默认每题 1.5 分钟"),
               subject: Optional[list[str]] = typer.Option(None, "--subject", help="考试科目（可写多次），默认三科")) -> None:
    """模拟考试：按真实考试计分，时间到自动交卷，交卷后逐题显示答案和解析。"""
    svc, user = local()
    view, notes = svc.exam_start(user, per_subject=per_subject, minutes=minutes, subjects=subject)
    for note in notes:
        typer.echo(f"提示：{note}")
    typer.echo(f"{view.title}，{view.deadline:%H:%M} 自动交卷。直接回车跳过一题。")
    for index in range(view.total):
        view = svc.exam_view(user, view.id, index)
        if view.finished:
            break
        letters = _ask(view.question, index, view.total, "你的答案（字母，回车跳过，q 交卷）")
        if letters.lower() in QUIT:
            break
        if letters:
            try:
                svc.exam_answer(user, view.id, view.question.id, letters)
            except ExamClosed as e:
                typer.echo(str(e))
                break
    report = svc.exam_submit(user, view.id)
    typer.echo("\n成绩（单选 1 分；多选 2 分，错选不得分，少选每个正确选项 0.5 分；百分制 60 分及格）：")
    for s in report.result["subjects"]:
        typer.echo(f"  {s['subject']}：{s['points']:g}/{s['max_points']:g} 分，百分制 {s['score']:g}，"
                   f"{'及格' if s['passed'] else '未及格'}")
    for i, item in enumerate(report.items, 1):
        typer.echo(f"\n{i}. [{item.mark.verdict} {item.mark.points:g}/{item.mark.max_points:g}] {item.question.stem}\n"
                   f"   你的答案：{item.mark.chosen or '未作答'}，正确答案：{item.question.answer}\n"
                   f"   解析：{item.question.explanation}")


@drill_app.command("progress")
def drill_progress() -> None:
    """练习进度：正确率（按科目、按标签）和错题本。"""
    svc, user = local()
    p = svc.drill_progress(user)
    typer.echo(f"累计答题 {p.total.answered} 道，答对 {p.total.right} 道，正确率 {p.total.accuracy:.0%}；"
               f"错题本 {p.wrong_active} 道（今天该复习 {p.wrong_due} 道），已掌握 {p.mastered} 道")
    for kind, label in (("subject", "按科目"), ("tag", "按标签")):
        rows = p.rows(kind)
        if rows:
            typer.echo(label + "：" + "；".join(f"{name} {right}/{n}（{acc:g}%）" for name, n, right, acc in rows[:15]))


@drill_app.command("generate")
def drill_generate(tag: Optional[str] = typer.Option(None, "--tag", help="标签：法律名称或主题，如 老年人权益保障法"),
                   kb: Optional[str] = typer.Option(None, "--kb", help="知识库名称（与 --doc 同用）"),
                   doc: Optional[int] = typer.Option(None, "--doc", help="文档编号（shegong kb list 知识库 可查）"),
                   n: int = typer.Option(3, "-n", help="题数（1–10）"),
                   kind: str = typer.Option("single", "--kind", help="single 单选 | multiple 多选")) -> None:
    """用本地大模型从知识库段落生成题目，自动检查后进入审核队列（审核通过才入库）。"""
    svc, user = local()
    if svc.load_llm():
        fail(svc.llm_task.message)  # already says why: 大模型不可用：… / 大模型在这台电脑上无法运行：…
    drafts = svc.drill_generate(user, kb=kb, doc_id=doc, tag=tag or "", n=n, kind=kind,
                                progress=lambda frac, msg: typer.echo(msg, err=True))
    for d in drafts:
        typer.echo(f"[{d.id}] {d.status_label}：{d.record.get('stem', '')}（{d.passage.label()}）")
        for p in d.problems:
            typer.echo(f"    ✗ {p}")


@drill_app.command("drafts")
def drill_drafts(status: str = typer.Option("pending", "--status", help="pending 待审核 | failed 未通过检查 | "
                                                                         "approved 已入库 | rejected 已退回")) -> None:
    """查看生成题的审核队列。"""
    svc, user = local()
    drafts = svc.drill_drafts(user, status)
    if not drafts:
        typer.echo("没有这种状态的生成题")
    for d in drafts:
        options = "  ".join(f"{ch}. {t}" for ch, t in d.record.get("options", {}).items())
        typer.echo(f"[{d.id}] {d.status_label}：{d.record.get('stem', '')}\n    {options}\n"
                   f"    答案：{d.record.get('answer', '')}  来源：{d.passage.label()}")
        for p in d.problems:
            typer.echo(f"    ✗ {p}")


@drill_app.command("approve")
def drill_approve(draft_id: int = typer.Argument(..., help="生成题编号")) -> None:
    """生成题入库（只有通过检查、待审核的题可以入库）。"""
    svc, user = local()
    q = svc.drill_approve(user, draft_id)
    typer.echo(f"已入库，题号 {q.id}")


@drill_app.command("reject")
def drill_reject(draft_id: int = typer.Argument(..., help="生成题编号"),
                 note: str = typer.Option("", "--note", help="退回原因")) -> None:
    """退回生成题。"""
    svc, user = local()
    svc.drill_reject(user, draft_id, note)
    typer.echo(f"已退回生成题 {draft_id}")
