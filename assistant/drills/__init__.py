"""题库练习: an exam bank for trainees preparing the 社会工作者职业水平考试.

    bank.py       the question and the validation of a record (Chinese messages)
    bankfile.py   JSON Lines / CSV / XLSX import with bad rows reported, and export
    store.py      the tables in the app database (SQLAlchemy Core: SQLite or PostgreSQL)
    scoring.py    the real exam's scoring rules and the 错题本 schedule
    practice.py   practice rounds, 错题复习, the 错题本 (clock injected)
    exam.py       the timed 模拟考试
    progress.py   accuracy by subject and tag
    related.py    相关依据: knowledge-base passages for a question
    generate.py   questions drafted by the LLM from a passage (two small steps), the second pass
    checks.py     the checks of a draft against its passage
    queue.py      the review queue: only approved drafts enter the bank
    core.py       ``Drills``: all of the above over one store and one clock
"""

from assistant.drills.bank import SUBJECTS, BankError, Question
from assistant.drills.core import SAMPLE_BANK, Drills, ImportReport
from assistant.drills.exam import ExamClosed, ExamConfig
from assistant.drills.scoring import Schedule, mark

__all__ = ["SAMPLE_BANK", "SUBJECTS", "BankError", "Drills", "ExamClosed", "ExamConfig", "ImportReport",
           "Question", "Schedule", "mark"]
