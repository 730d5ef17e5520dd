"""Sessions and sign-in for the Gradio app: the one place that touches Gradio's internals.

Gradio 6.31 (gradio/routes.py) signs a user in at ``POST /login``: it calls the ``auth`` function
with the name and the password, then keeps ``app.tokens[token] = username`` for a random token it
puts in a cookie. Every route finds its user with ``app.tokens.get(token)`` (``get_current_user``),
and ``/logout`` deletes entries. The token never expires, and it names an account only by its name.

Here:
- ``SessionStore`` replaces ``app.tokens`` with a mapping that remembers, for each token, the account's
  uid and password epoch and when the session was last used. ``get`` answers only while the account
  still exists under that uid, its password has not changed (in the app or with the CLI: the epoch is
  read back from app.sqlite every few seconds) and the session has not been idle longer than
  ``session_idle_hours``; otherwise the session has ended.
- ``Guard`` is an ASGI middleware (given to FastAPI through ``launch(app_kwargs=...)``). It installs the
  store before the first request is served, notes each request's address for the sign-in throttle,
  and lets only the roles that may add files use Gradio's upload route, so nobody else can fill its
  cache.
- ``check_login`` is the ``auth`` function: the password check with back-off (service/logins.py), run
  in a small thread pool so that Argon2 never blocks the event loop for the other users.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import time
from collections.abc import Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from service import Service, accounts, logins
from shegong import audit
from shegong.config import get_settings

CLIENT_ADDRESS: contextvars.ContextVar[str] = contextvars.ContextVar("client_address", default="?")
RECHECK_S = 2.0  # how often a session's account is read back from app.sqlite
UPLOAD_PATH = "/gradio_api/upload"
UPLOAD_ACTION = "kb.write"

# Two threads: on the 2-core office PC a burst of sign-ins (or of guesses) then takes at most one core.
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sign-in")


@dataclass
class _Session:
    username: str
    key: tuple[str, int]  # (uid, password epoch) at sign-in
    last_seen: float
    checked: float


class SessionStore(MutableMapping):
    """``app.tokens`` for Gradio: token -> user name, for sessions that have not ended."""

    def __init__(self, idle_s: float | None = None, clock=time.monotonic, recheck_s: float = RECHECK_S):
        self.idle_s = idle_s if idle_s is not None else get_settings().session_idle_hours * 3600
        self.clock, self.recheck_s = clock, recheck_s
        self._sessions: dict[str, _Session] = {}

    # --- what Gradio calls
    def __getitem__(self, token: str) -> str:
        username = self.get(token)
        if username is None:
            raise KeyError(token)
        return username

    def get(self, token, default=None):
        session = self._sessions.get(token) if token else None
        if session is None:
            return default
        now = self.clock()
        why = None
        if now - session.last_seen > self.idle_s:
            why = "idle"
        elif now - session.checked > self.recheck_s:
            key = accounts.session_key(session.username)
            if key != session.key:
                why = "account_deleted" if key is None or key[0] != session.key[0] else "password_changed"
            session.checked = now
        if why:
            self._sessions.pop(token, None)
            audit.record("session_ended", user=session.username, reason=why)
            return default
        session.last_seen = now
        return session.username

    def __setitem__(self, token: str, username: str) -> None:
        key = accounts.session_key(username)
        if key is None:  # deleted between the password check and now
            return
        now = self.clock()
        self._sessions[token] = _Session(username, key, now, now)

    def __delitem__(self, token: str) -> None:
        del self._sessions[token]

    def __contains__(self, token) -> bool:
        return self.get(token) is not None

    def __iter__(self) -> Iterator[str]:
        # only sessions that have not ended: Gradio's /logout reads app.tokens[token] for each key
        return iter([token for token in list(self._sessions) if self.get(token) is not None])

    def __len__(self) -> int:
        return len(self._sessions)

    # --- ours
    def end_user(self, username: str, reason: str = "ended") -> int:
        """End every session of ``username`` now (the app's own deletions and password changes)."""
        tokens = [t for t, s in list(self._sessions.items()) if s.username == username]
        for token in tokens:
            self._sessions.pop(token, None)
        if tokens:
            audit.record("session_ended", user=username, reason=reason, sessions=len(tokens))
        return len(tokens)


def session_store(app) -> SessionStore:
    """The app's SessionStore, put in place of Gradio's plain dict (keeping any session in it)."""
    tokens = getattr(app, "tokens", None)
    if not isinstance(tokens, SessionStore):
        store = SessionStore()
        for token, username in dict(tokens or {}).items():
            store[token] = username
        app.tokens = tokens = store
    return tokens


def end_sessions(request, username: str, reason: str = "ended") -> int:
    """From an event handler (``gr.Request``): end every session of ``username`` in this app."""
    app = getattr(getattr(request, "request", None), "app", None)
    return session_store(app).end_user(username, reason) if app is not None else 0


def _user_of(scope, store: SessionStore) -> str | None:
    app = scope.get("app")
    cookie_id = getattr(app, "cookie_id", "")
    cookies = {}
    for name, value in scope.get("headers") or []:
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, val = part.strip().partition("=")
                cookies[key] = val
    token = cookies.get(f"access-token-{cookie_id}") or cookies.get(f"access-token-unsecure-{cookie_id}")
    return store.get(token)


class Guard:
    """ASGI middleware: sessions store in place, the request's address noted, uploads only for who may add files."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        store = session_store(scope["app"]) if "app" in scope else None
        address = (scope.get("client") or ("?",))[0]
        token = CLIENT_ADDRESS.set(address)
        try:
            path = scope.get("path", "")
            if store is not None and scope.get("method") == "POST" and path.rstrip("/").endswith(UPLOAD_PATH):
                username = _user_of(scope, store)
                user = accounts.get_user(username) if username else None
                if user is not None and not user.can(UPLOAD_ACTION):
                    try:
                        accounts.require(user, UPLOAD_ACTION)  # the refusal, in the audit trail and in Chinese
                    except Exception as refusal:
                        return await _refuse(send, 403, str(refusal))
            await self.app(scope, receive, send)
        finally:
            CLIENT_ADDRESS.reset(token)


async def _refuse(send, status: int, message: str) -> None:
    body = json.dumps({"detail": message}, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def check_login(username: str, password: str) -> bool:
    """Gradio's ``auth``: True to sign in; a throttled try gets its wait in Chinese (HTTP 400, which the
    sign-in page shows as wrong credentials and API clients show as the message)."""
    from fastapi import HTTPException

    address = CLIENT_ADDRESS.get()
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(_pool, Service.sign_in, username, password, address)
    except logins.LoginRefused as refused:
        if str(refused) == logins.WRONG:
            return False
        raise HTTPException(status_code=400, detail=str(refused)) from None
    return True


def middleware() -> list:
    """For ``Blocks.launch(app_kwargs={"middleware": middleware()})``."""
    from starlette.middleware import Middleware

    return [Middleware(Guard)]
