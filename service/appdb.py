"""The app's own database, ``$SHEGONG_HOME/app.sqlite``: accounts, conversations, feedback.

Every call opens a short-lived connection, so it is safe from any thread.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing, contextmanager
from collections.abc import Iterator

from shegong.config import get_settings
from shegong.errors import UserError

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_login TEXT
);
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    title TEXT NOT NULL,
    mode TEXT NOT NULL,
    messages TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_user ON conversations(username, updated_at);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    conversation_id TEXT,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL,
    rating INTEGER NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
"""


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


@contextmanager
def connect() -> Iterator[sqlite3.Connection]:
    """A connection inside one transaction (committed on success, rolled back on error)."""
    path = get_settings().app_db
    try:
        conn = sqlite3.connect(path, timeout=10)
    except sqlite3.Error as e:
        raise UserError(f"无法打开账号数据库：{path}（{e}）") from e
    with closing(conn):
        conn.row_factory = sqlite3.Row
        conn.executescript(SCHEMA)
        with conn:
            yield conn
