"""The permission-checked facade over the library, the retriever and the answerer.

The Gradio app and the tests call only this. Every public method takes the
acting ``User`` first and calls ``require`` before doing anything, so what a
role may do is enforced here, not by which buttons the UI shows.

At start two background threads get things ready without blocking the UI:
- the LLM: assemble the bundled model (first run) and load it. Until it is
  ready, or if loading fails, the answerer has ``llm=None`` and answers are
  extractive (quoted from the sources) and labelled so.
- first-run knowledge bases: the bundled samples and the default laws.
``status()`` describes both in Chinese.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from assistant.answer import MODE_LABELS, Answerer, Event
from assistant.llm.worker import ModelStartFailed
from ingest.types import Block, LoadedDocument, check_doc_type
from knowledge.library import CASES_KB, KB_FOR_TYPE, LAWS_KB, SUPPORTED_SUFFIXES, Library, get_library, import_law
from knowledge.retrieve.hybrid import HybridRetriever
from knowledge.store import BUSY, DocumentInfo, IngestResult, KnowledgeBase
from knowledge.types import Hit
from shegong import accounts, history
from shegong.accounts import User, require
from shegong.config import Settings, get_settings
from shegong.errors import PermissionDenied, UserError

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

# Where an upload goes when the supervisor does not pick a KB.
MAX_CASE_TITLE = 100
MAX_CASE_FIELD = 3000  # one case is one chunk: longer write-ups belong in a file
CASE_FIELDS = ("标题", "场景", "问题", "做法", "涉及部门", "成效", "标签")
MAX_QUESTION_CHARS = 500


@dataclass
class KbDocument:
    kb: str
    doc: DocumentInfo


@dataclass
class _Task:
    """State of a background job, for ``status()``."""

    state: str = "idle"  # idle | running | ready | failed | off
    message: str = ""


class Service:
    def __init__(self, settings: Settings | None = None, library: Library | None = None):
        self.settings = settings or get_settings()
        self.library = library or get_library()
        self.retriever = HybridRetriever(self.library, reranker=self._reranker())
        self.answerer = Answerer.from_settings(self.retriever, None, self.settings)
        self.llm_task = _Task()
        self.kb_task = _Task()
        self._threads: list[threading.Thread] = []
        self._assembling: Path | None = None  # the model file being written on first run

    # ------------------------------------------------------------ start-up
    def start(self, *, load_llm: bool = True, setup_kb: bool = True) -> Service:
        """Start the background jobs (LLM loading, first-run KB setup). Returns at once."""
        if setup_kb and self.library.needs_setup():
            self.kb_task = _Task("running", "正在建立默认知识库……")
            self._spawn("kb-setup", self._setup_kb)
        else:
            self.kb_task = _Task("ready", "知识库已就绪")
        if not load_llm or self.settings.llm_backend == "none":
            self.llm_task = _Task("off", "未启用大模型，回答直接摘自知识库原文")
        else:
            self.llm_task = _Task("running", "正在加载本地大模型……")
            self._spawn("llm-load", self._load_llm)
        return self

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until the background jobs are done (tests, CLI)."""
        for t in self._threads:
            t.join(timeout)

    def _spawn(self, name: str, target) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(t)
        t.start()

    def _setup_kb(self) -> None:
        def progress(frac: float, msg: str) -> None:
            self.kb_task = _Task("running", f"正在建立默认知识库（{frac:.0%}）：{msg}")

        try:
            results = self.library.install_defaults(progress)
        except Exception:
            log.exception("first-run knowledge base setup failed")
            self.kb_task = _Task("failed", "默认知识库建立失败，请查看日志或运行 shegong setup")
            return
        failed = [r for r in results if r.status == "error"]
        for r in failed:
            log.warning("setup: %s", r.summary())
        note = f"（{len(failed)} 项导入失败，详情见日志）" if failed else ""
        self.kb_task = _Task("ready", "知识库已就绪" + note)

    def _load_llm(self) -> None:
        from assistant.llm import make_llm

        s = self.settings
        try:
            if s.llm_backend == "llama_cpp" and not s.llm_model_path:
                from assistant.llm.assemble import assemble_model, model_status

                info = model_status(s.llm_default_model, s.models_dir)
                if not info["assembled"]:
                    self.llm_task = _Task("running", f"正在准备本地模型 {info['description']}（首次使用需几分钟）")
                    self._assembling = Path(info["path"] + ".partial")
                    assemble_model(s.llm_default_model, s.models_dir, progress=False)
            self.llm_task = _Task("running", "正在加载本地大模型……")
            llm = make_llm(s)
        except ModelStartFailed as e:  # [llm-worker] the model worker could not load or failed its self-check
            log.warning("LLM self-check failed: %s", e.reason)
            self.llm_task = _Task("failed", str(e))  # 大模型在这台电脑上无法运行：…，当前为摘录模式
            self.answerer.no_llm_note = str(e)
            return
        except UserError as e:
            log.warning("LLM unavailable: %s", e)
            self.llm_task = _Task("failed", f"大模型不可用：{e}")
            return
        except Exception:
            log.exception("loading the LLM failed")
            self.llm_task = _Task("failed", "大模型加载失败（详情已记入日志）")
            return
        self.answerer.llm = llm
        self.llm_task = _Task("ready", f"大模型已就绪（{getattr(llm, 'name', '')}）")

    def _reranker(self):
        if not self.settings.reranker:
            return None
        from knowledge.retrieve.rerank import CrossEncoderReranker

        return CrossEncoderReranker(self.settings.reranker)

    @property
    def busy(self) -> bool:
        """A background job is still running (the status line keeps refreshing)."""
        return "running" in (self.llm_task.state, self.kb_task.state)

    @property
    def llm_ready(self) -> bool:
        return self.answerer.llm is not None

    def status(self) -> str:
        """One line for the app's header, in Chinese."""
        llm = self.llm_task
        llm_text = llm.message
        partial = self._assembling
        if llm.state == "running" and partial is not None and partial.exists():
            llm_text += f"，已写入 {partial.stat().st_size / 2**20:.0f} MB"
        if llm.state == "running":
            llm_text += "；在此之前回答直接摘自知识库原文"
        elif llm.state == "failed" and "摘录模式" not in llm_text:
            llm_text += "；回答直接摘自知识库原文"
        health = getattr(self.answerer.llm, "health", None)  # [llm-worker] the model worker restarting / given up
        if llm.state == "ready" and health is not None and health():
            llm_text = health()
        return f"{self.kb_task.message or '知识库已就绪'} ｜ {llm_text}"

    # ------------------------------------------------------------ users
    def user(self, username: str | None) -> User:
        """The signed-in account behind a request."""
        user = accounts.get_user(username) if username else None
        if user is None:
            raise PermissionDenied("账号不存在或已被删除，请重新登录")
        return user

    # ------------------------------------------------------------ asking
    def ask_stream(self, user: User, question: str, mode: str = "policy", history_messages: list[dict] | None = None,
                   conversation_id: str | None = None) -> Iterator[Event]:
        """Answer events (status / sources / token / final). With a conversation id the
        turn is saved there, and earlier turns of it are used for follow-up questions."""
        require(user, "ask")
        if mode not in MODE_LABELS:
            raise UserError(f"未知的提问方式：{mode}（可选：policy 找政策、solution 搜方案）")
        question = (question or "").strip()
        if len(question) > MAX_QUESTION_CHARS:
            raise UserError(f"问题太长了（{len(question)} 字），请控制在 {MAX_QUESTION_CHARS} 字以内")
        if history_messages is None and conversation_id:
            conv = history.get_conversation(user.username, conversation_id)
            history_messages = [{"role": m["role"], "content": m["content"]} for m in conv.messages] if conv else []
        for event in self.answerer.stream(question, mode, history_messages or None):
            if event.kind == "final" and conversation_id and question:
                history.append_turn(user.username, conversation_id, question, event.answer.to_json(), mode)
            yield event

    def ask(self, user: User, question: str, mode: str = "policy", conversation_id: str | None = None):
        final = None
        for event in self.ask_stream(user, question, mode, conversation_id=conversation_id):
            if event.kind == "final":
                final = event.answer
        return final

    def conversations(self, user: User, limit: int = 50) -> list[history.Conversation]:
        require(user, "ask")
        return history.list_conversations(user.username, limit)

    def conversation(self, user: User, conversation_id: str) -> history.Conversation:
        require(user, "ask")
        conv = history.get_conversation(user.username, conversation_id)
        if conv is None:
            raise UserError("找不到这段对话（可能已被删除）")
        return conv

    def delete_conversation(self, user: User, conversation_id: str) -> None:
        require(user, "ask")
        history.delete_conversation(user.username, conversation_id)

    def feedback(self, user: User, question: str, answer: str, citations: list[dict], rating: int,
                 comment: str = "", conversation_id: str | None = None) -> int:
        require(user, "feedback")
        if not (question or "").strip():
            raise UserError("还没有可以评价的回答")
        return history.add_feedback(user.username, question, answer, citations, rating, comment, conversation_id)

    def list_feedback(self, user: User, limit: int = 200) -> list[history.Feedback]:
        require(user, "review")
        return history.list_feedback(limit)

    # ------------------------------------------------------------ knowledge bases
    def kb_names(self, user: User) -> list[str]:
        require(user, "kb.read")
        return self.library.names()

    def _kb(self, name: str, *, create: bool = False) -> KnowledgeBase:
        return self.library.get(name, create=create)

    def _files_dir(self, kb: str) -> Path:
        path = self.settings.home / "files" / kb
        path.mkdir(parents=True, exist_ok=True)
        return path

    def kb_stats(self, user: User) -> list[dict]:
        require(user, "kb.read")
        stats = [kb.stats() for kb in self.library.select()]
        # A KB that would not open is listed too (searches leave it out), so an admin sees it and can remove it.
        return stats + [{"name": f"{name}（{'正被其他程序占用' if BUSY in why else '文件已损坏'}，暂时打不开，"
                                 "请管理员检查）", "documents": 0, "chunks": 0, "chunks_by_type": {}, "size_mb": 0}
                        for name, why in self.library.broken.items()]

    def list_documents(self, user: User, kb: str | None = None, query: str | None = None,
                       doc_type: str | None = None) -> list[KbDocument]:
        require(user, "kb.read")
        check_doc_type(doc_type)
        kbs = [self._kb(kb)] if kb else self.library.select()
        return [KbDocument(k.name, d) for k in kbs
                for d in k.documents(doc_type=doc_type or None, query=(query or "").strip() or None)]

    def document_chunks(self, user: User, kb: str, doc_id: int) -> list[Hit]:
        require(user, "kb.read")
        target = self._kb(kb)
        if target.get_document(int(doc_id)) is None:
            raise UserError(f"知识库「{kb}」中没有编号为 {doc_id} 的文档")
        return target.chunks_of(int(doc_id))

    def upload(self, user: User, files: list[str | Path], kb: str | None = None, doc_type: str | None = None,
               progress: Progress | None = None) -> list[IngestResult]:
        """Add files to a KB; one result per file. A bad file never changes what is already stored."""
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
                # A file of the same name replaces the stored one (a new version); two in one batch are two files.
                results.append(IngestResult(title=name, source=name, status="error",
                                            error=f"这一批里已经有一个叫 {name} 的文件，同名文件会互相覆盖；请改名后再单独上传"))
                continue
            names_seen.add(name)
            try:
                results.append(self._upload_one(user, Path(f), kb, doc_type))
            except UserError as e:
                results.append(IngestResult(title=name, source=name, status="error", error=str(e)))
            except Exception:
                log.exception("upload of %s failed", name)
                results.append(IngestResult(title=name, source=name, status="error",
                                            error="导入时系统出错，文件未加入知识库（详情已记入日志）"))
        progress(1.0, "导入完成")
        return results

    def _upload_one(self, user: User, path: Path, kb: str | None, doc_type: str | None) -> IngestResult:
        name = _safe_filename(path.name)
        suffix = Path(name).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            from ingest.loaders import SUPPORTED

            raise UserError(f"不支持的文件类型：{suffix or '（无扩展名）'}。支持：{SUPPORTED}")
        if not path.is_file():
            raise UserError(f"找不到上传的文件：{name}")
        size, limit = path.stat().st_size, self.settings.max_upload_mb
        if size > limit * 1024 * 1024:
            raise UserError(f"文件太大：{name} 有 {size / 2**20:.1f} MB，超过了 {limit} MB 的上限。"
                            "请拆分成几个小文件再上传")
        if not doc_type:
            from ingest.loaders import guess_doc_type

            doc_type = guess_doc_type(Path(name))
        target = self._kb(kb or KB_FOR_TYPE[doc_type], create=True)
        final = self._files_dir(target.name) / name
        # Ingest from a private copy; it replaces the stored file only once the KB accepted it,
        # so a corrupt re-upload leaves both the old file and its chunks in place.
        incoming = self._files_dir(target.name) / ".incoming" / uuid.uuid4().hex
        incoming.mkdir(parents=True)
        try:
            staged = incoming / name
            shutil.copyfile(path, staged)
            result = target.add_file(staged, doc_type=doc_type, source=str(final))
            if result.status in ("added", "replaced"):
                os.replace(staged, final)
                log.info("%s uploaded %s to %s: %s", user.username, name, target.name, result.status)
        finally:
            shutil.rmtree(incoming, ignore_errors=True)
        return result

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
        result = target.add_document(doc)
        if result.status == "added" and not result.added:  # the very same case is already stored
            target.remove_document(result.doc_id)
            raise UserError("案例库里已有一条内容完全相同的案例，没有重复保存")
        log.info("%s added case %r: %s", user.username, title, result.status)
        return result

    def delete_document(self, user: User, kb: str, doc_id: int) -> DocumentInfo:
        require(user, "kb.write")
        target = self._kb(kb)
        doc = target.get_document(int(doc_id))
        if doc is None or not target.remove_document(int(doc_id)):
            raise UserError(f"知识库「{kb}」中没有编号为 {doc_id} 的文档")
        self._remove_stored_copy(target.name, doc.source)
        log.info("%s deleted document %s (%s) from %s", user.username, doc.id, doc.title, kb)
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
        result = self.upload(user, [file], kb=target.name, doc_type=old.doc_type)[0]
        if result.status in ("added", "replaced", "unchanged") and result.doc_id != old.id:
            target.remove_document(old.id)
            if Path(old.source) != Path(result.source):
                self._remove_stored_copy(target.name, old.source)
        return result

    def _remove_stored_copy(self, kb: str, source: str) -> None:
        folder = self._files_dir(kb).resolve()
        path = Path(source)
        if path.is_absolute() and path.resolve().parent == folder:
            path.unlink(missing_ok=True)

    def stored_file(self, user: User, kb: str, doc_id: int) -> Path | None:
        """The kept copy of an uploaded document (for download), if there is one."""
        require(user, "kb.read")
        doc = self._kb(kb).get_document(int(doc_id))
        if doc is None:
            return None
        path = Path(doc.source)
        folder = self._files_dir(kb).resolve()
        return path if path.is_absolute() and path.resolve().parent == folder and path.is_file() else None

    def import_laws(self, user: User, names: list[str] | None = None,
                    progress: Progress | None = None) -> list[IngestResult]:
        require(user, "kb.write")
        from ingest.laws import DEFAULT_LAWS

        names = [n.strip() for n in (names or DEFAULT_LAWS) if n.strip()]
        progress = progress or (lambda frac, msg: None)
        target = self._kb(LAWS_KB, create=True)
        results = []
        for i, name in enumerate(names):
            progress(i / len(names), f"正在导入法律：{name}（{i + 1}/{len(names)}）")
            results.append(import_law(target, name))
        progress(1.0, "导入完成")
        return results

    # ------------------------------------------------------------ accounts
    def list_users(self, user: User) -> list[User]:
        require(user, "accounts")
        return accounts.list_users()

    def add_user(self, user: User, username: str, role: str, password: str = "") -> tuple[User, str]:
        """Create an account; returns it and its password (generated when none is given)."""
        require(user, "accounts")
        password = password or accounts.generate_password()
        new = accounts.create_user(username, password, role)
        log.info("%s created user %s (%s)", user.username, new.username, new.role)
        return new, password

    def set_role(self, user: User, username: str, role: str) -> User:
        require(user, "accounts")
        return accounts.set_role(username, role)

    def reset_password(self, user: User, username: str, password: str = "") -> str:
        require(user, "accounts")
        password = password or accounts.generate_password()
        accounts.set_password(username, password)
        return password

    def change_own_password(self, user: User, old: str, new: str) -> None:
        if accounts.authenticate(user.username, old) is None:
            raise UserError("原密码不正确")
        accounts.set_password(user.username, new)

    def delete_user(self, user: User, username: str) -> None:
        require(user, "accounts")
        if username == user.username:
            raise UserError("不能删除当前登录的账号")
        accounts.delete_user(username)


def _safe_filename(name: str) -> str:
    """A file name safe to keep under files/<kb>/ (no folders, no hidden files)."""
    name = Path(name.replace("\\", "/")).name.strip().lstrip(".")
    return name or "未命名文件"


_service: Service | None = None
_service_lock = threading.Lock()


def get_service() -> Service:
    """The process-wide service (not started; call ``start()`` once)."""
    global _service
    with _service_lock:
        if _service is None:
            _service = Service()
        return _service
