"""HTML and charts for the 练习 tab: a question, the feedback after answering, an exam's scores and review,
and the progress chart. Everything from the bank, the knowledge base or users is escaped."""

from __future__ import annotations

from datetime import datetime

from assistant.drills.bank import NO_SUBJECT, TYPE_LABELS, Question
from assistant.drills.exam import ExamReport
from assistant.drills.practice import Feedback, SessionView
from assistant.drills.progress import Progress
from webapp import render as ui

NO_RELATED = "知识库中没有找到与这道题直接相关的资料（这类题多考教材知识，请以解析为准）。"
TYPE_HINTS = {"single": "单选题：只有一个正确答案", "multiple": "多选题：有两个或以上正确答案，错选不得分，少选每个正确选项得 0.5 分",
              "judge": "判断题"}


def choices(question: Question | None) -> list[tuple[str, str]]:
    return [(f"{ch}. {text}", ch) for ch, text in question.options.items()] if question else []


def header(view: SessionView, now: datetime) -> str:
    q = view.question
    parts = [view.title, f"第 {min(view.position + 1, view.total)}/{view.total} 题"]
    if q is not None:
        parts += [TYPE_LABELS[q.type], q.subject or NO_SUBJECT]
    if view.kind == "exam" and not view.finished:
        left = view.remaining_s(now) or 0
        parts.append(f"已答 {len(view.answers)} 题 · 剩余约 {left // 60} 分钟（{view.deadline:%H:%M} 自动交卷）")
    return " · ".join(parts)


def question_html(view: SessionView, now: datetime) -> str:
    if view.finished and view.kind != "exam":
        return f'<div class="sg-drill-done">本次{ui.esc(view.label)}已完成，共 {view.total} 题。可以在下方“我的进度”查看正确率，或开始新的练习。</div>'
    q = view.question
    if q is None:
        return ""
    tags = "、".join(q.tags)  # the options are the answer widget's labels, not repeated here
    return (f'<div class="sg-drill-head">{ui.esc(header(view, now))}</div>'
            f'<div class="sg-drill-stem">{ui.esc(q.stem)}</div>'
            f'<div class="sg-drill-hint">{ui.esc(TYPE_HINTS[q.type])}'
            + (f"　标签：{ui.esc(tags)}" if tags else "")
            + (f'　<span class="sg-badge">{ui.esc(q.collection)}</span>' if q.collection else "") + "</div>")


def related_html(related: list[dict], question: Question) -> str:
    if not related:
        return f'<div class="sg-drill-related-none">相关依据：{ui.esc(NO_RELATED)}</div>'
    return ui.source_cards(related, question.stem + " " + " ".join(question.options[c] for c in question.answer
                                                                    if c in question.options), heading="相关依据")


def _answer_text(q: Question, letters: str) -> str:
    return "、".join(f"{ch}. {q.options[ch]}" for ch in letters if ch in q.options) or "（未作答）"


def feedback_html(fb: Feedback) -> str:
    q, m = fb.question, fb.mark
    icon = {"正确": "✓ 回答正确", "错误": "✗ 回答错误", "不完全正确": "△ 不完全正确（少选）", "未作答": "未作答"}[m.verdict]
    cls = "sg-ok" if m.correct else "sg-bad"
    parts = [f'<div class="sg-drill-verdict {cls}">{icon}</div>',
             f"<div>你的答案：{ui.esc(_answer_text(q, m.chosen))}</div>",
             f"<div>正确答案：<b>{ui.esc(_answer_text(q, q.answer))}</b></div>",
             f'<div class="sg-drill-expl">解析：{ui.esc(q.explanation)}</div>']
    if q.source:
        parts.append(f'<div class="sg-loc">出处：{ui.esc(q.source)}</div>')
    if fb.review_note:
        parts.append(f'<div class="sg-drill-note">{ui.esc(fb.review_note)}</div>')
    if fb.finished:
        parts.append(f'<div class="sg-drill-note">本次练习已完成（共 {fb.total} 题）。</div>')
    parts.append(related_html(fb.related, q))
    return '<div class="sg-drill-feedback">' + "".join(parts) + "</div>"


