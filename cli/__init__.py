"""The ``shegong`` command line: one module per command group, each a thin layer over the service.

    cli/kbs.py      setup, ingest, kb list/remove/stats, laws import/list
    cli/asking.py   search, ask
    cli/users.py    user add/list/role/passwd/remove
    cli/models.py   models assemble/status
    cli/evals.py    eval retrieval/answers/calibrate (the eval harness)
    cli/errors.py   Chinese messages for what goes wrong

Every command but eval acts through the service as SYSTEM_USER, so the CLI and the web app
route files, search and answer the same way.
"""

from __future__ import annotations

import logging
import os
import sys

import typer

from cli import asking, kbs, users
from cli.errors import explain, usage_error
from cli.evals import eval_app
from cli.models import models_app
from shegong.errors import UserError
from shegong.logs import setup_logging

app = typer.Typer(help="社工助手：本地知识库检索与问答", no_args_is_help=True, add_completion=False)
app.command()(kbs.setup)
app.command()(kbs.ingest)
app.command()(asking.search)
app.command()(asking.ask)
app.add_typer(kbs.kb_app, name="kb")
app.add_typer(kbs.laws_app, name="laws")
app.add_typer(eval_app, name="eval")
app.add_typer(models_app, name="models")
app.add_typer(users.user_app, name="user")


@app.command("app")
def run_app() -> None:
    """启动网页版（与 python app.py 相同）。"""
    # The web app replaces this process: the two front ends share the service, never each other's code.
    os.execv(sys.executable, [sys.executable, "-m", "webapp"])


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
            logging.getLogger("cli").exception("unexpected error")  # the traceback, for the log only
        typer.secho(explain(e), fg=typer.colors.RED, err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["app", "explain", "main", "usage_error"]
