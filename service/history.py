"""Conversation history per user and 👍/👎 feedback, in ``$SHEGONG_HOME/app.sqlite``.

A conversation's ``messages`` is a JSON list in chat order::

    {"role": "user", "content": "问题"}
    {"role": "assistant", "content": "回答正文", "answer": Answer.to_json()}

``answer`` keeps the citations so the source cards can be shown again when
the conversation is reopened.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

from service.appdb import connect, now

TITLE_CHARS = 30


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


def save_conversation(username: str, conversation_id: str, messages: list[dict], mode: str) -> None:
    """Create or overwrite one of ``username``'s conversations."""
    data = json.dumps(messages, ensure_ascii=False)
    stamp = now()
    with connect() as conn:
        row = conn.execute("SELECT username FROM conversations WHERE id=?", (conversation_id,)).fetchone()
        if row and row["username"] != username:
            raise ValueError("conversation belongs to another user")
        if row:
            conn.execute("UPDATE conversations SET messages=?, mode=?, updated_at=? WHERE id=?",
                         (data, mode, stamp, conversation_id))
        else:
            conn.execute("INSERT INTO conversations(id, username, title, mode, messages, created_at, updated_at)"
                         " VALUES (?,?,?,?,?,?,?)",
                         (conversation_id, username, _title(messages), mode, data, stamp, stamp))


def append_turn(username: str, conversation_id: str, question: str, answer_json: dict, mode: str) -> None:
    conv = get_conversation(username, conversation_id)
    messages = conv.messages if conv else []
    messages += [{"role": "user", "content": question},
                 {"role": "assistant", "content": answer_json.get("answer", ""), "answer": answer_json}]
    save_conversation(username, conversation_id, messages, mode)


def get_conversation(username: str, conversation_id: str) -> Conversation | None:
    """Only the owner's conversations are found."""
    with connect() as conn:
        row = conn.execute("SELECT * FROM conversations WHERE id=? AND username=?",
                           (conversation_id, username)).fetchone()
    if row is None:
        return None
    return Conversation(id=row["id"], username=row["username"], title=row["title"], mode=row["mode"],
                        updated_at=row["updated_at"], messages=json.loads(row["messages"]))


def list_conversations(username: str, limit: int = 50) -> list[Conversation]:
    """Newest first, without messages."""
    with connect() as conn:
        rows = conn.execute("SELECT id, username, title, mode, updated_at FROM conversations WHERE username=?"
                            " ORDER BY updated_at DESC, rowid DESC LIMIT ?", (username, limit)).fetchall()
    return [Conversation(id=r["id"], username=r["username"], title=r["title"], mode=r["mode"],
                         updated_at=r["updated_at"]) for r in rows]


def delete_conversation(username: str, conversation_id: str) -> bool:
    with connect() as conn:
        return conn.execute("DELETE FROM conversations WHERE id=? AND username=?",
                            (conversation_id, username)).rowcount > 0


def add_feedback(username: str, question: str, answer: str, citations: list[dict], rating: int,
                 comment: str = "", conversation_id: str | None = None) -> int:
    rating = 1 if rating > 0 else -1
    with connect() as conn:
        cur = conn.execute(
            "INSERT INTO feedback(username, conversation_id, question, answer, citations, rating, comment, created_at)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (username, conversation_id, question, answer, json.dumps(citations, ensure_ascii=False), rating,
             (comment or "").strip(), now()))
        return cur.lastrowid


def list_feedback(limit: int = 200, rating: int | None = None) -> list[Feedback]:
    sql, args = "SELECT * FROM feedback", []
    if rating is not None:
        sql += " WHERE rating=?"
        args.append(1 if rating > 0 else -1)
    with connect() as conn:
        rows = conn.execute(sql + " ORDER BY id DESC LIMIT ?", [*args, limit]).fetchall()
    return [Feedback(id=r["id"], username=r["username"], conversation_id=r["conversation_id"], question=r["question"],
                     answer=r["answer"], citations=json.loads(r["citations"]), rating=r["rating"],
                     comment=r["comment"], created_at=r["created_at"]) for r in rows]
