"""Local accounts and roles (stored in ``$SHEGONG_HOME/app.sqlite``; passwords hashed with Argon2).

Roles:
    社工    asks questions (visit records later); sees the sources its answers cite, does not browse the KBs
    督导    asks, manages and browses the knowledge bases, reviews generated questions
    学员    drills (later), may ask; like 社工, does not browse the KBs
    管理员  manages accounts, and may do everything

``require(user, action)`` is called by the service for every action, so a
hidden button in the UI is never the only guard.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from service.appdb import connect, new_uid, now
from shegong import audit
from shegong.config import get_settings
from shegong.errors import PermissionDenied, UserError

ROLES: tuple[str, ...] = ("社工", "督导", "学员", "管理员")
ALL_ROLES = frozenset(ROLES)

PERMISSIONS: dict[str, frozenset[str]] = {
    "ask": ALL_ROLES,
    # lists, statistics, passages and original files: those who manage the KBs. 社工 and 学员 see the passages
    # their answers cite (README, tests/test_kb_browsing.py)
    "kb.read": frozenset({"督导", "管理员"}),
    "kb.write": frozenset({"督导", "管理员"}),
    "accounts": frozenset({"管理员"}),
    "feedback": ALL_ROLES,
    "review": frozenset({"督导", "管理员"}),
    "drill": ALL_ROLES,
    "visit": frozenset({"社工", "督导", "管理员"}),
    "models": frozenset({"管理员"}),
}

ACTION_LABELS = {
    "ask": "提问",
    "kb.read": "查看知识库",
    "kb.write": "上传或删除知识库资料",
    "accounts": "管理账号",
    "feedback": "评价回答",
    "review": "审核生成的题目",
    "drill": "题库训练",
    "visit": "填写走访记录",
    "models": "管理本地模型",
}

MIN_PASSWORD = 6
_VALID_NAME = re.compile(r"^[\w\u4e00-\u9fff.\-]{1,32}$")
ADMIN_NAME = "admin"
INITIAL_PASSWORD_FILE = "初始管理员密码.txt"

_hasher = PasswordHasher()
# Verified against when the user does not exist, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("no-such-user")


@dataclass(frozen=True)
class User:
    username: str
    role: str
    created_at: str = ""
    last_login: str | None = None
    uid: str = ""  # never reused: history and sessions belong to it, not to the name
    session_epoch: int = 0  # goes up with every password change; older sessions have ended

    def can(self, action: str) -> bool:
        return self.role in PERMISSIONS.get(action, frozenset())


# Whoever runs the `shegong` command on this computer: the CLI acts as this 管理员 (it already has the data
# directory in hand). Parentheses are not allowed in account names, so no account can pose as it in the logs.
SYSTEM_USER = User(username="system(cli)", role="管理员")


def can(user: User | None, action: str) -> bool:
    return user is not None and user.can(action)


def require(user: User | None, action: str) -> None:
    """Raise PermissionDenied (Chinese) unless ``user`` may do ``action``."""
    if action not in PERMISSIONS:
        raise ValueError(f"unknown action: {action}")
    if user is None:
        raise PermissionDenied("请先登录")
    if not user.can(action):
        audit.record("permission_denied", user=user.username, role=user.role, action=action)
        raise PermissionDenied(f"当前账号（{user.role}）没有权限执行此操作：{ACTION_LABELS[action]}")


# ------------------------------------------------------------------ checks
def _check_name(username: str) -> str:
    username = (username or "").strip()
    if not _VALID_NAME.match(username):
        raise UserError("用户名只能包含中文、字母、数字、下划线、点和减号，长度 1–32 个字")
    return username


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"未知的角色：{role}。可选：{'、'.join(ROLES)}")
    return role


def _check_password(password: str) -> str:
    if not password or len(password) < MIN_PASSWORD:
        raise UserError(f"密码至少需要 {MIN_PASSWORD} 位")
    return password


def generate_password() -> str:
    return secrets.token_urlsafe(9)


def _user(row) -> User:
    return User(username=row["username"], role=row["role"], created_at=row["created_at"], last_login=row["last_login"],
                uid=row["uid"], session_epoch=row["session_epoch"])


# ------------------------------------------------------------------ CRUD
def has_users() -> bool:
    with connect() as conn:
        return conn.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None


def get_user(username: str) -> User | None:
    with connect() as conn:
        row = conn.execute("SELECT * FROM users WHERE username=?", ((username or "").strip(),)).fetchone()
    return _user(row) if row else None


def list_users() -> list[User]:
    with connect() as conn:
        return [_user(r) for r in conn.execute("SELECT * FROM users ORDER BY id")]


def session_key(username: str) -> tuple[str, int] | None:
    """What a signed-in session must still match: the account's uid and password epoch (None: no such account)."""
    with connect() as conn:
        row = conn.execute("SELECT uid, session_epoch FROM users WHERE username=?", ((username or "").strip(),)).fetchone()
    return (row["uid"], row["session_epoch"]) if row else None


