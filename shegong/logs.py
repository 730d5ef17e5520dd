"""Where log lines go: ``$SHEGONG_HOME/logs/<name>.log``, plus the console for the app (whoever started it
watches that window) or with SHEGONG_DEBUG=1. Log lines may be English library text; users read the
Chinese messages, administrators read the log ("详情已记入日志")."""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from shegong.config import get_settings, private_files


def setup_logging(name: str, *, console: bool) -> Path | None:
    """Returns the log file, or None when the data directory cannot be written (the command still runs)."""
    private_files()  # every program that logs is one of ours starting: its files are for its owner only
    handlers: list[logging.Handler] = [logging.StreamHandler()] if console else []
    path = None
    try:
        log_dir = get_settings().home / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        path = log_dir / f"{name}.log"
        handlers.append(RotatingFileHandler(path, maxBytes=5_000_000, backupCount=3, encoding="utf-8"))
    except OSError:
        path = None
    # Without any handler Python prints warnings to stderr in English; a NullHandler keeps them off the screen.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        handlers=handlers or [logging.NullHandler()])
    for noisy in ("httpx", "bm25s", "jieba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path
