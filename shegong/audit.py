"""The audit trail, in ``$SHEGONG_HOME/logs/app.log`` whichever program acted (the app or the CLI).

One line per event, ``AUDIT <event> key=value ...``: failed and refused sign-ins (with the address),
permission refusals, accounts created, role changes, password changes and resets, account
deletions, sessions ended. Values come from users (a name typed at the sign-in page), so they are
quoted, stripped of control characters and cut short: a line can never pass for another.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from shegong.config import get_settings

log = logging.getLogger("shegong.audit")
log.setLevel(logging.INFO)

WARNINGS = {"login_failed", "login_throttled", "permission_denied", "upload_refused"}
MAX_VALUE = 64
_lock = threading.Lock()
_own: tuple[Path, logging.Handler] | None = None


def record(event: str, **fields) -> None:
    """Write one audit line. Empty values are left out."""
    try:
        _route()
    except OSError:  # the data directory cannot be written: the action itself still goes ahead
        pass
    text = " ".join(f"{key}={_value(value)}" for key, value in fields.items() if value not in ("", None))
    log.log(logging.WARNING if event in WARNINGS else logging.INFO, "AUDIT %s %s", event, text)


def _value(value) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in str(value))
    if len(text) > MAX_VALUE:
        text = text[:MAX_VALUE] + "…"
    return f'"{text}"' if not text or any(ch in text for ch in ' "=') else text


def _route() -> None:
    """Lines reach logs/app.log: through the app's own log handler, else through one of ours."""
    global _own
    target = Path(get_settings().home / "logs" / "app.log").absolute()
    handlers = logging.getLogger().handlers
    with _lock:
        if any(Path(getattr(h, "baseFilename", "") or ".").absolute() == target for h in handlers):
            if _own is not None:  # the app's handler writes there now
                log.removeHandler(_own[1])
                _own[1].close()
                _own = None
            return
        if _own is not None and _own[0] == target:
            return
        if _own is not None:  # another data directory (tests switch SHEGONG_HOME)
            log.removeHandler(_own[1])
            _own[1].close()
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handler = logging.FileHandler(target, encoding="utf-8", delay=True)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        _own = (target, handler)
