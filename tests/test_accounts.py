"""Local accounts, roles and the first-run administrator (real SQLite + Argon2)."""

from __future__ import annotations

import sqlite3

import pytest

from service import accounts
from shegong.config import get_settings
from shegong.errors import PermissionDenied, UserError

pytestmark = pytest.mark.unit


def test_create_and_authenticate():
    accounts.create_user("王芳", "correct-horse", "督导")
    user = accounts.authenticate("王芳", "correct-horse")
    assert user is not None and user.role == "督导" and user.last_login
    assert accounts.authenticate("王芳", "wrong-password") is None
    assert accounts.authenticate("nobody", "correct-horse") is None
    with sqlite3.connect(get_settings().app_db) as conn:
        (stored,) = conn.execute("SELECT password_hash FROM users WHERE username='王芳'").fetchone()
    assert stored.startswith("$argon2") and "correct-horse" not in stored


def test_bad_input_is_refused_in_chinese():
    with pytest.raises(UserError, match="至少需要"):
        accounts.create_user("a1", "123", "社工")
    with pytest.raises(UserError, match="未知的角色"):
        accounts.create_user("a1", "123456", "院长")
    with pytest.raises(UserError, match="用户名"):
        accounts.create_user("带 空格", "123456", "社工")
    accounts.create_user("a1", "123456", "社工")
    with pytest.raises(UserError, match="已存在"):
        accounts.create_user("a1", "654321", "社工")


def test_permissions_by_role():
    worker = accounts.create_user("w", "123456", "社工")
    supervisor = accounts.create_user("s", "123456", "督导")
    trainee = accounts.create_user("t", "123456", "学员")
    admin = accounts.create_user("root", "123456", "管理员")
    for user in (worker, supervisor, trainee, admin):
        accounts.require(user, "ask")
    accounts.require(supervisor, "kb.write")
    accounts.require(admin, "kb.write")
    accounts.require(admin, "accounts")
    with pytest.raises(PermissionDenied) as err:
        accounts.require(worker, "kb.write")
    assert str(err.value) == "当前账号（社工）没有权限执行此操作：上传或删除知识库资料"
    with pytest.raises(PermissionDenied, match="学员"):
        accounts.require(trainee, "kb.write")
    with pytest.raises(PermissionDenied, match="管理账号"):
        accounts.require(supervisor, "accounts")
    with pytest.raises(PermissionDenied, match="请先登录"):
        accounts.require(None, "ask")


def test_the_last_admin_cannot_be_removed_or_demoted():
    accounts.create_user("root", "123456", "管理员")
    with pytest.raises(UserError, match="最后一个管理员"):
        accounts.delete_user("root")
    with pytest.raises(UserError, match="最后一个管理员"):
        accounts.set_role("root", "社工")
    accounts.create_user("root2", "123456", "管理员")
    accounts.set_role("root", "督导")
    assert accounts.get_user("root").role == "督导"


def test_password_change_takes_effect():
    accounts.create_user("li", "old-pass", "社工")
    accounts.set_password("li", "new-pass")
    assert accounts.authenticate("li", "old-pass") is None
    assert accounts.authenticate("li", "new-pass") is not None


def test_first_run_admin_with_generated_password(monkeypatch, shegong_home):
    monkeypatch.delenv("SHEGONG_ADMIN_PASSWORD", raising=False)
    assert not accounts.has_users()
    admin = accounts.ensure_admin()
    assert admin is not None and admin.password_file is not None
    assert admin.password in admin.password_file.read_text(encoding="utf-8")
    assert admin.password_file == shegong_home / "初始管理员密码.txt"
    assert accounts.authenticate("admin", admin.password).role == "管理员"
    assert accounts.ensure_admin() is None  # only once


def test_first_run_admin_from_environment(monkeypatch, shegong_home):
    monkeypatch.setenv("SHEGONG_ADMIN_PASSWORD", "from-env-123")
    admin = accounts.ensure_admin()
    assert admin.password_file is None and not (shegong_home / "初始管理员密码.txt").exists()
    assert accounts.authenticate("admin", "from-env-123") is not None