def create_user(username: str, password: str, role: str = "社工", *, by: str = "") -> User:
    username, role = _check_name(username), _check_role(role)
    pw_hash = _hasher.hash(_check_password(password))
    with connect() as conn:
        if conn.execute("SELECT 1 FROM users WHERE username=?", (username,)).fetchone():
            raise UserError(f"用户名「{username}」已存在")
        conn.execute("INSERT INTO users(username, password_hash, role, created_at, uid) VALUES (?,?,?,?,?)",
                     (username, pw_hash, role, now(), new_uid()))
    audit.record("user_created", by=by, user=username, role=role)
    return get_user(username)


def authenticate(username: str, password: str) -> User | None:
    """The user if the password is right, else None (never says which part was wrong)."""
    username = (username or "").strip()
    with connect() as conn:
        row = conn.execute("SELECT * FROM users WHERE username=?", (username,)).fetchone()
    try:
        _hasher.verify(row["password_hash"] if row else _DUMMY_HASH, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    with connect() as conn:
        conn.execute("UPDATE users SET last_login=? WHERE id=?", (now(), row["id"]))
        if _hasher.check_needs_rehash(row["password_hash"]):
            conn.execute("UPDATE users SET password_hash=? WHERE id=?", (_hasher.hash(password), row["id"]))
    return get_user(username)


def _admins(conn) -> int:
    return conn.execute("SELECT COUNT(*) FROM users WHERE role='管理员'").fetchone()[0]


def set_role(username: str, role: str, *, by: str = "") -> User:
    role = _check_role(role)
    with connect() as conn:
        row = conn.execute("SELECT role FROM users WHERE username=?", (username,)).fetchone()
        if row is None:
            raise UserError(f"没有用户「{username}」")
        if row["role"] == "管理员" and role != "管理员" and _admins(conn) <= 1:
            raise UserError("这是最后一个管理员账号，不能改成其他角色")
        conn.execute("UPDATE users SET role=? WHERE username=?", (role, username))
    audit.record("role_changed", by=by, user=username, old=row["role"], new=role)
    return get_user(username)


def set_password(username: str, password: str, *, by: str = "") -> None:
    """Set a new password; every session of the account ends (its session epoch goes up)."""
    pw_hash = _hasher.hash(_check_password(password))
    with connect() as conn:
        if conn.execute("UPDATE users SET password_hash=?, session_epoch=session_epoch+1 WHERE username=?",
                        (pw_hash, username)).rowcount == 0:
            raise UserError(f"没有用户「{username}」")
    audit.record("password_changed" if by == username else "password_reset", by=by, user=username)


def delete_user(username: str, *, by: str = "") -> None:
    """Delete an account and its conversations (nobody can open them again: they belong to its uid)."""
    with connect() as conn:
        row = conn.execute("SELECT role, uid FROM users WHERE username=?", (username,)).fetchone()
        if row is None:
            raise UserError(f"没有用户「{username}」")
        if row["role"] == "管理员" and _admins(conn) <= 1:
            raise UserError("这是最后一个管理员账号，不能删除")
        conn.execute("DELETE FROM users WHERE username=?", (username,))
        conn.execute("DELETE FROM conversations WHERE user_uid=?", (row["uid"],))
    audit.record("user_deleted", by=by, user=username, role=row["role"])


# ------------------------------------------------------------------ first run
@dataclass
class InitialAdmin:
    username: str
    password: str
    password_file: Path | None  # where a generated password was written

    def announcement(self) -> str:
        """What the person starting the app is told. A generated password is in the file (readable by
        the owner only), not on the screen, where it would stay in the terminal's scrollback and logs."""
        line = "=" * 60
        if self.password_file:
            where = f"密码保存在 {self.password_file}（只有本机的这个系统账户能打开）"
        else:
            where = "密码为环境变量 SHEGONG_ADMIN_PASSWORD 的值"
        return (f"\n{line}\n首次启动：已建立管理员账号 {self.username}，{where}。\n"
                f"请登录后在「账号」页为同事建立账号。\n{line}\n")


def ensure_admin() -> InitialAdmin | None:
    """On a fresh install, create the first 管理员.

    The password comes from ``SHEGONG_ADMIN_PASSWORD`` if set; otherwise a random
    one is generated and written to ``$SHEGONG_HOME/初始管理员密码.txt``.
    Returns None when accounts already exist.
    """
    if has_users():
        return None
    password = os.environ.get("SHEGONG_ADMIN_PASSWORD") or ""
    generated = not password
    if generated:
        password = generate_password()
    create_user(ADMIN_NAME, password, "管理员")
    password_file = None
    if generated:
        password_file = get_settings().home / INITIAL_PASSWORD_FILE
        text = (f"社工助手初始管理员账号\n用户名：{ADMIN_NAME}\n密码：{password}\n\n"
                "请登录后在「账号」页为每位同事建立账号，并妥善保管或删除本文件。\n")
        password_file.unlink(missing_ok=True)  # a leftover of an earlier install may have other permissions
        # created 0600: never readable by others, not even for the moment before a chmod
        fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
    return InitialAdmin(ADMIN_NAME, password, password_file)
