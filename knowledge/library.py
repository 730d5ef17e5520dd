"""All knowledge bases under ``$SHEGONG_HOME/kbs``, opened with one shared embedder.

Default KBs on a new install:
    手册      the bundled 社区工作指导手册 (handbook)
    政策法规  the bundled 居委会权责清单 + the default national laws
    案例库    the bundled 案例集 and cases added by supervisors
"""

from __future__ import annotations

import logging
import re
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from knowledge import reembed as reembedding
from knowledge.embed.base import Embedder, make_embedder
from knowledge.importer import add_file, import_law, step_progress
from knowledge.store import FAISS_FILE, IngestResult, KnowledgeBase
from shegong.config import get_settings
from shegong.errors import UserError

SAMPLES_DIR = Path(__file__).parent / "samples"

# (file in knowledge/samples, KB, doc_type)
BUNDLED_SAMPLES = [
    ("社区工作指导手册（示例）.md", "手册", "handbook"),
    ("居委会权责清单（示例）.md", "政策法规", "policy"),
    ("案例集（示例）.csv", "案例库", "case"),
]
LAWS_KB = "政策法规"
CASES_KB = "案例库"
HANDBOOK_KB = "手册"
KB_FOR_TYPE = {"handbook": HANDBOOK_KB, "policy": LAWS_KB, "law": LAWS_KB, "case": CASES_KB}  # default KB per type

log = logging.getLogger(__name__)
RESERVED_NAMES = {"全部"}  # the app's "all KBs" choice
_VALID_NAME = re.compile(r"^[\w\u4e00-\u9fff\-]{1,40}$")

Progress = Callable[[float, str], None]


