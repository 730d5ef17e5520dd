"""The real exam's scoring rules and the 错题本 schedule, on their own (no database)."""

from __future__ import annotations

from datetime import datetime

import pytest

from assistant.drills import Question, Schedule, mark
from assistant.drills.bank import question_from_record

pytestmark = pytest.mark.unit


def q(record: dict) -> Question:
    base = {"id": "S-1", "stem": "题干", "explanation": "解析"}
    return question_from_record({**base, **record})


def test_real_exam_scoring_rules():
    single = q({"options": {"A": "甲", "B": "乙", "C": "丙", "D": "丁"}, "answer": "C"})
    assert (mark(single, "C").points, mark(single, "c").correct) == (1.0, True)
    assert mark(single, "B").points == 0 and mark(single, "").verdict == "未作答"
    multi = q({"options": dict(zip("ABCDE", "甲乙丙丁戊")), "answer": "ACD"})
    assert mark(multi, "DCA").points == 2.0 and mark(multi, "ACD").correct
    assert mark(multi, "AC").points == 1.0  # 少选：所选的每个选项得 0.5 分
    assert mark(multi, "A").points == 0.5 and mark(multi, "A").verdict == "不完全正确"
    assert not mark(multi, "AC").correct  # partial credit, but not "known"
    assert mark(multi, "ACDE").points == 0 and mark(multi, "AB").points == 0  # 错选：本题不得分
    assert mark(multi, ["A", "X"]).chosen == "A"  # letters that are no option are dropped


def test_schedule_counts_calendar_days():
    s = Schedule()
    late = datetime(2026, 12, 1, 23, 50)
    assert s.due(0, late) == datetime(2026, 12, 2)  # back the next morning, not at 23:50
    assert [s.due(i, late).day for i in range(6)] == [2, 3, 5, 8, 16, 16]
    with pytest.raises(ValueError):
        Schedule(intervals=(0, 1))
