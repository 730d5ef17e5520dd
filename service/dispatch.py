"""The dispatch half of the Service (issue 20): the district's 权责清单 and 12345 tickets routed to it.

Who may do what (service/accounts.py):
- ``dispatch``: dispatch a ticket, see the list, accept or correct a dispatch (社工, 督导, 管理员); a 社工
  reviews only the dispatches they made themselves;
- ``dispatch.manage``: import a list, export the record of all dispatches (督导, 管理员).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from assistant.dispatch.desk import DispatchDesk
from assistant.dispatch.listfile import Item, ParsedList
from assistant.dispatch.result import DispatchResult
from assistant.dispatch.store import ListVersion, Record
from knowledge.store import IngestResult
from service.accounts import User, require
from shegong.errors import PermissionDenied, UserError

log = logging.getLogger(__name__)

_desk_lock = threading.Lock()


class DispatchActions:
    """Mixed into Service, which provides ``library``, ``answerer`` (its LLM, once loaded) and ``retriever``."""

    _dispatch_desk: DispatchDesk | None = None

    @property
    def dispatch_desk(self) -> DispatchDesk:
        with _desk_lock:
            if self._dispatch_desk is None:
                self._dispatch_desk = DispatchDesk(self.library, None, retriever=self.retriever)
            # The model loads in the background: a dispatch uses it once it is there (for the reason sentence
            # and, where MatchConfig.judge asks for it, the close calls).
            self._dispatch_desk.llm = self.answerer.llm
            return self._dispatch_desk

    def dispatch_import(self, user: User, path: str | Path, title: str | None = None
                        ) -> tuple[ListVersion, ParsedList, IngestResult]:
        require(user, "dispatch.manage")
        return self.dispatch_desk.import_file(path, user=user.username, title=title)

    def dispatch_list(self, user: User) -> tuple[ListVersion, list[Item]]:
        """The list in use (the bundled 示例 list on a fresh install) and its items."""
        require(user, "dispatch")
        desk = self.dispatch_desk
        version = desk.ensure_list()
        return version, desk.store.items(version)

    def dispatch_ticket(self, user: User, ticket: str, *, with_reason: bool = True,
                        with_next_steps: bool = True) -> DispatchResult:
        require(user, "dispatch")
        return self.dispatch_desk.dispatch(ticket, user=user.username, with_reason=with_reason,
                                           with_next_steps=with_next_steps)

    def dispatch_review(self, user: User, record_id: int, *, accepted: bool, codes: list[str] | None = None,
                        note: str = "") -> Record:
        """Accept a dispatch, or correct it ([] = 无匹配). The correction is used for similar tickets later."""
        require(user, "dispatch")
        desk = self.dispatch_desk
        record = desk.store.get(int(record_id))
        if record is None:
            raise UserError(f"没有编号为 {record_id} 的派单记录")
        if record.username != user.username and not user.can("dispatch.manage"):
            raise PermissionDenied("只能确认或纠正自己派的单；别人的派单请让督导处理")
        if not accepted and codes is None:
            raise UserError("纠正时请选择应派的事项（不在清单中的选“无匹配”）")
        return desk.review(int(record_id), user=user.username, accepted=accepted, codes=codes, note=note)

    def dispatch_export(self, user: User, path: str | Path) -> Path:
        require(user, "dispatch.manage")
        return self.dispatch_desk.export(path)
