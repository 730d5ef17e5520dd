"""Scoring, practice rounds, the 错题本 schedule and the 模拟考试, on SQLite and on a real PostgreSQL,
with a clock the test controls (days pass without waiting)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from assistant.drills import SUBJECTS, Drills, ExamClosed, ExamConfig, Schedule
from shegong import db
from shegong.errors import UserError

pytestmark = pytest.mark.integration

ALICE, BOB = "uid-alice-1", "uid-bob-2"  # user ids: progress is keyed by id, never by name


class Clock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def days(self, n: float) -> None:
        self.now += timedelta(days=n)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, shegong_home):
    if request.param == "sqlite":
        yield db.database_url()
    else:
        url = request.getfixturevalue("postgres_url")
        from assistant.drills.store import metadata

        engine = db.get_engine(url)
        metadata.drop_all(engine)  # one server for the session: each test starts from empty tables
        yield url
    db.dispose_engines()


@pytest.fixture
def clock():
    return Clock(datetime(2026, 12, 1, 20, 30))


@pytest.fixture
def drills(url, clock):
    d = Drills(url, clock=clock)
    assert d.ensure_sample().added == 179
    return d


# ---------------------------------------------------------------- practice
def test_practice_round_gives_feedback_and_resumes_where_it_stopped(drills, clock):
    p = drills.practice
    round_ = p.start(ALICE, subject="社会工作法规与政策", tag="老年人权益保障法")
    assert round_.total == 6 and round_.question.id == "Q-FG-001"
    first = round_.question
    assert "answer" not in first.public() and "explanation" not in first.public()
    feedback = p.answer(ALICE, round_.id, first.id, first.answer)
    assert feedback.mark.correct and feedback.question.explanation and feedback.review_note == ""
    with pytest.raises(UserError, match="已经答过了"):  # a double click sends the same answer again
        p.answer(ALICE, round_.id, first.id, first.answer)
    second = p.view(ALICE, round_.id).question
    wrong = next(ch for ch in second.options if ch not in second.answer)
    feedback = p.answer(ALICE, round_.id, second.id, wrong)
    assert not feedback.mark.correct and feedback.review_note == "已记入错题本，明天复习"
    # Another trainee neither sees nor continues this round; its owner resumes at the third question.
    assert p.resume(BOB) is None
    with pytest.raises(UserError, match="找不到这次练习"):
        p.answer(BOB, round_.id, second.id, "A")
    resumed = p.resume(ALICE)
    assert (resumed.id, resumed.position, resumed.question.id) == (round_.id, 2, p.view(ALICE, round_.id).question.id)
    with pytest.raises(UserError, match="请先选择答案"):
        p.answer(ALICE, round_.id, resumed.question.id, "")


def test_random_order_and_limit(drills):
    round_ = drills.practice.start(ALICE, order="random", limit=10)
    assert round_.total == 10
    with pytest.raises(UserError, match="没有符合条件的题目"):
        drills.practice.start(ALICE, tag="没有这个标签")


def test_wrong_answers_come_back_on_schedule_until_right_three_times(drills, clock):
    p = drills.practice
    question = drills.questions(tag="民法典")[0]
    wrong = next(ch for ch in question.options if ch not in question.answer)

    def review_round():
        round_ = p.start_review(ALICE)
        return round_, [round_.question.id]

    round_ = p.start(ALICE, tag="民法典", limit=1)
    assert p.answer(ALICE, round_.id, question.id, wrong).review_note == "已记入错题本，明天复习"
    entry = p.wrong_book(ALICE)[0]
    assert (entry.question.id, entry.wrong_count, entry.due) == (question.id, 1, False)
    with pytest.raises(UserError, match="今天没有需要复习的题目"):
        p.start_review(ALICE)
    # Answered right in ordinary practice before it is due: spacing matters, it does not count.
    round_ = p.start(ALICE, tag="民法典", limit=1)
    assert "还没到复习时间" in p.answer(ALICE, round_.id, question.id, question.answer).review_note

    clock.days(1)  # due: stage 0 -> right -> next in 2 days
    round_, ids = review_round()
    assert ids == [question.id]
    assert p.answer(ALICE, round_.id, question.id, question.answer).review_note == \
        "错题本：已连续答对 1/3 次，2 天后复习（12-04）"
    clock.days(1)
    with pytest.raises(UserError):
        p.start_review(ALICE)
    clock.days(1)  # 12-04: right again -> 4 days
    round_, _ = review_round()
    assert "2/3" in p.answer(ALICE, round_.id, question.id, question.answer).review_note
    assert p.wrong_book(ALICE)[0].due_at == datetime(2026, 12, 8)
    clock.days(4)  # 12-08: wrong -> back to the start, due tomorrow
    round_, _ = review_round()
    assert p.answer(ALICE, round_.id, question.id, wrong).review_note == "已记入错题本，明天复习"
    assert (p.wrong_book(ALICE)[0].streak, p.wrong_book(ALICE)[0].wrong_count) == (0, 2)
    for days, expect in [(1, "1/3"), (2, "2/3"), (4, "移出错题本")]:
        clock.days(days)
        round_, _ = review_round()
        assert expect in p.answer(ALICE, round_.id, question.id, question.answer).review_note
    assert p.wrong_book(ALICE) == [] and drills.progress(ALICE).mastered == 1
    assert p.wrong_book(BOB) == []


def test_schedule_and_streak_are_configurable(url, clock):
    drills = Drills(url, clock=clock, schedule=Schedule(intervals=(3,), needed=1))
    drills.ensure_sample()
    question = drills.questions()[0]
    wrong = next(ch for ch in question.options if ch not in question.answer)
    round_ = drills.practice.start(ALICE, limit=1)
    assert drills.practice.answer(ALICE, round_.id, question.id, wrong).review_note.startswith("已记入错题本，3 天后复习")
    clock.days(3)
    round_ = drills.practice.start_review(ALICE)
    assert "移出错题本" in drills.practice.answer(ALICE, round_.id, question.id, question.answer).review_note


def test_progress_by_subject_and_tag(drills):
    p = drills.practice
    round_ = p.start(ALICE, subject="社会工作法规与政策", tag="慈善法")
    for i in range(round_.total):
        current = p.view(ALICE, round_.id).question
        wrong = next(ch for ch in current.options if ch not in current.answer)
        p.answer(ALICE, round_.id, current.id, current.answer if i % 2 == 0 else wrong)
    prog = drills.progress(ALICE)
    n = round_.total
    assert (prog.total.answered, prog.total.right) == (n, (n + 1) // 2)
    assert prog.rows("subject") == [["社会工作法规与政策", n, (n + 1) // 2, round(100 * ((n + 1) // 2) / n, 1)]]
    assert prog.by_tag[0].name == "慈善法" and prog.by_tag[0].answered == n
    assert prog.wrong_active == n // 2 and drills.progress(BOB).total.answered == 0


# ---------------------------------------------------------------- 模拟考试
def test_full_mock_exam_is_timed_scored_and_reviewable(drills, clock):
    exams = drills.exams
    exam, notes = exams.start(ALICE, ExamConfig(per_subject=8, minutes=30))
    assert notes == [] and exam.total == 24 and exam.deadline == clock.now + timedelta(minutes=30)
    paper = [exams.view(ALICE, exam.id, i).question for i in range(exam.total)]
    for subject in SUBJECTS:  # the real format: 单选 first, then a quarter 多选; no 判断
        kinds = [x.type for x in paper if x.subject == subject]
        assert kinds == ["single"] * 6 + ["multiple"] * 2
    # Resuming brings back the question the trainee was on.
    exams.view(ALICE, exam.id, 5)
    assert exams.resume(ALICE).position == 5
    with pytest.raises(UserError, match="交卷之后"):
        exams.report(ALICE, exam.id)
    # All right, except: one 单选 wrong, one 多选 with a correct option missing, one left blank.
    single_wrong, multi_partial, blank = paper[0], paper[6], paper[1]
    for x in paper:
        if x is blank:
            continue
        choice = x.answer
        if x is single_wrong:
            choice = next(ch for ch in x.options if ch != x.answer)
        elif x is multi_partial:
            choice = x.answer[:-1]
        assert exams.save_answer(ALICE, exam.id, x.id, choice) == choice
    exams.save_answer(ALICE, exam.id, paper[2].id, "A")  # changed before submission...
    exams.save_answer(ALICE, exam.id, paper[2].id, paper[2].answer)  # ...and back: only the last answer counts
    clock.now += timedelta(minutes=12)
    report = exams.submit(ALICE, exam.id)
    first = report.result["subjects"][0]
    partial = 0.5 * (len(multi_partial.answer) - 1)
    assert first["subject"] == paper[0].subject and first["max_points"] == 6 * 1 + 2 * 2
    assert first["points"] == 10 - 1 - 1 - (2 - partial)
    assert first["score"] == round(100 * first["points"] / 10, 1)
    assert (first["answered"], first["right"]) == (7, 5)
    assert [s["score"] for s in report.result["subjects"][1:]] == [100.0, 100.0]
    assert report.result["used_s"] == 12 * 60 and not report.result["timed_out"]
    items = {i.question.id: i for i in report.items}
    assert len(items) == 24 and items[blank.id].mark.verdict == "未作答"
    assert items[multi_partial.id].mark.verdict == "不完全正确" and items[single_wrong.id].question.explanation
    # Submitted once only: a second submission changes nothing, and answers can no longer change.
    assert exams.submit(ALICE, exam.id).result == report.result
    with pytest.raises(UserError, match="已经交卷"):
        exams.save_answer(ALICE, exam.id, blank.id, blank.answer)
    prog = drills.progress(ALICE)
    assert prog.total.answered == 23 and prog.wrong_active == 2  # the blank one is not "wrong"
    assert exams.resume(ALICE) is None


def test_answers_after_the_time_limit_do_not_count(drills, clock):
    exams = drills.exams
    exam, _ = exams.start(ALICE, ExamConfig(per_subject=2, subjects=("社会工作实务",), minutes=10))
    first, second = (exams.view(ALICE, exam.id, i).question for i in (0, 1))
    exams.save_answer(ALICE, exam.id, first.id, first.answer)
    clock.now += timedelta(minutes=10, seconds=1)
    with pytest.raises(ExamClosed, match="考试时间已到"):
        exams.save_answer(ALICE, exam.id, second.id, second.answer)
    report = exams.report(ALICE, exam.id)
    assert report.result["timed_out"] and report.result["total"]["points"] == first.points
    assert report.result["used_s"] == 600  # ended at the deadline, not when the late answer came


def test_exam_settings_are_checked_and_a_small_bank_is_said(drills):
    with pytest.raises(UserError, match="每科题数"):
        drills.exams.start(ALICE, ExamConfig(per_subject=0))
    with pytest.raises(UserError, match="没有这个科目"):
        drills.exams.start(ALICE, ExamConfig(subjects=("心理学",)))
    exam, notes = drills.exams.start(ALICE, ExamConfig(per_subject=60, subjects=("社会工作实务",)))
    assert exam.total == 48 and "只有 48 道可用的选择题" in notes[0]
    assert exam.deadline - exam.started_at == timedelta(minutes=72)  # 1.5 minutes a question by default
