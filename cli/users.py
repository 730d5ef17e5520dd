"""Account commands: user add/list/role/passwd/remove."""

from __future__ import annotations

from typing import Optional

import typer

from cli.common import local

user_app = typer.Typer(help="账号管理", no_args_is_help=True)


@user_app.command("add")
def user_add(
    name: str = typer.Argument(..., help="用户名"),
    role: str = typer.Option("社工", "--role", help="社工 | 督导 | 学员 | 管理员"),
    password: Optional[str] = typer.Option(None, "--password", help="不给则自动生成并显示"),
) -> None:
    """新建账号。"""
    svc, user = local()
    new, pw = svc.add_user(user, name, role, password or "")
    typer.echo(f"已新建账号 {new.username}（{new.role}）" + ("" if password else f"，初始密码：{pw}"))


@user_app.command("list")
def user_list() -> None:
    """列出全部账号。"""
    svc, user = local()
    users = svc.list_users(user)
    if not users:
        typer.echo("还没有账号。首次启动网页版时会自动建立管理员账号，或运行 shegong user add 名字 --role 管理员")
    for u in users:
        typer.echo(f"{u.username}\t{u.role}\t建立于 {u.created_at}\t最近登录 {u.last_login or '从未'}")


@user_app.command("role")
def user_role(name: str = typer.Argument(...), role: str = typer.Argument(..., help="社工 | 督导 | 学员 | 管理员")) -> None:
    """修改账号的角色。"""
    svc, user = local()
    changed = svc.set_role(user, name, role)
    typer.echo(f"{changed.username} 的角色已改为 {changed.role}")


@user_app.command("passwd")
def user_passwd(name: str = typer.Argument(...),
                password: Optional[str] = typer.Option(None, "--password", help="不给则自动生成并显示")) -> None:
    """重置账号密码。"""
    svc, user = local()
    pw = svc.reset_password(user, name, password or "")
    typer.echo(f"已重置 {name} 的密码" + ("" if password else f"，新密码：{pw}"))


@user_app.command("remove")
def user_remove(name: str = typer.Argument(...), yes: bool = typer.Option(False, "--yes", "-y")) -> None:
    """删除账号。"""
    if not yes and not typer.confirm(f"确定删除账号「{name}」？"):
        raise typer.Exit(1)
    svc, user = local()
    svc.delete_user(user, name)
    typer.echo(f"已删除账号 {name}")
