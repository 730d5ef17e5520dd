"""The drills domain in one object: the bank (import, export, the bundled sample), practice, exams,
progress and generated drafts, over one DrillStore and one clock. The service layer checks roles
and calls this; nothing here knows about users beyond their id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assistant.drills.bank import Question
from assistant.drills.bankfile import RowProblem, read_bank, write_bank
from assistant.drills.exam import Exams
from assistant.drills.practice import Clock, Practice, Related, local_now
from assistant.drills.progress import Progress, progress
from assistant.drills.queue import DraftQueue
from assistant.drills.scoring import Schedule
from assistant.drills.store import DrillStore

SAMPLE_BANK = Path(__file__).with_name("示例题库.jsonl")
SAMPLE_COLLECTION = "示例题库"


@dataclass
class ImportReport:
    """What an import did; every row that was not imported is listed with why."""

    file: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.added + self.updated

    def summary(self) -> str:
        parts = [f"新增 {self.added} 题"]
        if self.updated:
            parts.append(f"更新 {self.updated} 题")
        if self.unchanged:
            parts.append(f"{self.unchanged} 题与题库中的完全相同，跳过")
        if self.problems:
            parts.append(f"{len(self.problems)} 行有问题未导入")
        text = f"{self.file}：" + "，".join(parts)
        return text + "".join(f"\n  ✗ {p}" for p in self.problems)


class Drills:
    def __init__(self, url: str | None = None, *, clock: Clock = local_now, schedule: Schedule | None = None,
                 related: Related | None = None):
        self.store = DrillStore(url)
        self.practice = Practice(self.store, clock, schedule, related)
        self.exams = Exams(self.practice)
        self.queue = DraftQueue(self.store, clock)

    @property
    def clock(self) -> Clock:
        return self.practice.clock

    # ------------------------------------------------------------ bank files
    def import_file(self, path: Path | str, *, collection: str | None = None, replace: bool = False,
                    added_by: str | None = None) -> ImportReport:
        """Import a JSONL/CSV/XLSX bank: good rows go in (in one transaction), bad rows are reported.

        A question whose id is already in the bank with other content is reported, not overwritten,
        unless ``replace`` (a corrected version of the same bank)."""
        path = Path(path)
        found = read_bank(path, collection)
        counts = self.store.save_questions(found.questions, self.clock(), replace=replace, added_by=added_by)
        problems = list(found.problems) + [
            RowProblem("", "题库中已有这个题号、内容不同的题目，没有覆盖（要用文件里的版本替换，请选择“覆盖同题号的题目”）", q.id)
            for q in counts.conflicts]
        return ImportReport(path.name, counts.added, counts.updated, counts.unchanged, problems)

    def export_file(self, path: Path | str, *, subject: str | None = None, tag: str | None = None) -> int:
        return write_bank(path, self.practice.questions(subject, tag))

    def ensure_sample(self) -> ImportReport | None:
        """On a new install (an empty bank) the bundled 示例题库 goes in; afterwards the bank is left alone,
        so a supervisor who removed the sample does not get it back."""
        if self.store.count_questions():
            return None
        return self.import_file(SAMPLE_BANK, collection=SAMPLE_COLLECTION)

    def questions(self, subject: str | None = None, tag: str | None = None) -> list[Question]:
        return self.practice.questions(subject, tag)

    def progress(self, user_id: str) -> Progress:
        return progress(self.store, user_id, self.clock())
