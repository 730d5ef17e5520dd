"""The knowledge-base half of the Service: listing, uploading, importing, editing and removing.

One routing for every way a file comes in (``_route``): a file goes to the KB its type belongs to
(KB_FOR_TYPE) unless a KB is named, whether it is uploaded in the app or ingested by the CLI.
A KB is named by a ``str`` (a name in the library) or, from the CLI only, by a ``Path`` (a KB
folder anywhere on this computer); the app passes strings, so it can never reach a folder.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest.loaders import SUPPORTED, SUPPORTED_SUFFIXES, check_size, guess_doc_type
from ingest.types import Block, LoadedDocument, check_doc_type
from knowledge.importer import add_document, add_file, import_law
from knowledge.library import CASES_KB, KB_FOR_TYPE, LAWS_KB
from knowledge.store import DocumentInfo, IngestResult, KnowledgeBase
from knowledge.types import Hit
from service.accounts import User, require
from service.uploads import free_name, same_name_in_batch, staging
from shegong.errors import BUSY, ImportCancelled, UserError

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
KbRef = str | Path  # a KB's name in the library, or (CLI) a KB folder

MAX_CASE_TITLE = 100
MAX_CASE_FIELD = 3000  # one case is one chunk: longer write-ups belong in a file
CASE_FIELDS = ("标题", "场景", "问题", "做法", "涉及部门", "成效", "标签")


@dataclass
class KbDocument:
    kb: str
    doc: DocumentInfo


class KnowledgeBaseActions:
    """Mixed into Service, which provides ``settings`` and ``library``."""

    # ------------------------------------------------------------ reading
    def kb_names(self, user: User) -> list[str]:
        require(user, "kb.read")
        return self.library.names()

    def _kb(self, ref: KbRef, *, create: bool = False) -> KnowledgeBase:
        if isinstance(ref, Path):
            return self.library.open_dir(ref, create=create)
        return self.library.get(ref, create=create)

    def open_kbs(self, user: User, refs: list[KbRef] | None = None) -> list[KnowledgeBase]:
        """The KBs to search: the named ones, or every one that opens (see ``library.broken`` for the rest)."""
        require(user, "kb.read")
        return [self._kb(ref) for ref in refs] if refs else self.library.select()

    def _files_dir(self, kb: str, *, create: bool = True) -> Path:
        path = self.settings.home / "files" / kb
        if create:
            path.mkdir(parents=True, exist_ok=True)
        return path

    def kb_stats(self, user: User, kb: KbRef | None = None) -> list[dict]:
        """Statistics of one KB, or of all: then a KB that would not open is listed too (searches leave it
        out), so an admin sees it and can remove it."""
        require(user, "kb.read")
        if kb is not None:
            return [self._kb(kb).stats()]
        stats = [k.stats() for k in self.library.select()]
        stale = self.library.stale()
        return stats + [{"name": f"{name}（{_why_closed(why, stale.get(name))}）", "documents": 0, "chunks": 0,
                         "chunks_by_type": {}, "size_mb": 0} for name, why in self.library.broken.items()]

    def list_documents(self, user: User, kb: KbRef | None = None, query: str | None = None,
                       doc_type: str | None = None) -> list[KbDocument]:
        require(user, "kb.read")
        check_doc_type(doc_type)
        kbs = [self._kb(kb)] if kb else self.library.select()
        return [KbDocument(k.name, d) for k in kbs
                for d in k.documents(doc_type=doc_type or None, query=(query or "").strip() or None)]

    def find_document(self, user: User, kb: KbRef, source: str) -> DocumentInfo | None:
        """The document that came from ``source`` (a file path, as given or resolved)."""
        require(user, "kb.read")
        target = self._kb(kb)
        return target.find_document(str(Path(source).resolve())) or target.find_document(source)

    def document_chunks(self, user: User, kb: str, doc_id: int) -> list[Hit]:
        require(user, "kb.read")
        target = self._kb(kb)
        if target.get_document(int(doc_id)) is None:
            raise UserError(f"知识库「{kb}」中没有编号为 {doc_id} 的文档")
        return target.chunks_of(int(doc_id))

    def stored_file(self, user: User, kb: str, doc_id: int) -> Path | None:
        """The kept copy of an uploaded document (for download), if there is one."""
        require(user, "kb.read")
        doc = self._kb(kb).get_document(int(doc_id))
        if doc is None:
            return None
        path = Path(doc.source)
        folder = self._files_dir(kb).resolve()
        return path if path.is_absolute() and path.resolve().parent == folder and path.is_file() else None

    def list_laws(self, user: User, db: Path | None = None) -> list[str]:
        """Every law in the law database (full names)."""
        require(user, "kb.read")
        from ingest.laws import list_laws

        return list_laws(db)

    # ------------------------------------------------------------ adding
    def _route(self, name: str, kb: KbRef | None, doc_type: str | None) -> tuple[KnowledgeBase, str]:
        """The KB a file goes to and its type: the named KB, else the one for its type (guessed from the name)."""
        doc_type = doc_type or guess_doc_type(Path(name))
        return self._kb(kb or KB_FOR_TYPE[doc_type], create=True), doc_type

    def _check_file(self, path: Path, name: str) -> None:
        suffix = Path(name).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise UserError(f"不支持的文件类型：{suffix or '（无扩展名）'}。支持：{SUPPORTED}")
        if not path.is_file():
            raise UserError(f"找不到上传的文件：{name}")
        check_size(path, name, self.settings.max_upload_mb)

    def upload(self, user: User, files: list[str | Path], kb: str | None = None, doc_type: str | None = None,
               progress: Progress | None = None, *, replace: bool = False) -> list[IngestResult]:
        """Files sent through the app; one result per file. A copy of each is kept under files/<kb>/ (for
        download). A bad file never changes what is already stored. A file named like a document already in
        the KB replaces it only with ``replace`` (the 替换 action) or if it is a revision of it; otherwise both
        are kept, the new one under a free name (附件1（2）.md)."""
        require(user, "kb.write")
        check_doc_type(doc_type)
        if not files:
            raise UserError("请先选择要上传的文件")
        progress = progress or (lambda frac, msg: None)
        results, names_seen = [], set()
        for i, f in enumerate(files):
            name = Path(f).name
            progress(i / len(files), f"正在导入 {name}（{i + 1}/{len(files)}）")
            if name in names_seen:
                results.append(same_name_in_batch(name))
                continue
            names_seen.add(name)
            results.append(self._upload_logged(user, Path(f), kb, doc_type, replace=replace))
        progress(1.0, "导入完成")
        return results

    def _upload_logged(self, user: User, path: Path, kb: str | None, doc_type: str | None, *, replace: bool = False,
                       report: Progress | None = None) -> IngestResult:
        """``_upload_one``, its errors as results (a cancel goes through)."""
        try:
            return self._upload_one(user, path, kb, doc_type, replace=replace, report=report)
        except ImportCancelled:
            raise
        except UserError as e:
            return IngestResult(title=path.name, source=path.name, status="error", error=str(e))
        except Exception:
            log.exception("upload of %s failed", path.name)
            return IngestResult(title=path.name, source=path.name, status="error",
                                error="导入时系统出错，文件未加入知识库（详情已记入日志）")

    def _upload_one(self, user: User, path: Path, kb: str | None, doc_type: str | None, *, replace: bool = False,
                    report: Progress | None = None) -> IngestResult:
        name = _safe_filename(path.name)
        self._check_file(path, name)
        new_kb = (kb or KB_FOR_TYPE[doc_type or guess_doc_type(Path(name))]).strip() not in self.library.names()
        target, doc_type = self._route(name, kb, doc_type)
        result = None
        try:
            files_dir = self._files_dir(target.name)
            # Ingest from a private copy; it becomes the stored file only once the KB accepted it,
            # so a corrupt re-upload leaves both the old file and its chunks in place.
            with staging(files_dir) as incoming:
                staged = incoming / name
                shutil.copyfile(path, staged)
                keep_both = None if replace else (lambda source: str(free_name(target, files_dir, name)))
                result = add_file(target, staged, doc_type=doc_type, source=str(files_dir / name), keep_both=keep_both,
                                  report=report)
                if result.status in ("added", "replaced"):
                    os.replace(staged, result.source)
                    log.info("%s uploaded %s to %s: %s", user.username, name, target.name, result.status)
        finally:
            if new_kb and (result is None or result.status not in ("added", "replaced")):
                self._discard_if_empty(target.name)  # a failed upload does not leave a new, empty KB behind
        return result

    def _discard_if_empty(self, name: str) -> None:
        try:
            if self.library.get(name).stats()["documents"] == 0:
                self.library.remove_kb(name)
                shutil.rmtree(self._files_dir(name, create=False), ignore_errors=True)
        except UserError:
            pass

    def ingest_file(self, user: User, path: Path, kb: KbRef | None = None, doc_type: str | None = None, *,
                    show_progress: bool = False) -> tuple[str, IngestResult]:
        """A file on this computer, indexed where it lies (``shegong ingest``): nothing is copied, so running
        it again re-reads a changed file and skips an unchanged one. Returns the KB's name and the result."""
        require(user, "kb.write")
        check_doc_type(doc_type)
        target, doc_type = self._route(path.name, kb, doc_type)
        result = add_file(target, path, doc_type=doc_type, progress=show_progress)  # checks the file itself
        log.info("%s ingested %s into %s: %s", user.username, path, target.name, result.status)
        return target.name, result

    def add_case(self, user: User, fields: dict[str, str]) -> IngestResult:
        """A case typed into the form; searchable by the very next question."""
        require(user, "kb.write")
        clean = {k: (fields.get(k) or "").strip() for k in CASE_FIELDS}
        clean = {k: v for k, v in clean.items() if v}
        title = clean.get("标题", "")
        if not title:
            raise UserError("请填写案例标题")
        if len(title) > MAX_CASE_TITLE:
            raise UserError(f"案例标题太长（{len(title)} 字），请控制在 {MAX_CASE_TITLE} 字以内")
        if not any(clean.get(k) for k in ("场景", "问题", "做法")):
            raise UserError("请至少填写“场景”“问题”“做法”中的一项")
        too_long = [k for k, v in clean.items() if len(v) > MAX_CASE_FIELD]
        if too_long:
            raise UserError(f"“{too_long[0]}”太长（{len(clean[too_long[0]])} 字，最多 {MAX_CASE_FIELD} 字）。"
                            "很长的案例请整理成 Word 或 Excel 文件上传")
        text = "\n".join(f"{k}：{v}" for k, v in clean.items())
        doc = LoadedDocument(title=title, source=f"form:{uuid.uuid4().hex}", doc_type="case",
                             blocks=[Block(kind="record", text=text, label=title, fields=clean)],
                             meta={"added_by": user.username, "form": True})
        target = self._kb(CASES_KB, create=True)
        result = add_document(target, doc)
        if result.status == "duplicate":  # the very same case is already stored
            raise UserError("案例库里已有一条内容完全相同的案例，没有重复保存")
        log.info("%s added case %r: %s", user.username, title, result.status)
        return result

    def import_laws(self, user: User, names: list[str] | None = None, progress: Progress | None = None, *,
                    kb: KbRef = LAWS_KB, db: Path | None = None) -> list[IngestResult]:
        """National laws from the law database (default: the 12 the bundled KB has), one chunk per article."""
        require(user, "kb.write")
        from ingest.laws import DEFAULT_LAWS

        names = [n.strip() for n in (names or DEFAULT_LAWS) if n.strip()]
        progress = progress or (lambda frac, msg: None)
        target = self._kb(kb, create=True)
        results = []
        for i, name in enumerate(names):
            progress(i / len(names), f"正在导入法律：{name}（{i + 1}/{len(names)}）")
            results.append(import_law(target, name, db))
        progress(1.0, "导入完成")
        return results

    def install_defaults(self, user: User, progress: Progress | None = None) -> list[IngestResult]:
        """The bundled samples and the default laws (unchanged files are skipped)."""
        require(user, "kb.write")
        return self.library.install_defaults(progress)

    # ------------------------------------------------------------ changing and removing
    def delete_document(self, user: User, kb: KbRef, doc_id: int) -> DocumentInfo:
        require(user, "kb.write")
        target = self._kb(kb)
        doc = target.get_document(int(doc_id))
        if doc is None or not target.remove_document(int(doc_id)):
            raise UserError(f"知识库「{target.name}」中没有编号为 {doc_id} 的文档")
        self._remove_stored_copy(target.name, doc.source)
        log.info("%s deleted document %s (%s) from %s", user.username, doc.id, doc.title, target.name)
        return doc

    def replace_document(self, user: User, kb: str, doc_id: int, file: str | Path) -> IngestResult:
        """Swap a document for a new file. The old one is removed only after the new one is in."""
        require(user, "kb.write")
        target = self._kb(kb)
        old = target.get_document(int(doc_id))
        if old is None:
            raise UserError(f"知识库「{kb}」中没有编号为 {doc_id} 的文档")
        # The upload is matched by file name: a name that belongs to another document would update that
        # one, and the selected one would then be deleted.
        other = target.find_document(str(self._files_dir(target.name) / _safe_filename(Path(file).name)))
        if other is not None and other.id != old.id:
            raise UserError(f"知识库「{kb}」里已有另一份同名文件《{other.title}》（编号 {other.id}），替换会改掉那一份。"
                            "请把新文件改名后再替换，或选中那一份再替换。")
        result = self.upload(user, [file], kb=target.name, doc_type=old.doc_type, replace=True)[0]
        if result.status in ("added", "replaced", "unchanged") and result.doc_id != old.id:
            target.remove_document(old.id)
            if Path(old.source) != Path(result.source):
                self._remove_stored_copy(target.name, old.source)
        return result

    def _remove_stored_copy(self, kb: str, source: str) -> None:
        folder = self._files_dir(kb, create=False).resolve()
        path = Path(source)
        if path.is_absolute() and path.resolve().parent == folder:
            path.unlink(missing_ok=True)

    def remove_kb(self, user: User, kb: KbRef) -> None:
        """Delete a whole KB without opening it (a damaged KB must be removable too)."""
        require(user, "kb.write")
        if isinstance(kb, Path):
            self.library.remove_dir(kb)
        else:
            self.library.remove_kb(kb)
        log.info("%s removed knowledge base %s", user.username, kb)


def _why_closed(why: str, other_embedder: str | None) -> str:
    if other_embedder:
        return f"用旧向量模型 {other_embedder} 建立，重新向量化之前不参与检索"
    return f"{'正被其他程序占用' if BUSY in why else '文件已损坏'}，暂时打不开，请管理员检查"


def _safe_filename(name: str) -> str:
    """A file name safe to keep under files/<kb>/ (no folders, no hidden files)."""
    name = Path(name.replace("\\", "/")).name.strip().lstrip(".")
    return name or "未命名文件"