class Library:
    def __init__(self, root: Path | None = None, embedder: Embedder | None = None):
        settings = get_settings()
        self.root = Path(root) if root else settings.kbs_dir
        self.root.mkdir(parents=True, exist_ok=True)
        self.embedder = embedder or make_embedder(settings.embedder, settings.embedder_query_prefix)
        self._open: dict[str, KnowledgeBase] = {}
        self._lock = threading.RLock()
        self.broken: dict[str, str] = {}  # KBs that would not open when all were selected: name -> why

    def names(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if (p / "kb.sqlite").exists())

    def get(self, name: str, *, create: bool = False) -> KnowledgeBase:
        name = name.strip()
        with self._lock:
            self._forget_if_gone(name)
            if name not in self._open:
                if create and name in RESERVED_NAMES and name not in self.names():
                    raise UserError(f"“{name}”在界面上表示所有知识库，不能用作知识库名称，请换一个")
                if not _VALID_NAME.match(name):
                    raise UserError(f"知识库名称不合法：{name}（只能用中文、字母、数字、下划线和减号）")
                if not create and name not in self.names():
                    raise UserError(f"没有名为「{name}」的知识库。现有：{'、'.join(self.names()) or '无'}")
                self._open[name] = KnowledgeBase(self.root / name, self.embedder, create=create)
            return self._open[name]

    def open_dir(self, path: Path | str, *, create: bool = True) -> KnowledgeBase:
        """A KB at an explicit directory (``--kb DIR``)."""
        path = Path(path).expanduser().resolve()
        key = str(path)
        with self._lock:
            self._forget_if_gone(key)
            if key not in self._open:
                self._open[key] = KnowledgeBase(path, self.embedder, create=create)
            return self._open[key]

    def _forget_if_gone(self, key: str) -> None:
        # Another process ran `kb remove` (and perhaps re-created the KB): open it afresh instead of serving,
        # and writing into, the deleted files. Not closed here: a search in another thread may still be using it.
        kb = self._open.get(key)
        if kb is not None and not kb.is_current():
            del self._open[key]

    def select(self, names: Iterable[str] | None = None) -> list[KnowledgeBase]:
        """KBs to search: the named ones, or all that open (a damaged one is left out, see ``broken``)."""
        if names:
            return [self.get(n) for n in names]
        kbs = []
        names = self.names()
        for gone in set(self.broken) - set(names):  # removed by hand or by another process
            self.broken.pop(gone)
        for n in names:
            try:
                kbs.append(self.get(n))
                self.broken.pop(n, None)
            except UserError as e:
                if n not in self.broken:
                    log.warning("knowledge base %s left out: %s", n, e)
                self.broken[n] = str(e)
        return kbs

    def remove_kb(self, name: str) -> None:
        with self._lock:
            kb = self._open.pop(name, None)
            if kb:
                kb.close()
            if name not in self.names():
                raise UserError(f"没有名为「{name}」的知识库")
            shutil.rmtree(self.root / name)
            self.broken.pop(name, None)

    def remove_dir(self, path: Path | str) -> None:
        """Delete the KB at an explicit directory: only the KB's own files, then the folder if it is empty."""
        path = Path(path).expanduser().resolve()
        with self._lock:
            if not (path / "kb.sqlite").exists():
                raise UserError(f"{path} 中没有知识库")
            kb = self._open.pop(str(path), None)
            if kb:
                kb.close()
            for f in path.iterdir():
                if f.name.startswith("kb.sqlite") or FAISS_FILE.fullmatch(f.name):
                    f.unlink()
            if not any(path.iterdir()):
                path.rmdir()

    # ------------------------------------------------------------ another embedder's KBs
    def stale(self) -> dict[str, str]:
        """KBs whose vectors another embedder made (name -> that embedder). They never open with this one
        (no search mixes the two kinds of vectors) until ``reembed`` moves them; nothing in them is lost."""
        out = {}
        for name in self.names():
            try:
                if reembedding.needs_reembed(self.root / name, self.embedder):
                    out[name] = reembedding.stored_embedder(self.root / name)[0]
            except sqlite3.Error:  # damaged or busy: ``select`` reports it among the broken ones
                continue
        return out

    def kb_dir(self, ref: str | Path) -> Path:
        """The folder of a KB named in the library, or (``--kb DIR``) of a KB folder anywhere."""
        if isinstance(ref, Path):
            path = ref.expanduser().resolve()
            if not (path / "kb.sqlite").exists():
                raise UserError(f"{path} 中没有知识库")
            return path
        if ref not in self.names():
            raise UserError(f"没有名为「{ref}」的知识库。现有：{'、'.join(self.names()) or '无'}")
        return self.root / ref

    def reembed_plan(self, ref: str | Path) -> dict:
        """What moving this KB to the current embedder costs (see ``knowledge.reembed.plan``)."""
        return reembedding.plan(self.kb_dir(ref), self.embedder)

    def reembed(self, ref: str | Path, progress: reembedding.Progress | None = None) -> int:
        """Move a KB to the current embedder (resumable; the KB serves its old vectors to the old embedder
        until the swap). Returns the number of chunks embedded in this run; 0 when it already uses it."""
        path = self.kb_dir(ref)
        embedded = reembedding.reembed(path, self.embedder, progress)
        with self._lock:
            self.broken.pop(path.name if isinstance(ref, str) else str(path), None)
        log.info("knowledge base %s moved to %s (%d chunks embedded)", path, self.embedder.name, embedded)
        return embedded

    def find_article(self, law: str, article: str):
        """Look a law article up across every KB (used to verify citations)."""
        hits = []
        for kb in self.select():
            hits += kb.find_article(law, article)
        return hits

    def titles(self) -> set[str]:
        """Document titles across every KB."""
        return {t for kb in self.select() for t in kb.titles()}

    # ------------------------------------------------------------ first run
    def needs_setup(self) -> bool:
        return not all(n in self.names() for n in ("手册", LAWS_KB, CASES_KB))

    def install_defaults(self, progress: Progress | None = None, laws: list[str] | None = None) -> list[IngestResult]:
        """Index the bundled samples and the default national laws (idempotent: unchanged files are skipped).
        ``progress(frac, message)`` moves chunk by chunk while a file is embedded."""
        from ingest.laws import DEFAULT_LAWS

        progress = progress or (lambda frac, msg: None)
        laws = DEFAULT_LAWS if laws is None else laws
        steps = len(BUNDLED_SAMPLES) + len(laws)
        results = []
        for i, (fname, kb_name, doc_type) in enumerate(BUNDLED_SAMPLES):
            label = f"正在导入示例资料：{fname}"
            progress(i / steps, label)
            results.append(add_file(self.get(kb_name, create=True), SAMPLES_DIR / fname, doc_type=doc_type,
                                    progress=step_progress(progress, i / steps, (i + 1) / steps, label)))
        kb = self.get(LAWS_KB, create=True)
        for j, law in enumerate(laws, start=len(BUNDLED_SAMPLES)):
            label = f"正在导入法律：{law}"
            progress(j / steps, label)
            results.append(import_law(kb, law, progress=step_progress(progress, j / steps, (j + 1) / steps, label)))
        progress(1.0, "知识库已就绪")
        return results


_library: Library | None = None
_library_lock = threading.Lock()


def get_library() -> Library:
    """The process-wide library (the app and the CLI share it)."""
    global _library
    with _library_lock:
        if _library is None or _library.root != get_settings().kbs_dir:
            _library = Library()
        return _library
