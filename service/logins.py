"""Signing in: the password check with a back-off after repeated failures, and the audit of each try.

Per account name and per address (the computer the sign-in came from), failures are counted. The
first ``free`` failures cost nothing; after that each one makes the next try wait, 30 s doubling up to
15 min, and a try during the wait is refused without checking the password (an attacker on the office
LAN can neither guess quickly nor make the server hash passwords for him). A success clears the
account's count and the address's. Counts are forgotten an hour after the last failure.

Every failed or refused try is in the audit trail (logs/app.log) with the name and the address.
The password check itself (Argon2, ~0.2 s of CPU) must not run on the web server's event loop: the
web app calls ``sign_in`` in a thread pool.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from service import accounts
from shegong import audit
from service.accounts import User
from shegong.errors import UserError

WRONG = "用户名或密码不正确"


class LoginRefused(UserError):
    """Wrong name or password, or too many failures: ``str()`` says which, in Chinese."""


@dataclass
class _Count:
    failures: int = 0
    last: float = 0.0
    until: float = 0.0  # no tries before this time


class Throttle:
    def __init__(self, *, free_per_account: int = 5, free_per_address: int = 20, first_wait: float = 30.0,
                 max_wait: float = 900.0, forget_after: float = 3600.0, max_keys: int = 10_000, clock=time.monotonic):
        self.free = {"user": free_per_account, "addr": free_per_address}
        self.first_wait, self.max_wait, self.forget_after = first_wait, max_wait, forget_after
        self.max_keys, self.clock = max_keys, clock
        self._counts: OrderedDict[tuple[str, str], _Count] = OrderedDict()
        self._lock = threading.Lock()

    def _get(self, key: tuple[str, str], now: float) -> _Count | None:
        count = self._counts.get(key)
        if count is not None and now - count.last > self.forget_after:
            del self._counts[key]
            return None
        return count

    def wait(self, username: str, address: str) -> float:
        """Seconds before the next try may be checked (0: now)."""
        now = self.clock()
        with self._lock:
            waits = [c.until - now for key in _keys(username, address) if (c := self._get(key, now))]
        return max([0.0, *waits])

    def failed(self, username: str, address: str) -> int:
        """Count a failure; returns the account name's failures so far."""
        now = self.clock()
        with self._lock:
            for key in _keys(username, address):
                count = self._get(key, now) or _Count()
                count.failures += 1
                count.last = now
                over = count.failures - self.free[key[0]]
                if over >= 0:
                    count.until = now + min(self.max_wait, self.first_wait * 2 ** over)
                self._counts[key] = count
                self._counts.move_to_end(key)
            while len(self._counts) > self.max_keys:  # names sprayed at random must not fill the memory
                self._counts.popitem(last=False)
            return self._counts[("user", _name(username))].failures

    def succeeded(self, username: str, address: str) -> None:
        with self._lock:
            for key in _keys(username, address):
                self._counts.pop(key, None)


def _name(username: str) -> str:
    return (username or "").strip()


def _keys(username: str, address: str) -> list[tuple[str, str]]:
    return [("user", _name(username)), ("addr", address or "?")]


def wait_text(seconds: float) -> str:
    seconds = max(1, round(seconds))
    return f"{seconds} 秒" if seconds < 60 else f"{round(seconds / 60)} 分钟"


THROTTLE = Throttle()


def sign_in(username: str, password: str, address: str, throttle: Throttle = THROTTLE) -> User:
    """The account, or LoginRefused. Blocking (Argon2): call it from a worker thread in a server."""
    wait = throttle.wait(username, address)
    if wait > 0:
        audit.record("login_throttled", user=_name(username), address=address, wait_s=round(wait))
        raise LoginRefused(f"登录失败次数过多，请 {wait_text(wait)}后再试")
    user = accounts.authenticate(username, password)
    if user is None:
        failures = throttle.failed(username, address)
        audit.record("login_failed", user=_name(username), address=address, failures=failures)
        raise LoginRefused(WRONG)
    throttle.succeeded(username, address)
    audit.record("login", user=user.username, address=address)
    return user
