"""练习 tab (every role; made for 学员): practice by subject or tag, 错题复习, the timed 模拟考试, progress.

The round being answered travels as ``cur`` (a small JSON: session id, kind, the question on screen),
so each API call says which question it answers; the service refuses an answer to any other one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import gradio as gr
import pandas as pd

from assistant.drills import ExamClosed
from assistant.drills.bank import SUBJECTS
from service import Service, User
from shegong.errors import UserError
from webapp import drill_render as dr
from webapp.common import current_user, guarded

MODES = ["顺序练习", "随机练习", "错题复习", "模拟考试"]
ORDER = {"顺序练习": "sequential", "随机练习": "random"}
ALL_SUBJECTS, ALL_TAGS = "全部科目", "全部标签"


@dataclass
class DrillTab:
    tab: gr.Tab
    tags: gr.Dropdown


def _empty_cur() -> dict:
    return {"session_id": "", "kind": "", "question_id": "", "type": "", "index": 0, "total": 0, "finished": True}


def build(svc: Service) -> DrillTab:
    with gr.Tab("练习", id="drill") as tab:
        with gr.Row(equal_height=True):
            mode = gr.Radio(MODES, value="顺序练习", label="练习方式", scale=3)
            subject = gr.Dropdown([ALL_SUBJECTS, *SUBJECTS], value=ALL_SUBJECTS, label="科目", scale=2)
            tag = gr.Dropdown([ALL_TAGS], value=ALL_TAGS, label="标签", scale=2, allow_custom_value=True)
            limit = gr.Number(value=0, precision=0, minimum=0, label="题数（0 = 全部）", scale=1, min_width=100)
        with gr.Row(visible=False) as exam_row:
            per_subject = gr.Number(value=20, precision=0, minimum=1, maximum=100, label="每科题数", min_width=100)
            minutes = gr.Number(value=0, precision=0, minimum=0, label="限时（分钟，0 = 每题 1.5 分钟）", min_width=160)
            exam_subjects = gr.CheckboxGroup(list(SUBJECTS), value=list(SUBJECTS), label="考试科目")
        with gr.Row():
            start_btn = gr.Button("开始", variant="primary")
            resume_btn = gr.Button("继续上次的练习或考试")
        cur = gr.JSON(value=_empty_cur(), visible=False)
        question_box = gr.HTML()
        single = gr.Radio([], label="选择答案（单选）", visible=False)
        multi = gr.CheckboxGroup([], label="选择答案（多选，可选多项）", visible=False)
        with gr.Row():
            answer_btn = gr.Button("提交答案", variant="primary", visible=False)
            next_btn = gr.Button("下一题", visible=False)
            prev_btn = gr.Button("上一题", visible=False)
            exam_next_btn = gr.Button("保存并下一题", variant="primary", visible=False)
            submit_btn = gr.Button("交卷", variant="stop", visible=False)
        feedback = gr.HTML()
        report = gr.HTML()
        with gr.Accordion("我的进度与错题本", open=False) as progress_box:
            progress_btn = gr.Button("刷新进度", size="sm")
            progress_md = gr.Markdown(latex_delimiters=[])
            chart = gr.Plot(label="正确率")
            wrong_df = gr.Dataframe(headers=dr.WRONG_HEADERS, interactive=False, label="错题本")
        # For API callers: the answer as letters ("B", "ACD"; the radio and checkboxes only take the choices
        # their own page was shown) and an exam question to move to.
        api_letters = gr.Textbox(visible=False, label="答案字母")
        api_goto = gr.Number(value=0, precision=0, visible=False, label="题目序号（从 0 开始）")
        api_answer, api_move, api_submit = (gr.Button(visible=False) for _ in range(3))

    view_outputs = [cur, question_box, single, multi, answer_btn, next_btn, prev_btn, exam_next_btn, submit_btn,
                    feedback, report]

    def show(user: User, view, notes: list[str] | None = None):
        """Everything on screen for a session view: the question, the right answer widget and buttons."""
        now = datetime.now()
        q = view.question
        exam = view.kind == "exam"
        live = not view.finished and q is not None
        chosen = view.answers.get(q.id, "") if (exam and q is not None) else ""
        state = {"session_id": view.id, "kind": view.kind, "question_id": q.id if q else "",
                 "type": q.type if q else "", "index": view.position, "total": view.total,
                 "finished": view.finished, "options": list(q.options) if q else []}
        is_multi = live and q.type == "multiple"
        report_html = ""
        if exam and view.finished:
            report_html = dr.exam_report_html(svc.exam_report(user, view.id), lambda x: svc.drill_related(user, x.id))
        notes_html = "".join(f'<div class="sg-drill-note">{dr.ui.esc(n)}</div>' for n in notes or [])
        return (state, notes_html + ("" if exam and view.finished else dr.question_html(view, now)),
                gr.Radio(choices=dr.choices(q), value=chosen or None, visible=live and not is_multi),
                gr.CheckboxGroup(choices=dr.choices(q), value=list(chosen), visible=is_multi),
                gr.Button(visible=live and not exam), gr.Button(visible=False),
                gr.Button(visible=live and exam and view.position > 0),
                gr.Button(visible=live and exam and view.position < view.total - 1),
                gr.Button(visible=live and exam), "", report_html)

    def chosen_letters(single_value, multi_value) -> str:
        return "".join(multi_value or []) or (single_value or "")

    @guarded
    def start(mode_value, subject_value, tag_value, limit_value, per_subject_value, minutes_value, subjects_value,
              request: gr.Request):
        user = current_user(svc, request)
        subject_value = None if subject_value in (None, "", ALL_SUBJECTS) else subject_value
        tag_value = None if tag_value in (None, "", ALL_TAGS) else tag_value
        if mode_value == "模拟考试":
            view, notes = svc.exam_start(user, per_subject=int(per_subject_value or 20),
                                         minutes=float(minutes_value or 0) or None, subjects=subjects_value or None)
            return show(user, view, notes)
        if mode_value == "错题复习":
            return show(user, svc.drill_start_review(user))
        if mode_value not in ORDER:
            raise UserError(f"未知的练习方式：{mode_value}")
        return show(user, svc.drill_start(user, subject=subject_value, tag=tag_value, order=ORDER[mode_value],
                                          limit=int(limit_value or 0) or None))

    start_inputs = [mode, subject, tag, limit, per_subject, minutes, exam_subjects]
    start_btn.click(start, start_inputs, view_outputs, api_name="drill_start", concurrency_limit=None)

    @guarded
    def resume(request: gr.Request):
        user = current_user(svc, request)
        view = svc.drill_resume(user)
        if view is None:
            raise UserError("没有未完成的练习或考试，请开始新的练习")
        return show(user, view)

    resume_btn.click(resume, None, view_outputs, api_name="drill_resume", concurrency_limit=None)

    @guarded
    def answer(state: dict, letters: str, request: gr.Request):
        user = current_user(svc, request)
        if not state or not state.get("session_id") or state.get("kind") == "exam":
            raise UserError("请先开始一次练习")
        fb = svc.drill_answer(user, state["session_id"], state.get("question_id", ""), letters or "")
        return (dict(state, answered=True), dr.feedback_html(fb), gr.Button(visible=False),
                gr.Button(visible=not fb.finished))

    answer_outputs = [cur, feedback, answer_btn, next_btn]
    api_answer.click(answer, [cur, api_letters], answer_outputs, api_name="drill_answer", concurrency_limit=None)
    def answer_on_screen(state: dict, one, many, request: gr.Request):
        return answer(state, chosen_letters(one, many), request)

    answer_btn.click(answer_on_screen, [cur, single, multi], answer_outputs, api_visibility="private",
                     concurrency_limit=None)

    @guarded
    def next_question(state: dict, request: gr.Request):
        user = current_user(svc, request)
        if not state or not state.get("session_id"):
            raise UserError("请先开始一次练习")
        return show(user, svc.drill_view(user, state["session_id"]))

    next_btn.click(next_question, cur, view_outputs, api_name="drill_next", concurrency_limit=None)

    def save_current(user: User, state: dict, letters: str) -> None:
        if state.get("question_id") and not state.get("finished"):
            svc.exam_answer(user, state["session_id"], state["question_id"], letters or "")

    @guarded
    def exam_goto(state: dict, letters: str, index, request: gr.Request):
        """Keep the answer to the question on screen, then show question ``index`` (0-based) of the paper."""
        user = current_user(svc, request)
        if not state or state.get("kind") != "exam":
            raise UserError("请先开始一场模拟考试")
        save_current(user, state, letters)
        return show(user, svc.exam_view(user, state["session_id"], int(index)))

    def step(delta: int):
        def move(state: dict, one, many, request: gr.Request):
            return exam_goto(state, chosen_letters(one, many), int((state or {}).get("index", 0)) + delta, request)
        return move

    exam_next_btn.click(step(1), [cur, single, multi], view_outputs, api_visibility="private", concurrency_limit=None)
    prev_btn.click(step(-1), [cur, single, multi], view_outputs, api_visibility="private", concurrency_limit=None)
    api_move.click(exam_goto, [cur, api_letters, api_goto], view_outputs, api_name="exam_goto", concurrency_limit=None)

    @guarded
    def submit(state: dict, letters: str, request: gr.Request):
        user = current_user(svc, request)
        if not state or state.get("kind") != "exam":
            raise UserError("请先开始一场模拟考试")
        try:
            save_current(user, state, letters)
        except ExamClosed as e:  # the time ran out: the paper was submitted as it stood
            gr.Warning(str(e), title="考试时间已到")
        svc.exam_submit(user, state["session_id"])
        return show(user, svc.exam_view(user, state["session_id"]))

    api_submit.click(submit, [cur, api_letters], view_outputs, api_name="exam_submit", concurrency_limit=None)
    def submit_on_screen(state: dict, one, many, request: gr.Request):
        return submit(state, chosen_letters(one, many), request)

    submit_btn.click(submit_on_screen, [cur, single, multi], view_outputs, api_visibility="private",
                     concurrency_limit=None)

    @guarded
    def progress(request: gr.Request):
        user = current_user(svc, request)
        p = svc.drill_progress(user)
        rows = dr.wrong_book_rows(svc.drill_wrong_book(user))
        return (dr.progress_markdown(p), dr.progress_figure(p) if p.total.answered else None,
                pd.DataFrame(rows, columns=dr.WRONG_HEADERS))

    progress_btn.click(progress, None, [progress_md, chart, wrong_df], api_name="drill_progress",
                       concurrency_limit=None)
    progress_box.expand(progress, None, [progress_md, chart, wrong_df], api_visibility="private",
                        concurrency_limit=None)

    @guarded
    def tags_of(subject_value, request: gr.Request):
        catalogue = svc.drill_catalogue(current_user(svc, request))
        pool = catalogue.values() if subject_value in (None, "", ALL_SUBJECTS) else [catalogue.get(subject_value, {})]
        names = sorted({t for tags in pool for t in tags if t})
        return gr.Dropdown(choices=[ALL_TAGS, *names], value=ALL_TAGS)

    subject.change(tags_of, subject, tag, api_visibility="private", concurrency_limit=None)
    tab.select(tags_of, subject, tag, api_visibility="private", concurrency_limit=None)
    mode.change(lambda m: (gr.Row(visible=m == "模拟考试"), gr.Dropdown(interactive=m in ORDER),
                           gr.Dropdown(interactive=m in ORDER), gr.Number(interactive=m in ORDER)),
                mode, [exam_row, subject, tag, limit], api_visibility="private", queue=False)
    return DrillTab(tab=tab, tags=tag)
