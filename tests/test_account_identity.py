"""Accounts have an id that is never reused; history and feedback belong to that id, not to a name.

The probe: an account was deleted, the name re-created as 督导, and the new account inherited the
old one's conversations. Any password change must end every session (the session key changes).
"""

from __future__ import annotations

import sqlite3

import pytest

from service import accounts, history
from shegong.config import get_settings
from shegong.errors import UserError

pytestmark = pytest.mark.unit

ANSWER = {"question": "身份证丢了怎么办？", "answer": "到派出所补办[1]。", "citations": [{"n": 1, "title": "手册"}]}


def converse(owner, question: str = "身份证丢了怎么办？") -> str:
    cid = history.new_conversation_id()
    history.append_turn(owner, cid, question, dict(ANSWER, question=question), "policy")
    return cid


def test_user_ids_are_never_reused():
    accounts.create_user("a1", "secret-123", "社工")
    b = accounts.create_user("b1", "secret-123", "社工")
    accounts.delete_user("b1")  # the highest row id: SQLite would hand it out again
    c = accounts.create_user("c1", "secret-123", "社工")
    again = accounts.create_user("b1", "secret-123", "督导")
    assert len({b.uid, c.uid, again.uid}) == 3 and all(len(u.uid) >= 16 for u in (b, c, again))


def test_a_recreated_name_does_not_inherit_the_old_accounts_conversations():
    old = accounts.create_user("wang", "secret-123", "社工")
    cid = converse(old)
    assert [c.id for c in history.list_conversations(old)] == [cid]
    accounts.delete_user("wang")
    new = accounts.create_user("wang", "secret-123", "督导")
    assert history.list_conversations(new) == []
    assert history.get_conversation(new, cid) is None
    assert history.get_conversation("wang", cid) is None  # by name: the name's current account


def test_a_conversation_id_of_another_account_cannot_be_written_to():
    cid = converse(accounts.create_user("hu", "secret-123", "社工"))
    with pytest.raises(ValueError):
        history.save_conversation(accounts.create_user("ma", "secret-123", "社工"), cid, [], "policy")


def test_deleting_an_account_deletes_its_conversations():
    user = accounts.create_user("li", "secret-123", "社工")
    converse(user)
    accounts.delete_user("li")
    with sqlite3.connect(get_settings().app_db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM conversations").fetchone()[0] == 0


def test_any_password_change_changes_the_session_key():
    user = accounts.create_user("zhao", "secret-123", "社工")
    key = accounts.session_key("zhao")
    assert key == (user.uid, user.session_epoch)
    accounts.set_role("zhao", "督导")
    assert accounts.session_key("zhao") == key  # a role change applies at once, sessions stay
    accounts.set_password("zhao", "secret-456")
    assert accounts.session_key("zhao") != key
    accounts.delete_user("zhao")
    assert accounts.session_key("zhao") is None


OLD_SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,
    role TEXT NOT NULL, created_at TEXT NOT NULL, last_login TEXT);
CREATE TABLE conversations (id TEXT PRIMARY KEY, username TEXT NOT NULL, title TEXT NOT NULL, mode TEXT NOT NULL,
    messages TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX conversations_user ON conversations(username, updated_at);
CREATE TABLE feedback (id INTEGER PRIMARY KEY, username TEXT NOT NULL, conversation_id TEXT, question TEXT NOT NULL,
    answer TEXT NOT NULL, citations TEXT NOT NULL, rating INTEGER NOT NULL, comment TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL);
"""


def test_an_existing_app_database_is_migrated(shegong_home):
    """Rows written before ids existed: a conversation older than its name's account was the deleted
    predecessor's, and stays with nobody."""
    from argon2 import PasswordHasher

    shegong_home.mkdir(parents=True, exist_ok=True)
    pw = PasswordHasher().hash("secret-123")
    with sqlite3.connect(get_settings().app_db) as conn:
        conn.executescript(OLD_SCHEMA)
        conn.execute("INSERT INTO users VALUES (1, 'wang', ?, '督导', '2026-05-01 09:00:00', NULL)", (pw,))
        conn.execute("INSERT INTO users VALUES (2, 'li', ?, '社工', '2026-01-01 09:00:00', NULL)", (pw,))
        for cid, name, stamp in (("c-old", "wang", "2026-03-01 10:00:00"), ("c-new", "wang", "2026-06-01 10:00:00"),
                                 ("c-li", "li", "2026-02-01 10:00:00"), ("c-gone", "zhang", "2026-02-01 10:00:00")):
            conn.execute("INSERT INTO conversations VALUES (?,?,?,?,?,?,?)",
                         (cid, name, "标题", "policy", "[]", stamp, stamp))
        conn.execute("INSERT INTO feedback(username, conversation_id, question, answer, citations, rating, created_at)"
                     " VALUES ('wang', 'c-old', '问', '答', '[]', -1, '2026-03-01 10:01:00')")
    wang, li = accounts.get_user("wang"), accounts.get_user("li")
    assert wang.uid and li.uid and wang.uid != li.uid
    assert [c.id for c in history.list_conversations(wang)] == ["c-new"]
    assert [c.id for c in history.list_conversations(li)] == ["c-li"]
    assert accounts.authenticate("wang", "secret-123") is not None
    (fb,) = history.list_feedback()
    assert fb.username == "wang"  # still shown to a 督导 under the name it was given with
    new = accounts.create_user("zhang", "secret-123", "社工")
    assert history.list_conversations(new) == []


def test_feedback_is_recorded_against_the_stored_answer():
    user = accounts.create_user("sun", "secret-123", "社工")
    cid = converse(user, "第一个问题？")
    history.append_turn(user, cid, "第二个问题？", dict(ANSWER, question="第二个问题？", answer="第二个回答[1]。"), "policy")
    fid = history.add_feedback(user, cid, 1, -1, "没说清楚")
    (fb,) = history.list_feedback()
    assert (fb.id, fb.question, fb.answer, fb.rating, fb.comment, fb.turn) == (
        fid, "第二个问题？", "第二个回答[1]。", -1, "没说清楚", 1)
    assert fb.citations == ANSWER["citations"]
    with pytest.raises(UserError, match="找不到"):
        history.add_feedback(user, cid, 2, 1)
    with pytest.raises(UserError, match="找不到"):
        history.add_feedback(accounts.create_user("qian", "secret-123", "社工"), cid, 0, 1)  # not someone else's
    with pytest.raises(UserError, match="意见太长"):
        history.add_feedback(user, cid, 0, 1, "很" * (history.MAX_COMMENT + 1))
