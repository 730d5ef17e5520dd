"""Uploads in the background, and the staging copies every upload is ingested from.

A 督导's upload goes to the import lane (service/imports.py): ``start_upload`` returns at once and the
app shows the job's progress, with a cancel button. Each file is ingested from a private staging
copy under files/<kb>/.incoming/, held by a lock file while in use; ``clean_staging`` at start removes
the copies a crash left behind, never one another process is importing.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from ingest.types import check_doc_type
from knowledge.store import IngestResult, KnowledgeBase
from service import accounts
from service.accounts import User, require
from service.imports import ImportJob, ImportQueue
from shegong.errors import UserError

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]


class UploadActions:
    """Mixed into Service, which provides ``settings``, ``_lazy`` and ``_upload_logged``."""

    def clean_staging(self) -> None:
        """At start: staging copies (files/<kb>/.incoming/) that a crashed import left behind."""
        root = self.settings.home / "files"
        for incoming in root.glob("*/.incoming") if root.is_dir() else []:
            for entry in incoming.iterdir():
                if entry.suffix == ".lock":
                    continue
                lock = FileLock(f"{entry}.lock", timeout=0)
                try:
                    with lock:
                        shutil.rmtree(entry, ignore_errors=True)
                    Path(f"{entry}.lock").unlink(missing_ok=True)
                except Timeout:  # another process is importing it right now
                    pass

    # ------------------------------------------------------------ background imports
    @property
    def imports(self) -> ImportQueue:
        with self._lazy:
            if getattr(self, "_imports", None) is None:
                self._imports = ImportQueue(self.settings.home / "imports", self._import_one)
            return self._imports

    def start_upload(self, user: User, files: list[str | Path], kb: str | None = None,
                     doc_type: str | None = None) -> ImportJob:
        """Like ``upload``, in the background: returns at once with the job (progress, results, cancel)."""
        require(user, "kb.write")
        check_doc_type(doc_type)
        if not files:
            raise UserError("请先选择要上传的文件")
        return self.imports.submit(user.username, files, kb, doc_type)

    def _import_one(self, job: ImportJob, copy: Path, name: str, progress: Progress) -> IngestResult:
        if any(earlier == name for earlier, c in job.files[:[c for _, c in job.files].index(copy)]):
            return same_name_in_batch(name)
        user = accounts.get_user(job.username)
        if user is None or not user.can("kb.write"):
            return IngestResult(title=name, source=name, status="error", error="发起导入的账号已被删除或已无权限，未导入")
        return self._upload_logged(user, copy, job.kb, job.doc_type, report=progress)

    def import_jobs(self, user: User) -> list[ImportJob]:
        """Unfinished imports in order, then the latest finished ones (everyone who may add files sees the lane)."""
        require(user, "kb.write")
        return self.imports.jobs()

    def cancel_import(self, user: User, job_id: str) -> ImportJob:
        require(user, "kb.write")
        job = self.imports.cancel(job_id)
        if job is None:
            raise UserError("找不到这个导入任务（可能早已完成）")
        log.info("%s cancelled import %s", user.username, job_id)
        return job


def same_name_in_batch(name: str) -> IngestResult:
    return IngestResult(title=name, source=name, status="error",
                        error=f"这一批里已经有一个叫 {name} 的文件，同名文件会互相覆盖；请改名后再单独上传")


def free_name(kb: KnowledgeBase, folder: Path, name: str) -> Path:
    """``name`` with a number (附件1（2）.md) that neither a stored file nor a document of ``kb`` has."""
    stem, suffix = Path(name).stem, Path(name).suffix
    for n in range(2, 10_000):
        candidate = folder / f"{stem}（{n}）{suffix}"
        if not candidate.exists() and kb.find_document(str(candidate)) is None:
            return candidate
    raise UserError(f"知识库里叫 {name} 的文件太多了，请改名后再上传")


@contextmanager
def staging(folder: Path) -> Iterator[Path]:
    """A private folder under ``folder/.incoming`` for one import, held by a lock file beside it while in use, so
    that ``clean_staging`` at the next start removes only what a crash left behind."""
    incoming = folder / ".incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    job = incoming / uuid.uuid4().hex
    with FileLock(f"{job}.lock"):
        job.mkdir()
        try:
            yield job
        finally:
            shutil.rmtree(job, ignore_errors=True)
    Path(f"{job}.lock").unlink(missing_ok=True)
