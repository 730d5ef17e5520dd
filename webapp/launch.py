"""Starting the web app: the first 管理员, sign-in, Gradio's settings. ``python -m webapp`` runs ``main``."""

from __future__ import annotations

import os

import gradio as gr
from starlette.middleware import Middleware

from service import Service, get_service
from shegong.config import get_settings
from shegong.logs import setup_logging
from webapp import build_app
from webapp import render as ui
from webapp.login_page import ChinesePages
from webapp.sessions import check_login
from webapp.sessions import middleware as session_middleware

AUTH_MESSAGE = ("请使用社工助手账号登录。首次使用时，管理员密码在数据目录中的「初始管理员密码.txt」里。"
                "连续输错 5 次后需等待一段时间才能再试。")


def announce_initial_admin() -> None:
    """First run: create the 管理员 account and tell the person starting the app where its password is."""
    admin = Service.ensure_admin()
    if admin is not None:
        print(admin.announcement(), flush=True)


def server_address(settings) -> tuple[str, int]:
    """Where to listen: GRADIO_SERVER_NAME / GRADIO_SERVER_PORT when set, as users of Gradio expect (they win
    over app_host / app_port), else the app's settings."""
    name = os.environ.get("GRADIO_SERVER_NAME") or settings.app_host
    port = os.environ.get("GRADIO_SERVER_PORT")
    return name, int(port) if port else settings.app_port


def launch(svc: Service | None = None, *, prevent_thread_lock: bool = False, **kwargs):
    """Build and launch the app; returns what ``Blocks.launch`` returns (app, local url, share url)."""
    settings = get_settings()
    announce_initial_admin()
    svc = svc or get_service().start()
    demo = build_app(svc)
    # The in-process model runs one generation at a time; an HTTP backend can take several.
    llm_slots = max(settings.app_concurrency, 8 if settings.llm_backend == "openai" else 1)
    demo.queue(default_concurrency_limit=llm_slots)
    server_name, server_port = server_address(settings)
    options = dict(
        server_name=server_name,
        server_port=server_port,
        auth=check_login,  # with back-off, in a thread pool (webapp/sessions.py)
        auth_message=AUTH_MESSAGE,
        # sessions that end, sign-in addresses, uploads only for who may add files (webapp/sessions.py)
        app_kwargs={"middleware": [Middleware(ChinesePages), *session_middleware()]},
        show_error=False,
        # Gradio's own cap is the app's: nobody can park bigger files in its cache (its message is English;
        # the upload form says the limit in Chinese).
        max_file_size=f"{settings.max_upload_mb}mb",
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
