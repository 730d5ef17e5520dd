"""Bulk imports in the background: one lane, progress, cancel.

An upload of many files, or of a long scan (OCR runs ~5 s a page on an office PC), can take an hour.
It must not hold the request that started it, nor block what else a 督导 does meanwhile: a case typed
into the form and a document deleted go straight to the knowledge base (its own lock keeps them
consistent), never through this lane.

``ImportQueue.submit`` copies the files into ``$SHEGONG_HOME/imports/<job>/`` (the web server's copies
are temporary) and returns at once; one worker thread imports the jobs in turn. Each job reports
which file and which page it is at; ``cancel`` stops it at the next page (or between files and between
embedding batches). A file whose import was stopped adds nothing; the files before it stay imported.
Jobs live in memory: after a restart the copies of unfinished jobs are removed (``clean_leftovers``).
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shegong.errors import ImportCancelled

log = logging.getLogger(__name__)

# run(job, path of the copy, original name, progress(fraction of this file, message)) -> result
Runner = Callable[["ImportJob", Path, str, Callable[[float, str], None]], object]
KEEP_FINISHED = 20  # finished jobs listed (per queue), newest first


@dataclass
class ImportJob:
    id: str
    username: str
    kb: str | None
    doc_type: str | None
    files: list[tuple[str, Path]]  # (name as uploaded, our copy)
    folder: Path
    state: str = "queued"  # queued | running | done | cancelled | failed
    done: int = 0  # files finished
    file_fraction: float = 0.0
    message: str = "排队等待导入"
    results: list = field(default_factory=list)
    created: float = field(default_factory=time.time)
    finished: float | None = None
    cancel_requested: threading.Event = field(default_factory=threading.Event)

    @property
    def total(self) -> int:
        return len(self.files)

    @property
    def fraction(self) -> float:
        return min(1.0, (self.done + self.file_fraction) / max(1, self.total))

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")

    def check(self) -> None:
        """Raise ImportCancelled if someone asked to stop this job."""
        if self.cancel_requested.is_set():
            raise ImportCancelled("导入已取消")

    def line(self) -> str:
        """One line for the screen."""
        names = "、".join(name for name, _ in self.files[:3]) + (f" 等 {self.total} 个文件" if self.total > 3 else "")
        head = {"queued": "排队中", "running": f"导入中 {self.fraction:.0%}", "done": "已完成",
                "cancelled": "已取消", "failed": "出错"}[self.state]
        return f"[{head}] {names}：{self.message}"


class ImportQueue:
    def __init__(self, root: Path, run: Runner):
        self.root, self.run = Path(root), run
        self._jobs: list[ImportJob] = []
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._worker: threading.Thread | None = None

    # ------------------------------------------------------------ for the service
    def submit(self, username: str, files: list[str | Path], kb: str | None, doc_type: str | None) -> ImportJob:
        job_id = uuid.uuid4().hex[:12]
        folder = self.root / job_id
        copies = []
        try:
            for i, f in enumerate(files):
                path = Path(f)
                copy = folder / str(i) / path.name
                copy.parent.mkdir(parents=True)
                if path.is_file():
                    shutil.copyfile(path, copy)
                copies.append((path.name, copy))
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        job = ImportJob(job_id, username, kb, doc_type, copies, folder)
        with self._lock:
            self._jobs.append(job)
            self._start_worker()
            self._wake.notify()
        log.info("%s queued import %s: %d file(s)", username, job_id, len(copies))
        return job

    def jobs(self) -> list[ImportJob]:
        """Unfinished jobs in order, then the latest finished ones."""
        with self._lock:
            active = [j for j in self._jobs if j.active]
            finished = sorted((j for j in self._jobs if not j.active), key=lambda j: j.finished or 0, reverse=True)
            return active + finished[:KEEP_FINISHED]

    def get(self, job_id: str) -> ImportJob | None:
        with self._lock:
            return next((j for j in self._jobs if j.id == job_id), None)

    def cancel(self, job_id: str) -> ImportJob | None:
        job = self.get(job_id)
        if job is not None and job.active:
            job.cancel_requested.set()
            if job.state == "queued":
                job.message = "正在取消……"
        return job

    def wait(self, job_id: str, timeout: float | None = None) -> ImportJob | None:
        """Block until the job is finished (tests, the CLI)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job is None or not job.active:
                return job
            if deadline is not None and time.monotonic() > deadline:
                return job
            time.sleep(0.05)

    @property
    def busy(self) -> bool:
        with self._lock:
            return any(j.active for j in self._jobs)

    def clean_leftovers(self) -> None:
        """At start: copies of jobs a previous run did not finish."""
        if self.root.is_dir():
            with self._lock:
                known = {j.id for j in self._jobs}
            for folder in self.root.iterdir():
                if folder.name not in known:
                    shutil.rmtree(folder, ignore_errors=True)

    # ------------------------------------------------------------ the worker
    def _start_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._work, name="imports", daemon=True)
            self._worker.start()

    def _next(self) -> ImportJob | None:
        with self._lock:
            while True:
                job = next((j for j in self._jobs if j.state == "queued"), None)
                if job is not None:
                    job.state = "running"
                    return job
                if not self._wake.wait(timeout=60):
                    self._worker = None  # idle: a new submit starts another
                    return None

    def _work(self) -> None:
        while (job := self._next()) is not None:
            try:
                self._run(job)
            except Exception:
                log.exception("import %s failed", job.id)
                job.state, job.message = "failed", "导入时系统出错（详情已记入日志）"
            finally:
                job.finished = time.time()
                shutil.rmtree(job.folder, ignore_errors=True)
            self._forget_old()

    def _run(self, job: ImportJob) -> None:
        for i, (name, copy) in enumerate(job.files):
            if job.cancel_requested.is_set():
                break
            job.file_fraction, job.message = 0.0, f"正在导入 {name}（{i + 1}/{job.total}）"

            def progress(fraction: float, message: str, name=name, i=i) -> None:
                job.check()
                job.file_fraction = max(0.0, min(1.0, fraction))
                job.message = f"{name}（{i + 1}/{job.total}）：{message}"

            try:
                job.results.append(self.run(job, copy, name, progress))
            except ImportCancelled:
                break
            job.done, job.file_fraction = i + 1, 0.0
        if job.cancel_requested.is_set() and job.done < job.total:
            job.state = "cancelled"
            job.message = f"已取消：完成了 {job.done}/{job.total} 个文件，未完成的文件没有导入"
        else:
            job.state = "done"
            job.message = f"完成 {job.total} 个文件"

    def _forget_old(self) -> None:
        with self._lock:
            finished = sorted((j for j in self._jobs if not j.active), key=lambda j: j.finished or 0, reverse=True)
            for old in finished[KEEP_FINISHED:]:
                self._jobs.remove(old)
