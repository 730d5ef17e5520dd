"""Crash safety and concurrency of the knowledge store, as a district office hits it:
a process killed mid-ingest, files left behind, several processes and threads on one data directory.
Real SQLite, real FAISS, real `shegong` subprocesses."""

from __future__ import annotations

import pytest

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import faiss

from knowledge.index.bm25 import keyword_terms
from knowledge.library import Library
from knowledge.store import KnowledgeBase
from knowledge.importer import add_file

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent

GAS = "# 燃气手册\n\n发现燃气泄漏时，先开窗通风，不要开关电器。\n"
THROW = "# 抛物手册\n\n发生高空抛物时要及时报警，保护现场，配合调查。\n"
ELDER = "# 走访手册\n\n独居老人多日未出门的，网格员应当上门查看。\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def cli(*args: str, home: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, SHEGONG_HOME=str(home), SHEGONG_LLM_BACKEND="none")
    r = subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True,
                       timeout=120, cwd=ROOT, env=env)
    assert "Traceback" not in r.stderr, r.stderr
    if check:
        assert r.returncode == 0, r.stderr
    return r


def faiss_matches_sqlite(kbdir: Path, embedder) -> bool:
    """What a fresh process loads from disk: FAISS ids are exactly the chunk ids in SQLite."""
    kb = KnowledgeBase(kbdir, embedder, create=False)
    try:
        ids = sorted(r[0] for r in kb._conn.execute("SELECT id FROM chunks"))
        return sorted(faiss.vector_to_array(kb._faiss.index.id_map).tolist()) == ids
    finally:
        kb.close()


def test_open_kb_sees_what_another_process_committed(tmp_path, embedder, shegong_home):
    """The app keeps a KB open while a supervisor runs `shegong ingest` / `kb remove`: its searches see the
    changes, and its own next upload does not write a FAISS file missing the other process's chunks."""
    kbdir = tmp_path / "kb"
    app = KnowledgeBase(kbdir, embedder)
    add_file(app, write(tmp_path / "gas.md", GAS))
    q = embedder.embed(["高空抛物怎么办"], kind="query")[0]
    assert app.bm25_search(keyword_terms("燃气"), 3)  # indexes built in memory

    cli("ingest", str(write(tmp_path / "throw.md", THROW)), "--kb", str(kbdir), home=shegong_home)
    gas_doc = next(d.id for d in app.documents() if d.title == "燃气手册")
    cli("kb", "remove", str(kbdir), "--doc", str(gas_doc), "-y", home=shegong_home)

    assert app.get_hits(app.dense_search(q, 1))[0].title == "抛物手册"
    assert [h.title for h in app.get_hits(app.bm25_search(keyword_terms("高空抛物"), 3))] == ["抛物手册"]
    assert app.bm25_search(keyword_terms("燃气泄漏"), 3) == []

    assert add_file(app, write(tmp_path / "elder.md", ELDER)).status == "added"
    app.close()
    assert faiss_matches_sqlite(kbdir, embedder)


def test_faiss_file_with_other_chunk_ids_is_rebuilt(tmp_path, embedder):
    """A vectors file of the right generation and size but other chunks (a file from another generation)
    is not trusted: it would hide chunks from search and return deleted ones."""
    kbdir = tmp_path / "kb"
    kb = KnowledgeBase(kbdir, embedder)
    add_file(kb, write(tmp_path / "gas.md", GAS))
    old_file = (kbdir / f"vectors.{kb.generation}.faiss").read_bytes()  # one vector: the gas chunk
    add_file(kb, write(tmp_path / "throw.md", THROW))
    kb.remove_document(kb.documents()[0].id)  # one chunk again, but the other one
    gen = kb.generation
    kb.close()
    (kbdir / f"vectors.{gen}.faiss").write_bytes(old_file)

    kb = KnowledgeBase(kbdir, embedder, create=False)
    q = embedder.embed(["高空抛物"], kind="query")[0]
    assert [h.title for h in kb.get_hits(kb.dense_search(q, 3))] == ["抛物手册"]
    kb.close()
    assert faiss_matches_sqlite(kbdir, embedder)


