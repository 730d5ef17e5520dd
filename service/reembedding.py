"""Knowledge bases built with another embedder: listing them, and moving them to the current one.

A KB whose vectors another embedder made never opens with this one, so no search mixes the two kinds
of vectors; it is left out of searches (the status line says which, and who can fix it) until it is
re-embedded here: ``shegong kb reembed``, or the 重新向量化 button of the 知识库 tab. Re-embedding keeps
every document and chunk, stages the new vectors (interruptible, resumable) and swaps them in at once
(knowledge/reembed.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from service.accounts import User, require
from shegong.errors import UserError

Progress = Callable[[float, str], None]


@dataclass
class StaleKb:
    name: str
    embedder: str  # the model that made its vectors
    chunks: int
    to_compute: int  # chunks the current model must embed (the others have shipped or already staged vectors)


@dataclass
class Reembedded:
    name: str
    moved: bool  # False: it already used the current embedder
    embedded: int  # chunks embedded by this run
    chunks: int


class ReembedActions:
    """Mixed into Service, which provides ``library``."""

    _reembedding: str | None = None  # what the status line says while a re-embedding runs
    _reembed_lock = threading.Lock()  # one at a time: both would embed the same chunks

    def embedder_name(self) -> str:
        """The embedder this office's settings name (every KB is searched with its vectors)."""
        return self.library.embedder.name

    def stale_kbs(self, user: User) -> list[StaleKb]:
        """KBs waiting for re-embedding, with what it costs (KB browsing: 督导, 管理员; everyone else reads
        ``reembed_notice`` in the status line)."""
        require(user, "kb.read")
        out = []
        for name, old in self.library.stale().items():
            plan = self.library.reembed_plan(name)
            out.append(StaleKb(name, old, plan["chunks"], plan["to_compute"]))
        return out

    def reembed_kbs(self, user: User, kbs: list | None = None, progress: Progress | None = None) -> list[Reembedded]:
        """Move the named KBs (names, or KB folders from the CLI), or every stale one, to the current embedder.
        ``progress(frac, message)`` moves chunk by chunk."""
        require(user, "kb.write")
        progress = progress or (lambda frac, msg: None)
        targets = list(kbs) if kbs else list(self.library.stale())
        results = []
        with self._reembed_lock:
            try:
                for i, ref in enumerate(targets):
                    name = getattr(ref, "name", str(ref))  # a KB folder is named by its folder
                    label = f"正在重新向量化知识库「{name}」（{i + 1}/{len(targets)}）"
                    plan = self.library.reembed_plan(ref)

                    def report(done: int, total: int, i=i, label=label) -> None:
                        msg = f"{label}：{done}/{total} 段"
                        self._reembedding = msg
                        progress((i + done / max(total, 1)) / len(targets), msg)

                    embedded = self.library.reembed(ref, report)
                    moved = plan["embedder"] != self.library.embedder.name or plan["dim"] != self.library.embedder.dim
                    results.append(Reembedded(name, moved, embedded, plan["chunks"]))
            finally:
                self._reembedding = None
        progress(1.0, "重新向量化完成")
        return results

    def reembed_notice(self) -> str:
        """For the status line: a re-embedding under way, or the KBs waiting for one ("" when none)."""
        if self._reembedding:
            return self._reembedding
        stale = self.library.stale()
        if not stale:
            return ""
        names = "、".join(f"「{n}」" for n in stale)
        return (f"知识库{names}是用旧向量模型建立的，暂不参与检索：请督导或管理员在「知识库」页点“重新向量化”"
                "（或运行 shegong kb reembed --all），资料不会丢失")

    def check_searchable(self) -> None:
        """Every KB waits for re-embedding: say so, rather than answer "not found" from no KB at all."""
        if not self.library.select() and self.library.stale():
            raise UserError("现在没有可检索的知识库：" + self.reembed_notice() + "。")
