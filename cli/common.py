"""What every command group needs: the service as this computer's system user, KB references, failing."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from service import SYSTEM_USER, Service, User


def fail(msg: str) -> None:
    typer.secho(msg, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def local() -> tuple[Service, User]:
    """A service for this command, and the user the CLI acts as: whoever runs `shegong` here is its 管理员.
    (Cheap: the service opens the library, shared per data directory, only when a command needs it.)"""
    return Service(), SYSTEM_USER


def is_path(kb: str) -> bool:
    return "/" in kb or "\\" in kb or kb.startswith(".")


def kb_ref(kb: str) -> str | Path:
    """``--kb`` is a KB name under the data dir, or a directory path."""
    return Path(kb) if is_path(kb) else kb


def install_defaults() -> None:
    """The bundled samples and default laws, with a progress bar on stderr."""
    from tqdm import tqdm

    svc, user = local()
    with tqdm(total=100, desc="建立知识库", unit="%", file=sys.stderr) as bar:
        def progress(frac: float, msg: str) -> None:
            bar.set_postfix_str(msg)
            bar.n = int(frac * 100)
            bar.refresh()

        results = svc.install_defaults(user, progress)
    for r in results:
        if r.status == "error":
            typer.echo(r.summary(), err=True)


def kbs_to_search(kb: list[str] | None):
    """The KBs ``--kb`` names, or all of them (set up on first use; those that do not open are named)."""
    svc, user = local()
    if kb:
        return svc.open_kbs(user, [kb_ref(k) for k in kb])
    if svc.library.needs_setup():
        typer.echo("首次使用：正在建立默认知识库（示例资料 + 常用法律）……", err=True)
        install_defaults()
    kbs = svc.open_kbs(user)
    for name, why in svc.library.broken.items():
        typer.secho(f"提示：知识库「{name}」打不开，这次没有搜索它。{why}", fg=typer.colors.YELLOW, err=True)
    if not kbs and svc.library.broken:
        fail("没有可以检索的知识库（原因见上面的提示）。")
    return kbs