def exam_report_html(report: ExamReport, related=None) -> str:
    """Scores per subject, then every question with the answer given, the key, the points and the explanation."""
    r = report.result
    rows = "".join(
        f"<tr><td>{ui.esc(s['subject'] or NO_SUBJECT)}</td><td>{s['count']}</td><td>{s['answered']}</td>"
        f"<td>{s['points']:g}/{s['max_points']:g}</td><td><b>{s['score']:g}</b></td>"
        f"<td>{'及格' if s['passed'] else '未及格'}</td></tr>" for s in r.get("subjects", []))
    total = r.get("total", {})
    used = r.get("used_s", 0)
    head = (f'<div class="sg-drill-head">{ui.esc(report.session.title)} · 用时 {used // 60} 分 {used % 60} 秒'
            + ("（时间到，自动交卷）" if r.get("timed_out") else "") + "</div>"
            '<table class="sg-drill-score"><tr><th>科目</th><th>题数</th><th>已答</th><th>得分</th>'
            '<th>百分制</th><th>结果</th></tr>' + rows
            + f"<tr><td><b>合计</b></td><td></td><td></td><td>{total.get('points', 0):g}/{total.get('max_points', 0):g}</td>"
              f"<td><b>{total.get('score', 0):g}</b></td><td></td></tr></table>"
            '<div class="sg-drill-hint">按真实考试计分：单选 1 分；多选 2 分，错选不得分，少选每个正确选项 0.5 分；每科满分折算为 100 分，60 分及格。</div>')
    items = []
    for i, item in enumerate(report.items, 1):
        q, m = item.question, item.mark
        cls = "sg-ok" if m.correct else "sg-bad"
        items.append(
            f'<details class="sg-drill-item"><summary><span class="{cls}">{i}. {ui.esc(m.verdict)}'
            f"（{m.points:g}/{m.max_points:g} 分）</span> {ui.esc(q.stem)}</summary>"
            f'<ul class="sg-drill-options">'
            + "".join(f"<li><b>{ch}.</b> {ui.esc(t)}</li>" for ch, t in q.options.items())
            + f"</ul><div>你的答案：{ui.esc(_answer_text(q, m.chosen))}</div>"
            f"<div>正确答案：<b>{ui.esc(_answer_text(q, q.answer))}</b></div>"
            f'<div class="sg-drill-expl">解析：{ui.esc(q.explanation)}</div>'
            + (f'<div class="sg-loc">出处：{ui.esc(q.source)}</div>' if q.source else "")
            # 相关依据 for the questions answered wrong: a retrieval each, and a paper has up to ~60 questions
            + (related_html(related(q), q) if related and not m.correct else "") + "</details>")
    return ('<div class="sg-drill-report">' + head + '<div class="sg-drill-head">逐题查看（点题目展开解析；答错的题附相关依据）</div>'
            + "".join(items) + "</div>")


def progress_markdown(p: Progress) -> str:
    if not p.total.answered:
        return "还没有答题记录。开始一次练习后，这里会显示各科正确率和错题本。"
    last = f"，最近一次答题：{p.last_answered:%Y-%m-%d %H:%M}" if p.last_answered else ""
    return (f"累计答题 **{p.total.answered}** 道，答对 **{p.total.right}** 道，正确率 **{p.total.accuracy:.0%}**{last}。  \n"
            f"错题本：**{p.wrong_active}** 道（今天该复习 **{p.wrong_due}** 道），已掌握移出 {p.mastered} 道。")


def progress_figure(p: Progress):
    """Accuracy by subject and by tag (the 12 most answered), as horizontal bars."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    tags = p.by_tag[:12]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("按科目", "按标签（答题最多的 12 个）"), horizontal_spacing=0.25)
    for col, tallies in ((1, p.by_subject), (2, tags)):
        fig.add_trace(go.Bar(
            x=[round(100 * t.accuracy, 1) for t in tallies], y=[t.name for t in tallies], orientation="h",
            text=[f"{100 * t.accuracy:.0f}%（{t.right}/{t.answered}）" for t in tallies], textposition="auto",
            hovertemplate="%{y}：%{x}%<extra></extra>", showlegend=False), row=1, col=col)
        fig.update_xaxes(range=[0, 100], title_text="正确率（%）", row=1, col=col)
        fig.update_yaxes(autorange="reversed", row=1, col=col)
    fig.update_layout(height=max(320, 40 * max(len(p.by_subject), len(tags)) + 120),
                      margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


WRONG_HEADERS = ["题号", "科目", "题干", "答错次数", "连续答对", "下次复习"]


def wrong_book_rows(entries) -> list[list]:
    return [[e.question.id, e.question.subject or NO_SUBJECT, e.question.stem[:60], e.wrong_count, e.streak,
             "今天" if e.due else f"{e.due_at:%m-%d}"] for e in entries]


CSS = """
.sg-drill-head { color: var(--body-text-color-subdued); font-size: 0.9em; margin-bottom: 6px; }
.sg-drill-stem { font-size: 1.1em; font-weight: 600; margin: 4px 0 8px; }
.sg-drill-options { list-style: none; padding-left: 0; margin: 4px 0; }
.sg-drill-options li { margin: 3px 0; }
.sg-drill-hint { color: var(--body-text-color-subdued); font-size: 0.85em; }
.sg-drill-verdict { font-size: 1.1em; font-weight: 700; margin-bottom: 4px; }
.sg-ok { color: #15803d; } .sg-bad { color: #b91c1c; }
.sg-drill-expl { margin: 6px 0; }
.sg-drill-note { margin: 6px 0; padding: 4px 8px; background: var(--background-fill-secondary); border-radius: 4px; }
.sg-drill-score td, .sg-drill-score th { padding: 2px 10px; border-bottom: 1px solid var(--border-color-primary); }
.sg-drill-item { margin: 4px 0; padding: 4px 0; border-bottom: 1px dashed var(--border-color-primary); }
"""
