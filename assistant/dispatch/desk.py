"""The dispatch desk: the list store, the matcher and the knowledge base, wired together.

The Service (roles) and the CLI call this; it does not check roles itself.

    desk = DispatchDesk(library, llm)
    version, parsed, kb_result = desk.import_file("清单.xlsx", user="王督导")
    result = desk.dispatch("楼下烧烤店油烟熏得开不了窗", user="李社工")
    desk.review(result.record_id, user="李社工", accepted=False, codes=["A-009"])
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from assistant.dispatch.judge import Example
from assistant.dispatch.listfile import DUTY_MEANING, Item, ParsedList, read_list
from assistant.dispatch.matcher import DispatchResult, Matcher, MatchConfig, check_ticket
from assistant.dispatch.store import DispatchStore, ListVersion, Record
from ingest.types import Block, LoadedDocument
from knowledge.importer import add_document
from knowledge.library import LAWS_KB, Library
from knowledge.retrieve.hybrid import HybridRetriever
from knowledge.store import IngestResult
from shegong.errors import UserError

log = logging.getLogger(__name__)

SAMPLE_LIST = Path(__file__).parent / "data" / "权责清单（示例）.csv"
SAMPLE_USER = "系统（内置示例）"
# The list is indexed in 政策法规: 找政策 answers must cite a law or policy (assistant.answer.MODE_NEEDS), and
# the list is the district's policy document that names, for each matter, the department and the law.
# One fixed source: a re-import replaces the document instead of adding a second list.
KB_NAME = LAWS_KB
KB_SOURCE = "dispatch:权责清单"


def list_document(items: list[Item], title: str, version: ListVersion | None = None) -> LoadedDocument:
    """The list as a knowledge-base document: one record (one chunk) per item, cited as 《title》编号 事项."""
    blocks = []
    for it in items:
        fields = {k: v for k, v in it.to_json().items() if v}
        fields["社区职责说明"] = DUTY_MEANING[it.duty]
        text = "\n".join(f"{k}：{v}" for k, v in fields.items())
        blocks.append(Block(kind="record", text=text, label=f"{it.code} {it.matter}", fields=fields))
    meta = {"dispatch_list": True}
    if version is not None:
        meta.update(version=version.version, imported_by=version.imported_by,
                    imported_at=f"{version.imported_at:%Y-%m-%d %H:%M}")
    if "示例" in title:
        meta["sample"] = True
    return LoadedDocument(title=title, source=KB_SOURCE, doc_type="policy", blocks=blocks, meta=meta)


class DispatchDesk:
    def __init__(self, library: Library, llm=None, *, url: str | None = None, config: MatchConfig | None = None,
                 retriever: HybridRetriever | None = None):
        self.library = library
        self.llm = llm
        self.store = DispatchStore(url)
        self.config = config or MatchConfig()
        self.retriever = retriever or HybridRetriever(library)
        self._matcher: Matcher | None = None
        self._lock = threading.Lock()
        self._first_list = threading.Lock()

    # ------------------------------------------------------------ the list
    def import_file(self, path: str | Path, *, user: str, title: str | None = None
                    ) -> tuple[ListVersion, ParsedList, IngestResult]:
        """Check, store (a new version, atomically) and index a list file. Bad rows are left out and reported."""
        path = Path(path)
        parsed = read_list(path)  # raises UserError for a file-level problem: nothing changes
        title = (title or path.stem).strip() or "权责清单"
        version = self.store.import_list(parsed.items, title=title, source_file=path.name, user=user,
                                         report=parsed.to_json())
        kb_result = self._index(parsed.items, version)
        with self._lock:
            self._matcher = None
        log.info("%s imported dispatch list %s v%s (%d items, %d bad rows)", user, path.name, version.version,
                 len(parsed.items), len(parsed.errors))
        return version, parsed, kb_result

    def _index(self, items: list[Item], version: ListVersion) -> IngestResult:
        """Replace the list's document in the knowledge base; a failure here leaves the new list in use."""
        try:
            kb = self.library.get(KB_NAME, create=True)
            result = add_document(kb, list_document(items, version.title, version))
        except UserError as e:
            result = IngestResult(title=version.title, source=KB_SOURCE, status="error", error=str(e))
        except Exception as e:  # the list is stored and in use; only 找政策 cannot cite it yet
            log.exception("indexing the dispatch list failed")
            result = IngestResult(title=version.title, source=KB_SOURCE, status="error",
                                  error=f"写入知识库时出错（{type(e).__name__}，详情已记入日志）")
        if result.status == "error":
            log.warning("dispatch list not indexed: %s", result.error)
        return result

    def ensure_list(self) -> ListVersion:
        """The list in use; on a fresh data dir the bundled 示例 list is imported first."""
        current = self.store.current()
        if current is None:
            with self._first_list:  # two first requests at once: one imports, the other waits and reads it
                current = self.store.current()
                if current is None:
                    current, _, _ = self.import_file(SAMPLE_LIST, user=SAMPLE_USER)
        return current

    def items(self) -> list[Item]:
        return self.store.items(self.ensure_list())

    def matcher(self) -> Matcher:
        version = self.ensure_list()
        with self._lock:
            if self._matcher is None or self._matcher.list_version != version.version:
                self._matcher = Matcher(self.store.items(version), self.library.embedder, self.llm,
                                        retriever=self.retriever, config=self.config, list_version=version.version)
            self._matcher.llm = self.llm
            return self._matcher

    # ------------------------------------------------------------ dispatching
    def examples(self) -> list[Example]:
        return [Example(r.ticket, r.final_codes or []) for r in self.store.corrections()]

    def dispatch(self, ticket: str, *, user: str, record: bool = True, **kw) -> DispatchResult:
        text = check_ticket(ticket)
        version = self.ensure_list()
        result = self.matcher().dispatch(text, self.examples(), **kw)
        if version.imported_by == SAMPLE_USER:
            result.warnings.append("当前使用的是内置的示例清单（虚构的青禾街道），请督导导入本区的权责清单。")
        if record:
            result.record_id = self.store.add_record(user=user, list_version=result.list_version, ticket=text,
                                                     codes=result.codes, result=result.to_json())
        return result

    def review(self, record_id: int, *, user: str, accepted: bool, codes: list[str] | None = None,
               note: str = "") -> Record:
        """Accept a dispatch, or correct it to other items of the list ([] = 无匹配)."""
        codes = [c.strip() for c in (codes or []) if c.strip()]
        known = {it.code for it in self.items()}
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise UserError(f"清单里没有这些编号：{'、'.join(unknown)}。请从清单的事项中选择")
        if len(set(codes)) != len(codes):
            raise UserError("纠正的编号有重复")
        return self.store.review(record_id, user=user, accepted=accepted, codes=codes, note=note)

    def export(self, path: str | Path) -> Path:
        return self.store.export_xlsx(path)
