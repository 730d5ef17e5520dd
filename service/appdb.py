"""The app's own database, ``$SHEGONG_HOME/app.sqlite``: accounts, conversations, feedback.

Every call opens a short-lived connection, so it is safe from any thread. The file is created
readable by its owner only (it holds password hashes and every conversation).

Accounts are known by ``uid``, a random id that is never reused; conversations and feedback belong to
a uid, so a name deleted and created again starts empty. ``session_epoch`` goes up with every
password change: a session signed in under an older epoch has ended.
"""

from __future__ import annotations

import os
import secrets
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
    last_login TEXT,
    uid TEXT,
    session_epoch INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL,  -- the name when it was written; the owner is user_uid
    user_uid TEXT,
    title TEXT NOT NULL,
    mode TEXT NOT NULL,
    messages TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    user_uid TEXT,
    conversation_id TEXT,
    turn INTEGER,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL,
    rating INTEGER NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
"""

# Columns added after the first release, to tables an existing app.sqlite already has.
_ADDED = (("users", "uid", "TEXT"), ("users", "session_epoch", "INTEGER NOT NULL DEFAULT 0"),
          ("conversations", "user_uid", "TEXT"), ("feedback", "user_uid", "TEXT"), ("feedback", "turn", "INTEGER"))
INDEXES = """
CREATE UNIQUE INDEX IF NOT EXISTS users_uid ON users(uid);
CREATE INDEX IF NOT EXISTS conversations_owner ON conversations(user_uid, updated_at);
"""


def new_uid() -> str:
    return secrets.token_hex(16)


def _migrate(conn: sqlite3.Connection) -> None:
    """Add the newer columns to an older app.sqlite and fill them in.

    A conversation or feedback row from before uids belongs to its name's account only if that account
    already existed when the row was written; an older row was a deleted predecessor's and stays with
    nobody ("gone:<name>" matches no uid).
    """
    added = False
    for table, column, definition in _ADDED:
        if column not in {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
            added = True
    if added:
        for (row_id,) in conn.execute("SELECT id FROM users WHERE uid IS NULL").fetchall():
            conn.execute("UPDATE users SET uid=? WHERE id=?", (new_uid(), row_id))
        for table in ("conversations", "feedback"):
            conn.execute(f"UPDATE {table} SET user_uid = COALESCE((SELECT u.uid FROM users u WHERE u.username = "
                         f"{table}.username AND u.created_at <= {table}.created_at), 'gone:' || {table}.username) "
                         "WHERE user_uid IS NULL")
        conn.commit()
    conn.executescript(INDEXES)


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


@contextmanager
def connect() -> Iterator[sqlite3.Connection]:
    """A connection inside one transaction (committed on success, rolled back on error)."""
    path = get_settings().app_db
    new = not path.exists()
    try:
        conn = sqlite3.connect(path, timeout=10)
    except sqlite3.Error as e:
        raise UserError(f"无法打开账号数据库：{path}（{e}）") from e
    with closing(conn):
        if new:
            os.chmod(path, 0o600)  # before anything is written to it (SQLite gives its journal the same mode)
        conn.row_factory = sqlite3.Row
        conn.executescript(SCHEMA)
        _migrate(conn)
        with conn:
            yield conn
