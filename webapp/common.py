"""What every tab shares: who is asking, and how errors reach the screen."""

from __future__ import annotations

import functools
import inspect
import logging
import sqlite3

import gradio as gr

from service import Service, User
from shegong.errors import UserError, database_error
from webapp import render as ui

log = logging.getLogger("webapp")

GENERIC_ERROR = "系统出错，请联系管理员（详情已记入日志）"


def current_user(svc: Service, request: gr.Request | None) -> User:
    """The signed-in account: Gradio's ``auth=`` puts its name on every request (API calls too)."""
    return svc.user(request.username if request else None)


def _as_gr_error(exc: Exception) -> gr.Error:
    if isinstance(exc, gr.Error):
        return exc
    if isinstance(exc, sqlite3.Error):  # a damaged or busy KB file
        exc = database_error(exc)
    if isinstance(exc, UserError):
        return gr.Error(ui.esc(str(exc)), title="无法完成", print_exception=False)
    log.exception("unexpected error in a handler")
    return gr.Error(GENERIC_ERROR, title="出错了", print_exception=False)


def guarded(fn):
    """UserError -> its Chinese message; anything else -> logged, generic message, no stack trace."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as e:
                raise _as_gr_error(e) from None
        return gen

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            raise _as_gr_error(e) from None
    return call
