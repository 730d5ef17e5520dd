"""Unusual use that must not lose anything or show a traceback.

Each test names what went wrong before: a KB folder given by path, text shared between documents,
a pasted roster without punctuation, a damaged KB among good ones, a busy KB, a GBK question file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

import knowledge.library as library_module
from ingest.chunking import chunk_document
from ingest.loaders import load_file
from knowledge.store import KnowledgeBase
from knowledge.importer import add_file
from cli import app, explain
from shegong.errors import UserError

runner = CliRunner()

SHARED = "## 二、独居老人走访\n\n每月上门一次，留意老人的用药、饮食和家中燃气，发现异常当天联系紧急联系人。\n"
ONLY_A = "## 一、证件遗失\n\n身份证丢失的，告知居民到派出所户籍窗口挂失补领，社区不开丢失证明。\n"
ONLY_B = "## 三、邻里噪声\n\n先分别听取双方意见，协调不成的引导双方申请人民调解。\n"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)
    return path


@pytest.fixture
def cli_library(library, monkeypatch):
    """The CLI's get_library() returns the test's private sample library."""
    monkeypatch.setattr(library_module, "_library", library)
    return library


@pytest.mark.integration
def test_removing_a_kb_given_as_a_folder_removes_that_folder_not_the_library_kb_of_the_same_name(
        cli_library, tmp_path):
    folder = tmp_path / "elsewhere" / "案例库"  # same name as a library KB
    kb = cli_library.open_dir(folder)
    add_file(kb, write(tmp_path / "a.md", "# 手册\n\n" + ONLY_A))
    write(folder / "说明.txt", "督导自己的笔记")  # a user's file beside the KB files
    result = runner.invoke(app, ["kb", "remove", str(folder), "-y"])
    assert result.exit_code == 0, result.output
    assert "案例库" in cli_library.names()  # the library's 案例库 is untouched
    assert not (folder / "kb.sqlite").exists() and not list(folder.glob("vectors.*"))
    assert (folder / "说明.txt").read_text(encoding="utf-8") == "督导自己的笔记"


@pytest.mark.integration
def test_a_new_kb_is_not_created_inside_a_folder_of_someone_elses_files(tmp_path, embedder):
    folder = write(tmp_path / "我的文件" / "vectors.xlsx", "not really a spreadsheet").parent
    write(folder / "案例.csv", "标题,做法\n走访,每月一次\n")
    with pytest.raises(UserError, match="不是知识库"):
        KnowledgeBase(folder, embedder)
    assert (folder / "vectors.xlsx").exists() and not (folder / "kb.sqlite").exists()


@pytest.mark.integration
def test_only_the_kbs_own_index_files_are_cleaned_up(tmp_path, embedder):
    kb = KnowledgeBase(tmp_path / "kb", embedder)
    write(tmp_path / "kb" / "vectors.备注.txt", "a user's note that happens to start with vectors.")
    add_file(kb, write(tmp_path / "a.md", "# 手册\n\n" + ONLY_A))
    add_file(kb, write(tmp_path / "b.md", "# 手册二\n\n" + ONLY_B))
    assert (tmp_path / "kb" / "vectors.备注.txt").exists()
    assert len(list((tmp_path / "kb").glob("vectors.*.faiss"))) == 1  # old generations are still removed


@pytest.mark.integration
def test_text_two_documents_share_survives_removing_either(tmp_path, embedder):
    kb = KnowledgeBase(tmp_path / "kb", embedder)
    a = add_file(kb, write(tmp_path / "a.md", "# 探访规范\n\n" + ONLY_A + SHARED))
    b = add_file(kb, write(tmp_path / "b.md", "# 探访规范第二版\n\n" + SHARED + ONLY_B))
    assert b.duplicates == 1  # stored once
    assert kb.remove_document(a.doc_id)
    texts = [r[0] for r in kb._conn.execute("SELECT text FROM chunks")]
    assert any("每月上门一次" in t for t in texts), "the shared section went with the removed document"
    from knowledge.index.bm25 import keyword_terms

    top = kb.bm25_search(keyword_terms("每月上门 用药 饮食"), 1)  # and still found by search
    assert "每月上门一次" in kb.get_hits(top)[0].text
    assert len(kb) == kb.stats()["chunks"] == 2
    (doc,) = kb.documents()
    assert doc.n_chunks == 2 and doc.title == "探访规范第二版"


@pytest.mark.integration
def test_a_new_version_that_drops_a_shared_section_hands_it_to_the_other_document(tmp_path, embedder):
    kb = KnowledgeBase(tmp_path / "kb", embedder)
    path = write(tmp_path / "a.md", "# 探访规范\n\n" + ONLY_A + SHARED)
    add_file(kb, path)
    add_file(kb, write(tmp_path / "b.md", "# 另一份\n\n" + SHARED + ONLY_B))
    add_file(kb, write(path, "# 探访规范\n\n" + ONLY_A))  # the shared section removed from a.md
    texts = [r[0] for r in kb._conn.execute("SELECT text FROM chunks")]
    assert sum("每月上门一次" in t for t in texts) == 1
    assert len(kb) == len(texts) == 3


@pytest.mark.unit
def test_a_pasted_roster_without_punctuation_is_cut_into_chunks(tmp_path):
    line = "".join(f"张某{i} 男 1950年生 3号楼{i % 9}单元 " for i in range(400))  # ~10k characters, no 。
    doc = load_file(write(tmp_path / "名单.txt", "居民名单\n\n" + line))
    chunks = chunk_document(doc)
    assert len(chunks) > 10 and max(len(c.text) for c in chunks) <= 620
    assert "张某399" in "".join(c.text for c in chunks)  # nothing lost


@pytest.mark.integration
def test_a_damaged_kb_is_left_out_of_search_and_can_still_be_removed(cli_library):
    db = cli_library.root / "案例库" / "kb.sqlite"
    with open(db, "r+b") as f:
        f.truncate(4096)
    kbs = cli_library.select()
    assert "案例库" not in [kb.name for kb in kbs] and "案例库" in cli_library.broken
    result = runner.invoke(app, ["search", "身份证丢了怎么办", "-k", "3"])
    assert result.exit_code == 0 and "案例库" in result.output and "打不开" in result.output
    result = runner.invoke(app, ["kb", "remove", "案例库", "-y"])
    assert result.exit_code == 0, result.output
    assert "案例库" not in cli_library.names()


@pytest.mark.unit
def test_busy_or_damaged_database_errors_read_as_such():
    assert "另一个程序" in explain(sqlite3.OperationalError("database is locked"))
    assert "已损坏" in explain(sqlite3.DatabaseError("database disk image is malformed"))
    assert "没有权限" in explain(PermissionError(13, "Permission denied", "/x/a.csv"))
    assert "找不到" in explain(FileNotFoundError(2, "No such file", "/x/q.txt"))
    assert "Traceback" not in explain(ValueError("x")) and "SHEGONG_DEBUG" in explain(ValueError("x"))


@pytest.mark.integration
def test_search_batch_reads_a_gbk_question_file(cli_library, tmp_path):
    questions = write(tmp_path / "问题.txt", "身份证丢了怎么办\n\n老人走失了怎么办\n", encoding="gbk")
    result = runner.invoke(app, ["search", "--batch", str(questions), "--json", "-k", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.count('"query"') == 2 and "身份证丢了怎么办" in result.output
    missing = runner.invoke(app, ["search", "--batch", str(tmp_path / "nope.txt")])
    assert missing.exit_code != 0 and "找不到问题文件" in str(missing.output) + str(missing.exception)


@pytest.mark.integration
def test_ask_with_a_kb_folder_answers_from_that_folder(library, tmp_path):
    from assistant.answer import Answerer
    from knowledge.retrieve import HybridRetriever

    folder_kb = library.open_dir(tmp_path / "单独的库")
    add_file(folder_kb, write(tmp_path / "x.md", "# 楼道管理办法\n\n## 一、楼道堆物\n\n楼道堆放杂物的，由楼组长先劝导清理，拒不清理的报告物业。\n"))
    ans = Answerer(HybridRetriever(library), None).ask("楼道里堆了杂物谁来管", "solution", kbs=[folder_kb])
    assert ans.citations and all(c["title"] == "楼道管理办法" for c in ans.citations)


@pytest.mark.integration
def test_cli_refuses_nonsense_options_in_chinese(cli_library, tmp_path):
    bad_type = runner.invoke(app, ["search", "低保", "--type", "bogus"])
    assert bad_type.exit_code != 0 and "未知的资料类型" in str(bad_type.output) + str(bad_type.exception)
    assert runner.invoke(app, ["search", "低保", "-k", "-1"]).exit_code != 0
    blank = runner.invoke(app, ["ask", "   "])
    assert blank.exit_code != 0 and "请先输入问题" in str(blank.output) + str(blank.exception)
    missing = runner.invoke(app, ["ingest", str(tmp_path / "没有这个文件.txt")])
    assert missing.exit_code == 1 and "找不到文件" in missing.output


@pytest.mark.integration
def test_a_question_without_any_words_is_not_answered_with_noise(cli_library):
    from assistant.answer import Answerer
    from knowledge.retrieve import HybridRetriever

    ans = Answerer(HybridRetriever(cli_library), None).ask("？？？！！ 🙂", "policy")
    assert ans.refused and "没有文字" in ans.answer and not ans.citations
    result = runner.invoke(app, ["search", "。。。"])
    assert result.exit_code != 0 and "没有文字" in str(result.output) + str(result.exception)


@pytest.mark.integration
def test_usage_errors_from_the_command_line_are_said_in_chinese():
    import subprocess
    import sys

    for args, expected in ((["search", "低保", "-k", "abc"], "参数 k 的值不对"), (["ask"], "缺少参数 question"),
                           (["search", "低保", "--nope"], "没有这个选项"), (["nosuchcommand"], "用法不对")):
        out = subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, timeout=120)
        assert out.returncode == 2 and expected in out.stderr and "Traceback" not in out.stderr, (args, out.stderr)


@pytest.mark.integration
def test_a_law_name_from_an_answer_is_not_a_wildcard(library):
    """The verifier looks up every 《…》第N条 an answer cites; "《%》第一条" must not match any law's 第一条."""
    assert library.find_article("老年人权益保障法", "第一条")
    assert not library.find_article("%", "第一条") and not library.find_article("_", "第一条")


@pytest.mark.integration
def test_cli_ingest_files_a_document_where_the_app_would(cli_library, tmp_path):
    """`shegong ingest` goes through the service: "…办法" lands in 政策法规, as an upload in the app does."""
    rules = write(tmp_path / "楼道管理办法.txt", "楼道管理办法\n\n楼道堆放杂物的，由楼组长先劝导清理。\n")
    result = runner.invoke(app, ["ingest", str(rules)])
    assert result.exit_code == 0 and "[政策法规] ✓ 楼道管理办法：已加入" in result.output, result.output
