"""The audit trail in logs/app.log: refusals and every change to an account, by whoever made it."""

from __future__ import annotations

import pytest

from service import accounts
from shegong import audit
from shegong.errors import PermissionDenied

pytestmark = pytest.mark.unit


def audit_lines(home) -> list[str]:
    path = home / "logs" / "app.log"
    return [line for line in path.read_text(encoding="utf-8").splitlines() if " AUDIT " in line] if path.exists() else []


def test_account_changes_and_refusals_are_in_the_app_log(shegong_home):
    accounts.create_user("boss", "secret-123", "管理员")
    worker = accounts.create_user("wang", "secret-123", "社工", by="boss")
    accounts.set_role("wang", "督导", by="boss")
    accounts.set_password("wang", "secret-456", by="boss")
    accounts.set_password("wang", "secret-789", by="wang")
    with pytest.raises(PermissionDenied):
        accounts.require(worker, "accounts")
    accounts.delete_user("wang", by="boss")
    lines = audit_lines(shegong_home)
    assert any("user_created by=boss user=wang role=社工" in line for line in lines), lines
    assert any("role_changed by=boss user=wang old=社工 new=督导" in line for line in lines)
    assert any("password_reset by=boss user=wang" in line for line in lines)
    assert any("password_changed by=wang user=wang" in line for line in lines)
    assert any("WARNING" in line and "permission_denied user=wang role=社工 action=accounts" in line for line in lines)
    assert any("user_deleted by=boss user=wang role=督导" in line for line in lines)


def test_values_from_users_cannot_forge_a_line(shegong_home):
    audit.record("login_failed", user="x\n2026-01-01 AUDIT user_created by=admin", address="10.0.0.9")
    (line,) = audit_lines(shegong_home)
    assert "\n" not in line and 'user="x?2026-01-01 AUDIT user_created by=admin"' in line
    audit.record("login_failed", user="长" * 500, address="10.0.0.9")
    assert len(audit_lines(shegong_home)[-1]) < 300


def test_cli_user_management_is_audited(shegong_home):
    from typer.testing import CliRunner

    from cli import app

    runner = CliRunner()
    for args in (["user", "add", "li", "--role", "督导", "--password", "secret-123"], ["user", "role", "li", "社工"],
                 ["user", "passwd", "li", "--password", "secret-456"], ["user", "remove", "li", "-y"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    events = [line.split(" AUDIT ")[1].split()[0] for line in audit_lines(shegong_home)]
    assert events == ["user_created", "role_changed", "password_reset", "user_deleted"]
    assert all("by=system(cli)" in line for line in audit_lines(shegong_home))
