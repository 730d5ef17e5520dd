"""Sign-in back-off and sessions that end when they should (the logic; tests/test_app_http.py drives it over HTTP)."""

from __future__ import annotations

import pytest

from service import accounts, logins
from service.logins import LoginRefused, Throttle, sign_in
from webapp.sessions import SessionStore

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def checked(monkeypatch):
    """Counts the password checks that really ran (Argon2)."""
    calls = []
    real = accounts.authenticate

    def authenticate(username, password):
        calls.append(username)
        return real(username, password)
    monkeypatch.setattr(accounts, "authenticate", authenticate)
    return calls


def audit_lines(home) -> list[str]:
    path = home / "logs" / "app.log"
    return [line for line in path.read_text(encoding="utf-8").splitlines() if " AUDIT " in line]


def test_repeated_wrong_passwords_for_an_account_back_off(clock, checked, shegong_home):
    accounts.create_user("wang", "right-pass", "社工")
    throttle = Throttle(clock=clock)
    for _ in range(5):
        with pytest.raises(LoginRefused, match="用户名或密码不正确"):
            sign_in("wang", "guess", "10.0.0.7", throttle)
    with pytest.raises(LoginRefused, match="登录失败次数过多，请 30 秒后再试"):
        sign_in("wang", "right-pass", "10.0.0.8", throttle)  # even the right password, from anywhere
    assert len(checked) == 5  # the refused try cost no password check
    clock.now += 31
    with pytest.raises(LoginRefused, match="用户名或密码不正确"):
        sign_in("wang", "guess", "10.0.0.7", throttle)
    with pytest.raises(LoginRefused, match="请 1 分钟后再试"):  # the wait doubles
        sign_in("wang", "right-pass", "10.0.0.7", throttle)
    clock.now += 61
    assert sign_in("wang", "right-pass", "10.0.0.7", throttle).username == "wang"
    assert throttle.wait("wang", "10.0.0.7") == 0  # a success clears the count
    lines = audit_lines(shegong_home)
    assert sum("login_failed user=wang address=10.0.0.7" in line for line in lines) == 6
    assert any("login_throttled user=wang address=10.0.0.8 wait_s=30" in line for line in lines)


def test_one_address_guessing_many_names_backs_off(clock, checked):
    accounts.create_user("li", "right-pass", "督导")
    assert Throttle().free["addr"] == 20
    throttle = Throttle(clock=clock, free_per_address=4)  # 20 in the app; 4 here keeps Argon2 calls few
    for i in range(4):
        with pytest.raises(LoginRefused, match="不正确"):
            sign_in(f"user{i}", "guess", "10.0.0.66", throttle)
    with pytest.raises(LoginRefused, match="次数过多"):
        sign_in("li", "right-pass", "10.0.0.66", throttle)
    assert sign_in("li", "right-pass", "10.0.0.5", throttle).username == "li"  # another computer is not held up
    assert len(checked) == 5


def test_waits_are_capped_and_forgotten(clock):
    throttle = Throttle(clock=clock)
    for _ in range(30):
        throttle.failed("zhao", "10.0.0.1")
    assert throttle.wait("zhao", "10.0.0.2") == 900
    clock.now += 3601
    assert throttle.wait("zhao", "10.0.0.2") == 0


def test_names_sprayed_at_random_do_not_fill_the_memory(clock):
    throttle = Throttle(clock=clock, max_keys=100)
    for i in range(1000):
        throttle.failed(f"n{i}", f"10.0.{i // 250}.{i % 250}")
    assert len(throttle._counts) <= 100


def test_a_session_ends_when_its_account_is_deleted_even_if_the_name_comes_back(clock):
    accounts.create_user("wang", "secret-123", "社工")
    store = SessionStore(idle_s=8 * 3600, clock=clock)
    store["t1"] = "wang"
    assert store.get("t1") == "wang" and "t1" in store
    accounts.delete_user("wang")
    accounts.create_user("wang", "secret-123", "督导")  # the same name, now a 督导
    clock.now += 3
    assert store.get("t1") is None and "t1" not in store and list(store) == []


def test_a_session_ends_on_any_password_change(clock):
    accounts.create_user("li", "secret-123", "社工")
    store = SessionStore(idle_s=8 * 3600, clock=clock)
    store["a"], store["b"] = "li", "li"
    accounts.set_password("li", "secret-456", by="li")  # as the CLI or 修改密码 would
    clock.now += 3
    assert store.get("a") is None and store.get("b") is None
    store["c"] = "li"  # signed in again with the new password
    clock.now += 3
    assert store.get("c") == "li"


def test_an_idle_session_ends(clock):
    accounts.create_user("zhao", "secret-123", "社工")
    store = SessionStore(idle_s=8 * 3600, clock=clock)
    store["t"] = "zhao"
    clock.now += 7 * 3600
    assert store.get("t") == "zhao"  # used: the idle time starts again
    clock.now += 7 * 3600
    assert store.get("t") == "zhao"
    clock.now += 8 * 3600 + 1
    assert store.get("t") is None


def test_the_idle_timeout_is_a_setting(monkeypatch):
    from shegong.config import reset_settings

    assert SessionStore().idle_s == 8 * 3600
    monkeypatch.setenv("SHEGONG_SESSION_IDLE_HOURS", "0.5")
    reset_settings()
    assert SessionStore().idle_s == 1800


def test_gradio_logout_of_all_sessions_works_with_ended_ones_among_them(clock):
    """Gradio's /logout reads app.tokens[token] for every key; an ended session must not break it."""
    accounts.create_user("sun", "secret-123", "社工")
    accounts.create_user("ma", "secret-123", "社工")
    store = SessionStore(idle_s=100, clock=clock)
    store["old"] = "ma"
    clock.now += 90
    store["s1"], store["s2"] = "sun", "sun"
    clock.now += 20  # "old" is idle now
    for token in list(store.keys()):  # gradio/routes.py logout(all_session=True)
        if store[token] == "sun":
            del store[token]
    assert list(store) == []


def test_the_app_ends_a_users_sessions_at_once(clock):
    accounts.create_user("qian", "secret-123", "社工")
    store = SessionStore(idle_s=100, clock=clock)
    store["x"] = "qian"
    assert store.end_user("qian", "password_reset") == 1 and store.get("x") is None
