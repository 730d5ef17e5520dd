"""The background import lane (shegong/imports.py) with a stand-in importer: order, progress, cancel."""

from __future__ import annotations

import pytest
import threading
import time
from pathlib import Path

from service.imports import ImportQueue

pytestmark = pytest.mark.unit


def files(tmp_path: Path, n: int) -> list[Path]:
    out = []
    for i in range(n):
        f = tmp_path / "upload" / f"文件{i}.txt"
        f.parent.mkdir(exist_ok=True)
        f.write_text(f"第{i}份", encoding="utf-8")
        out.append(f)
    return out


class SlowImporter:
    """Ten 'pages' a file, 0.05 s each, reporting progress (which raises once cancelled)."""

    def __init__(self):
        self.seen, self.pages = [], 0
        self.started = threading.Event()

    def __call__(self, job, copy, name, progress):
        self.started.set()
        assert copy.read_text(encoding="utf-8").startswith("第")  # our own copy, not the uploaded file
        for page in range(10):
            progress(page / 10, f"第 {page + 1}/10 页")
            time.sleep(0.05)
            self.pages += 1
        self.seen.append(name)
        return name


def test_jobs_run_in_turn_with_progress(tmp_path):
    importer = SlowImporter()
    queue = ImportQueue(tmp_path / "imports", importer)
    uploaded = files(tmp_path, 2)
    first = queue.submit("dudao", uploaded, "手册", None)
    second = queue.submit("boss", uploaded[:1], None, None)
    for f in uploaded:
        f.unlink()  # the web server's temporary copies may go at once
    assert second.state == "queued"
    importer.started.wait(5)
    time.sleep(0.2)
    assert first.state == "running" and 0 < first.fraction < 1 and "页" in first.message
    assert "导入中" in first.line() and "文件0.txt" in first.line()
    queue.wait(first.id, 10)
    queue.wait(second.id, 10)
    assert (first.state, first.results, second.results) == ("done", ["文件0.txt", "文件1.txt"], ["文件0.txt"])
    assert importer.seen == ["文件0.txt", "文件1.txt", "文件0.txt"]
    assert not first.folder.exists()  # the copies go when the job is done
    assert [j.id for j in queue.jobs()] == [second.id, first.id]


def test_a_job_is_cancelled_at_the_next_page(tmp_path):
    importer = SlowImporter()
    queue = ImportQueue(tmp_path / "imports", importer)
    job = queue.submit("dudao", files(tmp_path, 3), "手册", None)
    importer.started.wait(5)
    time.sleep(0.12)
    queue.cancel(job.id)
    queue.wait(job.id, 5)
    assert job.state == "cancelled" and job.results == [] and importer.pages < 5
    assert "已取消" in job.message and "0/3" in job.message


def test_a_queued_job_can_be_cancelled_before_it_starts(tmp_path):
    importer = SlowImporter()
    queue = ImportQueue(tmp_path / "imports", importer)
    first = queue.submit("dudao", files(tmp_path, 1), "手册", None)
    second = queue.submit("dudao", files(tmp_path, 2), "手册", None)
    queue.cancel(second.id)
    queue.wait(first.id, 5)
    queue.wait(second.id, 5)
    assert first.state == "done" and second.state == "cancelled" and importer.seen == ["文件0.txt"]


def test_copies_of_unfinished_jobs_are_removed_at_start(tmp_path):
    leftover = tmp_path / "imports" / "abc123" / "0" / "大扫描件.pdf"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"%PDF")
    ImportQueue(tmp_path / "imports", SlowImporter()).clean_leftovers()
    assert not leftover.exists() and not (tmp_path / "imports" / "abc123").exists()
