"""Errors that carry a message meant for the user (plain Simplified Chinese).

Everything the CLI or the app shows to a person is a ``UserError``; any other
exception is a bug and is logged, never shown as a stack trace.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


class UserError(Exception):
    """A problem the user can understand and act on. ``str(err)`` is Chinese."""


class UnsupportedFile(UserError):
    pass


class BadDocument(UserError):
    """The file could not be read (corrupt, encrypted, empty, no text...)."""


class EmbedderMismatch(UserError):
    pass


class ModelUnavailable(UserError):
    """The LLM (or its weights) cannot be used right now."""


class PermissionDenied(UserError):
    pass


BUSY = "知识库正被另一个程序使用"


def database_error(e: sqlite3.Error, where: Path | str = "") -> UserError:
    """A Chinese message for a knowledge base's SQLite error: busy (another program is writing) is not damage."""
    place = f"：{where}" if where else ""
    if "locked" in str(e) or "busy" in str(e):
        return UserError(f"{BUSY}（例如正在导入文件）{place}。请等它完成后再试。")
    return UserError(f"知识库文件已损坏，无法读取{place}（{e}）。"
                     "可以用 shegong kb remove 删除这个知识库后重新导入文件。")


class ImportCancelled(UserError):
    """The person who started an import cancelled it; nothing was added."""