class GatedEmbedder:
    """The real embedder; each passage batch waits until both uploads have reached embedding."""

    def __init__(self, inner, parties: int):
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.barrier = threading.Barrier(parties, timeout=60)

    def embed(self, texts, *, kind="passage", progress=False):
        if kind == "passage":
            self.barrier.wait()
        return self.inner.embed(texts, kind=kind, progress=progress)


def test_two_uploads_with_a_shared_paragraph_at_once(tmp_path, embedder):
    """Two supervisors upload files with a common paragraph at the same moment (app threads):
    both are added, the paragraph once, no database error."""
    common = "## 一、燃气安全\n\n发现燃气泄漏时，先开窗通风，不要开关电器，并立即拨打抢修电话。\n\n"
    a = write(tmp_path / "a.md", f"# 甲街道手册\n\n{common}## 二、走访\n\n甲街道网格员每周走访独居老人一次。\n")
    b = write(tmp_path / "b.md", f"# 乙街道手册\n\n{common}## 二、义诊\n\n乙街道志愿者每月组织一次社区义诊。\n")
    kb = KnowledgeBase(tmp_path / "kb", GatedEmbedder(embedder, 2))
    results = {}

    def upload(path):
        try:
            results[path.name] = add_file(kb, path)
        except Exception as e:  # noqa: BLE001 - the test reports it
            results[path.name] = e

    threads = [threading.Thread(target=upload, args=(p,)) for p in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(getattr(r, "status", None) == "added" for r in results.values()), results
    assert sum(r.duplicates for r in results.values()) == 1
    hashes = [r[0] for r in kb._conn.execute("SELECT hash FROM chunks")]
    assert len(hashes) == len(set(hashes)) == 3
    # the shared paragraph stays searchable when the document that holds it goes
    holder = next(h.doc_id for h in kb.get_hits(kb.bm25_search(keyword_terms("燃气泄漏"), 1)))
    kb.remove_document(holder)
    assert kb.get_hits(kb.bm25_search(keyword_terms("燃气泄漏"), 1))
    kb.close()
    assert faiss_matches_sqlite(tmp_path / "kb", embedder)


def test_killed_between_faiss_rename_and_commit(tmp_path, embedder, shegong_home):
    """SIGKILL after the next generation's FAISS file is in place but before the SQLite commit
    (a hot kb.sqlite-journal is left): the previous KB works, and the same file is imported again, not skipped."""
    kbdir = tmp_path / "kb"
    kb = KnowledgeBase(kbdir, embedder)
    add_file(kb, write(tmp_path / "gas.md", GAS))
    gen = kb.generation
    kb.close()
    throw = write(tmp_path / "throw.md", THROW)

    # A reader holding the database makes the ingest wait at COMMIT, after it renamed its FAISS file.
    reader = sqlite3.connect(kbdir / "kb.sqlite", isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM chunks").fetchone()
    env = dict(os.environ, SHEGONG_HOME=str(shegong_home), SHEGONG_LLM_BACKEND="none")
    proc = subprocess.Popen([sys.executable, "-m", "cli", "ingest", str(throw), "--kb", str(kbdir)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while not (kbdir / f"vectors.{gen + 1}.faiss").exists():
        assert proc.poll() is None and time.time() < deadline, "ingest ended before writing its FAISS file"
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    reader.execute("COMMIT")
    reader.close()
    assert (kbdir / "kb.sqlite-journal").exists()

    stats = cli("kb", "stats", str(kbdir), home=shegong_home).stdout
    assert '"documents": 1' in stats and '"chunks": 1' in stats
    kb = KnowledgeBase(kbdir, embedder, create=False)
    assert [d.title for d in kb.documents()] == ["燃气手册"]
    assert kb.get_hits(kb.bm25_search(keyword_terms("燃气泄漏"), 3))
    kb.close()
    out = cli("ingest", str(throw), "--kb", str(kbdir), home=shegong_home).stdout
    assert "已加入" in out, out
    assert faiss_matches_sqlite(kbdir, embedder)
    assert len(list(kbdir.glob("vectors.*"))) == 1


def test_opening_leaves_a_newer_generation_being_written(tmp_path, embedder):
    """Opening a KB (a `shegong search`, the app starting) while another process is committing must not delete
    that process's next FAISS file. Once no one is committing, such files are a crash's leftovers: removed."""
    kbdir = tmp_path / "kb"
    kb = KnowledgeBase(kbdir, embedder)
    add_file(kb, write(tmp_path / "gas.md", GAS))
    gen = kb.generation
    kb.close()
    current = kbdir / f"vectors.{gen}.faiss"
    # the other process's temp file, and the renamed file it is about to commit
    newer = [kbdir / f"vectors.{gen + 1}.faiss.4242.1.tmp", kbdir / f"vectors.{gen + 1}.faiss"]
    for f in newer:
        shutil.copy(current, f)
    older = [kbdir / f"vectors.{gen - 1}.faiss", kbdir / f"vectors.{gen - 1}.faiss.tmp"]  # from a crash
    for f in older:
        f.write_bytes(b"\0" * 64)

    writer = sqlite3.connect(kbdir / "kb.sqlite", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # what a committing process holds while it writes its FAISS file
    kb = KnowledgeBase(kbdir, embedder, create=False)
    assert all(f.exists() for f in newer)
    assert not any(f.exists() for f in older)
    assert kb.get_hits(kb.bm25_search(keyword_terms("燃气泄漏"), 1))
    kb.close()
    writer.execute("ROLLBACK")  # it crashed
    writer.close()

    kb = KnowledgeBase(kbdir, embedder, create=False)
    assert sorted(kbdir.glob("vectors.*")) == [current]
    assert add_file(kb, write(tmp_path / "throw.md", THROW)).status == "added"
    kb.close()
    assert faiss_matches_sqlite(kbdir, embedder)


def test_kb_removed_and_recreated_by_another_process(embedder, shegong_home, tmp_path):
    """The app has 案例库 open; a supervisor runs `shegong kb remove 案例库` and imports into a new 案例库.
    The app shows the new KB and its uploads land there (not in the deleted file)."""
    library = Library(root=shegong_home / "kbs", embedder=embedder)
    add_file(library.get("案例库", create=True), write(tmp_path / "gas.md", GAS))
    cli("kb", "remove", "案例库", "-y", home=shegong_home)
    cli("ingest", str(write(tmp_path / "elder.md", ELDER)), "--kb", "案例库", home=shegong_home)

    kb = library.get("案例库")
    assert [d.title for d in kb.documents()] == ["走访手册"]
    assert add_file(kb, write(tmp_path / "throw.md", THROW)).status == "added"
    fresh = Library(root=library.root, embedder=embedder)
    assert sorted(d.title for d in fresh.get("案例库").documents()) == ["抛物手册", "走访手册"]
    assert faiss_matches_sqlite(library.root / "案例库", embedder)


def test_two_openers_create_the_same_new_kb_at_once(tmp_path, embedder):
    """Two processes (here: two connections) creating one new KB: both open it, one set of settings."""
    for i in range(60):  # a race: many rounds, so that an unguarded creation fails on almost every run
        path = tmp_path / f"kb{i}"
        barrier, errors = threading.Barrier(2), []

        def open_it():
            barrier.wait()
            try:
                KnowledgeBase(path, embedder).close()
            except Exception as e:  # noqa: BLE001 - any failure is the bug
                errors.append(repr(e))

        threads = [threading.Thread(target=open_it) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        with sqlite3.connect(path / "kb.sqlite") as conn:
            assert conn.execute("SELECT COUNT(*) FROM meta WHERE key='embedder'").fetchone()[0] == 1
