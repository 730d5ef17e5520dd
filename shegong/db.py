"""The app's relational database, through SQLAlchemy Core.

Accounts-independent feature tables (visit ledger, dispatch records, drills) live here.
By default this is ``$SHEGONG_HOME/app.sqlite``; a district server sets
``SHEGONG_DATABASE_URL`` (e.g. ``postgresql+psycopg://user:pw@host/shegong``).
Feature code defines its tables on its own ``MetaData`` and calls ``ensure_tables``;
it uses only portable SQLAlchemy constructs, never SQLite-only SQL, and
tests/test_db_portability.py runs the stores on PostgreSQL as well.
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine, MetaData, create_engine, event

from shegong.config import get_settings
from shegong.errors import UserError

_engines: dict[str, Engine] = {}
_created: set[tuple[str, int]] = set()
_lock = threading.Lock()


def database_url() -> str:
    settings = get_settings()
    return settings.database_url or f"sqlite:///{settings.home / 'app.sqlite'}"


def get_engine(url: str | None = None) -> Engine:
    """One engine (with its connection pool) per database URL."""
    url = url or database_url()
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = _make_engine(url)
        return engine


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn, _record):  # SQLite leaves foreign keys off unless asked, per connection
            conn.execute("PRAGMA foreign_keys=ON")

        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except Exception as e:  # a missing driver or a malformed URL
        raise UserError(f"数据库地址无法使用：{url.split('@')[-1]}（{type(e).__name__}）") from e


def ensure_tables(metadata: MetaData, url: str | None = None) -> Engine:
    """The engine, with ``metadata``'s tables created once per process (CREATE ... IF NOT EXISTS)."""
    engine = get_engine(url)
    key = (str(engine.url), id(metadata))
    if key not in _created:
        metadata.create_all(engine)
        _created.add(key)
    return engine


def dispose_engines() -> None:
    """Close every pool (tests switch SHEGONG_HOME between tests)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _created.clear()
