"""Starting the web app: the first 管理员, sign-in, Gradio's settings. ``python -m webapp`` runs ``main``."""

from __future__ import annotations

import gradio as gr
from starlette.middleware import Middleware

from service import Service, get_service
from shegong.config import get_settings
from shegong.logs import setup_logging
from webapp import build_app
from webapp import render as ui
from webapp.login_page import ChinesePages

AUTH_MESSAGE = "请使用社工助手账号登录。首次使用时，管理员密码见启动窗口或数据目录中的「初始管理员密码.txt」。"


def announce_initial_admin() -> None:
    """First run: create the 管理员 account and tell the person starting the app how to sign in."""
    admin = Service.ensure_admin()
    if admin is None:
        return
    line = "=" * 60
    if admin.password_file:
        print(f"\n{line}\n首次启动：已建立管理员账号\n  用户名：{admin.username}\n  密码：{admin.password}\n"
              f"  （密码也已保存在 {admin.password_file}）\n请登录后在「账号」页为同事建立账号。\n{line}\n", flush=True)
    else:
        print(f"\n{line}\n首次启动：已建立管理员账号 {admin.username}，"
              f"密码为环境变量 SHEGONG_ADMIN_PASSWORD 的值。\n{line}\n",
              flush=True)


def check_login(username: str, password: str) -> bool:
    return Service.sign_in(username, password) is not None


def launch(svc: Service | None = None, *, prevent_thread_lock: bool = False, **kwargs):
    """Build and launch the app; returns what ``Blocks.launch`` returns (app, local url, share url)."""
    settings = get_settings()
    announce_initial_admin()
    svc = svc or get_service().start()
    demo = build_app(svc)
    # The in-process model runs one generation at a time; an HTTP backend can take several.
    llm_slots = max(settings.app_concurrency, 8 if settings.llm_backend == "openai" else 1)
    demo.queue(default_concurrency_limit=llm_slots)
    options = dict(
        server_name=settings.app_host,
        server_port=settings.app_port,
        auth=check_login,
        auth_message=AUTH_MESSAGE,
        app_kwargs={"middleware": [Middleware(ChinesePages)]},
        show_error=False,
        # Gradio stops huge uploads early, in English; ours (at max_upload_mb) says why in Chinese, so
        # Gradio's cap sits far above it and only stops what is absurd for a disk (a 200 MB file gets ours).
        max_file_size=f"{max(settings.max_upload_mb * 10, 1024)}mb",
        footer_links=[],
        theme=gr.themes.Soft(),
        css=ui.CSS,
        head=ui.TOAST_HEAD,
        prevent_thread_lock=prevent_thread_lock,
        quiet=False,
    )
    options.update(kwargs)
    return demo, demo.launch(**options)


def main() -> None:
    setup_logging("app", console=True)
    launch()
