"""Conversation history per user and 👍/👎 feedback, in ``$SHEGONG_HOME/app.sqlite``.

A conversation's ``messages`` is a JSON list in chat order::

    {"role": "user", "content": "问题"}
    {"role": "assistant", "content": "回答正文", "answer": Answer.to_json()}

``answer`` keeps the citations so the source cards can be shown again when
the conversation is reopened.

Conversations belong to an account's uid, never to its name (a deleted name created again starts
empty). Every function takes the owner as a ``User`` or a user name; a name means that name's
account now. Feedback is about one of the server's own stored answers (conversation + turn): the
client only says which, and how it rated it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

from service.accounts import User, get_user
from service.appdb import connect, now
from shegong.errors import UserError

TITLE_CHARS = 30
MAX_COMMENT = 500


@dataclass
class Conversation:
    id: str
    username: str
    title: str
    mode: str
    updated_at: str
    messages: list[dict] = field(default_factory=list)


@dataclass
class Feedback:
    id: int
    username: str
    conversation_id: str | None
    turn: int | None  # which question of the conversation (0 = the first)
    question: str
    answer: str
    citations: list[dict]
    rating: int  # +1 有用, -1 没用
    comment: str
    created_at: str


def new_conversation_id() -> str:
    return uuid.uuid4().hex


def _title(messages: list[dict]) -> str:
    first = next((m["content"] for m in messages if m.get("role") == "user"), "") or "新对话"
    first = " ".join(first.split())
    return first if len(first) <= TITLE_CHARS else first[:TITLE_CHARS] + "…"


Owner = User | str


def _owner(owner: Owner) -> tuple[str, str]:
    """(uid, name) of an owner. A name without an account gets a uid that matches no row."""
    if isinstance(owner, User) and owner.uid:
        return owner.uid, owner.username
    name = owner.username if isinstance(owner, User) else owner
    user = get_user(name)
    return (user.uid, user.username) if user else (f"none:{name}", name)


def save_conversation(owner: Owner, conversation_id: str, messages: list[dict], mode: str) -> None:
    """Create or overwrite one of ``owner``'s conversations."""
    uid, name = _owner(owner)
    data = json.dumps(messages, ensure_ascii=False)
    stamp = now()
    with connect() as conn:
        row = conn.execute("SELECT user_uid FROM conversations WHERE id=?", (conversation_id,)).fetchone()
        if row and row["user_uid"] != uid:
            raise ValueError("conversation belongs to another user")
        if row:
            conn.execute("UPDATE conversations SET messages=?, mode=?, updated_at=? WHERE id=?",
                         (data, mode, stamp, conversation_id))
        else:
            conn.execute("INSERT INTO conversations(id, username, user_uid, title, mode, messages, created_at, updated_at)"
                         " VALUES (?,?,?,?,?,?,?,?)",
                         (conversation_id, name, uid, _title(messages), mode, data, stamp, stamp))


def append_turn(owner: Owner, conversation_id: str, question: str, answer_json: dict, mode: str) -> int:
    """Add a question and its answer; returns the turn's number (0 = the first)."""
    conv = get_conversation(owner, conversation_id)
    messages = conv.messages if conv else []
    messages += [{"role": "user", "content": question},
                 {"role": "assistant", "content": answer_json.get("answer", ""), "answer": answer_json}]
    save_conversation(owner, conversation_id, messages, mode)
    return len(messages) // 2 - 1


def get_conversation(owner: Owner, conversation_id: str) -> Conversation | None:
    """Only the owner's conversations are found."""
    uid, _ = _owner(owner)
    with connect() as conn:
        row = conn.execute("SELECT * FROM conversations WHERE id=? AND user_uid=?",
                           (conversation_id, uid)).fetchone()
    if row is None:
        return None
    return Conversation(id=row["id"], username=row["username"], title=row["title"], mode=row["mode"],
                        updated_at=row["updated_at"], messages=json.loads(row["messages"]))


def list_conversations(owner: Owner, limit: int = 50) -> list[Conversation]:
    """Newest first, without messages."""
    uid, _ = _owner(owner)
    with connect() as conn:
        rows = conn.execute("SELECT id, username, title, mode, updated_at FROM conversations WHERE user_uid=?"
                            " ORDER BY updated_at DESC, rowid DESC LIMIT ?", (uid, limit)).fetchall()
    return [Conversation(id=r["id"], username=r["username"], title=r["title"], mode=r["mode"],
                         updated_at=r["updated_at"]) for r in rows]


def delete_conversation(owner: Owner, conversation_id: str) -> bool:
    uid, _ = _owner(owner)
    with connect() as conn:
        return conn.execute("DELETE FROM conversations WHERE id=? AND user_uid=?",
                            (conversation_id, uid)).rowcount > 0


def answer_at(owner: Owner, conversation_id: str | None, turn) -> tuple[str, dict] | None:
    """The question and the stored answer (Answer.to_json()) of one turn of the owner's conversation."""
    conv = get_conversation(owner, conversation_id) if conversation_id else None
    if conv is None or isinstance(turn, bool) or not isinstance(turn, int) or turn < 0:
        return None
    pair = conv.messages[2 * turn:2 * turn + 2]
    if len(pair) != 2 or pair[0].get("role") != "user" or not isinstance(pair[1].get("answer"), dict):
        return None
    return pair[0].get("content", ""), pair[1]["answer"]


def add_feedback(owner: Owner, conversation_id: str | None, turn: int, rating: int, comment: str = "") -> int:
    """👍 (rating > 0) or 👎 on the answer the server gave at ``turn`` of a conversation of the owner's.

    What is stored (question, answer, sources) is the server's own copy; the client only names the turn.
    """
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise UserError(f"意见太长了（{len(comment)} 字），请控制在 {MAX_COMMENT} 字以内")
    found = answer_at(owner, conversation_id, turn)
    if found is None:
        raise UserError("找不到要评价的这条回答（可能对话已被删除），请重新提问后再评价")
    question, answer = found
    uid, name = _owner(owner)
    with connect() as conn:
        cur = conn.execute(
            "INSERT INTO feedback(username, user_uid, conversation_id, turn, question, answer, citations, rating, comment,"
            " created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (name, uid, conversation_id, turn, question, answer.get("answer", ""),
             json.dumps(answer.get("citations") or [], ensure_ascii=False), 1 if rating > 0 else -1, comment, now()))
        return cur.lastrowid


def list_feedback(limit: int = 200, rating: int | None = None) -> list[Feedback]:
    sql, args = "SELECT * FROM feedback", []
    if rating is not None:
        sql += " WHERE rating=?"
        args.append(1 if rating > 0 else -1)
    with connect() as conn:
        rows = conn.execute(sql + " ORDER BY id DESC LIMIT ?", [*args, limit]).fetchall()
    return [Feedback(id=r["id"], username=r["username"], conversation_id=r["conversation_id"], turn=r["turn"],
                     question=r["question"],
                     answer=r["answer"], citations=json.loads(r["citations"]), rating=r["rating"],
                     comment=r["comment"], created_at=r["created_at"]) for r in rows]
