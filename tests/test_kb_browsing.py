"""Who may browse the knowledge bases (lists, statistics, passages, original files).

Decision: 督导 and 管理员 manage the knowledge bases and may browse them; 社工 and 学员 see the sources
of their own answers (the passages cited, in the source cards) and nothing else. Uploaded originals may
be internal documents or case records, and the app shows them only to those who manage them. The
README's role table says the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service import accounts
from shegong.errors import PermissionDenied

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.integration
@pytest.mark.parametrize("role", ["社工", "学员"])
def test_workers_and_trainees_cannot_browse_or_download(service, role, tmp_path):
    supervisor = accounts.create_user("dudao", "secret-123", "督导")
    user = accounts.create_user("someone", "secret-123", role)
    note = tmp_path / "内部通知.txt"
    note.write_text("内部通知\n\n本周五下午召开社工例会，讨论重点个案。\n", encoding="utf-8")
    (added,) = service.upload(supervisor, [note], kb="手册")
    for attempt in (lambda: service.kb_stats(user), lambda: service.list_documents(user),
                    lambda: service.kb_names(user), lambda: service.document_chunks(user, "手册", added.doc_id),
                    lambda: service.stored_file(user, "手册", added.doc_id)):
        with pytest.raises(PermissionDenied, match=f"当前账号（{role}）没有权限执行此操作：查看知识库"):
            attempt()
    answer = service.ask(user, "社工例会什么时候开？")  # asking still shows the cited passages
    assert "内部通知" in [c["title"] for c in answer.citations]
    assert service.stored_file(supervisor, "手册", added.doc_id).read_bytes() == note.read_bytes()
    assert service.kb_stats(supervisor) and service.list_documents(supervisor)


@pytest.mark.unit
def test_the_readme_role_table_says_the_same():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("| 角色 | 能做的事 |")[1].split("\n\n")[0]
    rows = {line.split("|")[1].strip(): line.split("|")[2] for line in table.strip().splitlines()[1:]}
    assert "浏览" in rows["督导"] and "下载原文件" in rows["督导"]
    for role in ("社工", "学员"):
        assert "不能浏览知识库" in rows[role]
    for role in accounts.ROLES:
        browse = role in accounts.PERMISSIONS["kb.read"]
        assert browse == (role in ("督导", "管理员")), role
