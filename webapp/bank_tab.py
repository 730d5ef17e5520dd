"""题库管理 tab (督导, 管理员): import and export the question bank, generate questions from the knowledge
base, and review the drafts. A draft enters the bank (and practice) only when approved here."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import pandas as pd

from assistant.drills.bank import SUBJECTS, TYPE_LABELS
from assistant.drills.queue import STATUS_LABELS
from service import Service
from shegong.errors import UserError
from webapp import render as ui
from webapp.common import current_user, guarded
from webapp.kb_tab import download_dir

BANK_HEADERS = ["科目", "题数", "单选", "多选", "判断"]
DRAFT_HEADERS = ["编号", "状态", "题干", "正确答案", "来源段落", "检查结果"]
STATUS_CHOICES = [(label, key) for key, label in STATUS_LABELS.items()]
FORMATS = [("JSON Lines（.jsonl）", ".jsonl"), ("Excel（.xlsx）", ".xlsx"), ("CSV（.csv）", ".csv")]
KINDS = [("单选", "single"), ("多选", "multiple")]


def bank_frame(questions) -> pd.DataFrame:
    rows = {}
    for q in questions:
        row = rows.setdefault(q.subject or "未分科目", [q.subject or "未分科目", 0, 0, 0, 0])
        row[1] += 1
        row[{"single": 2, "multiple": 3, "judge": 4}[q.type]] += 1
    return pd.DataFrame(list(rows.values()), columns=BANK_HEADERS)


def drafts_frame(drafts) -> pd.DataFrame:
    return pd.DataFrame([[d.id, d.status_label, d.record.get("stem", ""),
                          "、".join(d.record.get("options", {}).get(ch, "") for ch in d.record.get("answer", "")),
                          d.passage.label(), "；".join(d.problems) or "通过"] for d in drafts], columns=DRAFT_HEADERS)


def draft_html(d) -> str:
    record = d.record
    options = "".join(f"<li><b>{ch}.</b> {ui.esc(t)}</li>" for ch, t in record.get("options", {}).items())
    problems = "".join(f"<li>{ui.esc(p)}</li>" for p in d.problems) or "<li>全部检查通过</li>"
    return (f'<div class="sg-drill-head">生成题 {d.id} · {ui.esc(d.status_label)} · 模型 {ui.esc(d.model)}</div>'
            f'<div class="sg-drill-stem">{ui.esc(record.get("stem", ""))}</div><ul class="sg-drill-options">{options}</ul>'
            f'<div>正确答案：<b>{ui.esc(record.get("answer", ""))}</b></div>'
            f'<div class="sg-drill-expl">解析：{ui.esc(record.get("explanation", ""))}</div>'
            f"<div>检查：<ul>{problems}</ul></div>"
            f'<div class="sg-card"><div class="sg-card-head">来源段落：{ui.esc(d.passage.label())}'
            f'（知识库 {ui.esc(d.passage.kb)}，段落 {d.passage.chunk_id}）</div>'
            f'<div class="sg-excerpt">{ui.esc(d.passage.text)}</div></div>')


@dataclass
class BankTab:
    tab: gr.Tab
    gen_kb: gr.Dropdown


def build(svc: Service) -> BankTab:
    with gr.Tab("题库管理", id="bank", visible=False) as tab:
        with gr.Accordion("题库", open=True):
            bank_df = gr.Dataframe(headers=BANK_HEADERS, interactive=False)
            with gr.Row():
                bank_file = gr.File(label="导入题库（.jsonl / .csv / .xlsx，格式见说明文档）", type="filepath", height=120)
                with gr.Column():
                    replace = gr.Checkbox(label="覆盖同题号的题目", value=False)
                    import_btn = gr.Button("导入", variant="primary")
            import_result = gr.Textbox(label="导入结果", lines=4, interactive=False)
            with gr.Row():
                fmt = gr.Dropdown(FORMATS, value=".xlsx", label="导出格式")
                export_subject = gr.Dropdown([("全部科目", "")] + [(s, s) for s in SUBJECTS], value="", label="科目")
                export_btn = gr.Button("导出")
            export_file = gr.File(label="导出的题库", visible=False)
        with gr.Accordion("从知识库生成题目", open=True):
            gr.Markdown("选一个文档（填知识库和文档编号，编号见“知识库”页的文档列表），或填一个标签（如法律名称“老年人权益保障法”、"
                        "主题“独居老人”），本地大模型从其中的段落出题。每道题都会对照来源段落自动检查，通过的进入审核队列；"
                        "**只有入库的题才会出现在练习中**。每道题约需几十秒。", latex_delimiters=[])
            with gr.Row():
                gen_kb = gr.Dropdown([], label="知识库", allow_custom_value=True)
                gen_doc = gr.Number(None, precision=0, label="文档编号")
                gen_tag = gr.Textbox(label="或者：标签")
            with gr.Row():
                gen_n = gr.Number(3, precision=0, minimum=1, maximum=10, label="题数（1–10）")
                gen_kind = gr.Radio(KINDS, value="single", label="题型")
                gen_subject = gr.Dropdown([("按来源自动", "")] + [(s, s) for s in SUBJECTS], value="", label="科目")
            gen_btn = gr.Button("生成", variant="primary")
            gen_result = gr.Markdown(latex_delimiters=[])
        with gr.Accordion("审核队列", open=True):
            with gr.Row():
                status = gr.Dropdown(STATUS_CHOICES, value="pending", label="状态")
                list_btn = gr.Button("刷新", size="sm")
            drafts_df = gr.Dataframe(headers=DRAFT_HEADERS, interactive=False, wrap=True, max_height=360)
            draft_id = gr.Number(None, precision=0, label="选中的生成题编号（点表格中的一行）")
            detail = gr.HTML()
            with gr.Accordion("修改这道题", open=False):
                edit_stem = gr.Textbox(label="题干", lines=2)
                edit_options = gr.Textbox(label="选项（每行一个，如 A. ……）", lines=5)
                edit_answer = gr.Textbox(label="正确答案（字母，如 B 或 ACD）")
                edit_expl = gr.Textbox(label="解析", lines=3)
                save_btn = gr.Button("保存修改并重新检查")
            with gr.Row():
                approve_btn = gr.Button("入库", variant="primary")
                reject_note = gr.Textbox(label="退回原因（可选）", scale=2)
                reject_btn = gr.Button("退回", variant="stop")
            review_msg = gr.Markdown(latex_delimiters=[])

    @guarded
    def bank_stats(request: gr.Request):
        return bank_frame(svc.drill_questions(current_user(svc, request)))

    tab.select(bank_stats, None, bank_df, api_visibility="private", concurrency_limit=None)

    @guarded
    def import_bank(path: str | None, replace_value: bool, request: gr.Request):
        if not path:
            raise UserError("请先选择题库文件")
        user = current_user(svc, request)
        report = svc.drill_import(user, path, replace=bool(replace_value))
        return report.summary(), None, bank_frame(svc.drill_questions(user))

    import_btn.click(import_bank, [bank_file, replace], [import_result, bank_file, bank_df], api_name="drill_import",
                     concurrency_limit=1, concurrency_id="bank")

    @guarded
    def export_bank(suffix: str, subject: str, request: gr.Request):
        if suffix not in {s for _, s in FORMATS}:
            raise UserError("请选择导出格式")
        path = download_dir() / f"题库{suffix}"
        svc.drill_export(current_user(svc, request), path, subject or None)
        return gr.File(value=str(path), visible=True)

    export_btn.click(export_bank, [fmt, export_subject], export_file, api_name="drill_export", concurrency_limit=None)

    @guarded
    def generate(kb: str, doc, tag: str, n, kind: str, subject: str, request: gr.Request, progress=gr.Progress()):
        user = current_user(svc, request)
        drafts = svc.drill_generate(user, kb=kb or None, doc_id=int(doc) if doc and not (tag or "").strip() else None,
                                    tag=tag or "", n=int(n or 3), kind=kind or "single", subject=subject or "",
                                    progress=lambda frac, msg: progress(frac, desc=msg))
        passed = sum(d.status == "pending" for d in drafts)
        return (f"生成 {len(drafts)} 道，其中 **{passed}** 道通过检查、进入审核队列，"
                f"{len(drafts) - passed} 道未通过（可在“未通过检查”中查看原因、修改）。",
                drafts_frame(svc.drill_drafts(user, "pending")), "pending")

    gen_btn.click(generate, [gen_kb, gen_doc, gen_tag, gen_n, gen_kind, gen_subject], [gen_result, drafts_df, status],
                  api_name="drill_generate", concurrency_id="llm")

    @guarded
    def list_drafts(status_value: str, request: gr.Request):
        return drafts_frame(svc.drill_drafts(current_user(svc, request), status_value or None))

    list_btn.click(list_drafts, status, drafts_df, api_name="drill_drafts", concurrency_limit=None)
    status.change(list_drafts, status, drafts_df, api_visibility="private", concurrency_limit=None)
    tab.select(list_drafts, status, drafts_df, api_visibility="private", concurrency_limit=None)

    @guarded
    def show_draft(did, request: gr.Request):
        if not did:
            return "", "", "", "", ""
        d = svc.drill_draft(current_user(svc, request), int(did))  # any draft, not only the 200 newest listed
        options = "\n".join(f"{ch}. {t}" for ch, t in d.record.get("options", {}).items())
        return (draft_html(d), d.record.get("stem", ""), options, d.record.get("answer", ""),
                d.record.get("explanation", ""))

    def pick_draft(evt: gr.SelectData):  # Gradio passes the clicked row only to an annotated parameter
        return (evt.row_value or [None])[0]

    drafts_df.select(pick_draft, None, draft_id, api_visibility="private", concurrency_limit=None)
    draft_id.change(show_draft, draft_id, [detail, edit_stem, edit_options, edit_answer, edit_expl],
                    api_name="drill_draft", concurrency_limit=None)

    @guarded
    def save_edit(did, stem: str, options_text: str, answer: str, explanation: str, request: gr.Request):
        if not did:
            raise UserError("请先在审核队列中点选一道题")
        options = {}
        for line in (options_text or "").splitlines():
            if line.strip():
                letter, _, text = line.strip().partition(".")
                options[letter.strip()] = text.strip()
        d = svc.drill_edit_draft(current_user(svc, request), int(did), {
            "stem": stem, "options": options, "answer": answer, "explanation": explanation})
        verdict = "通过检查，可以入库" if d.status == "pending" else "仍未通过检查：" + ui.md("；".join(d.problems))
        return draft_html(d), f"已保存。{verdict}"

    save_btn.click(save_edit, [draft_id, edit_stem, edit_options, edit_answer, edit_expl], [detail, review_msg],
                   api_name="drill_edit_draft", concurrency_limit=None)

    @guarded
    def approve(did, status_value: str, request: gr.Request):
        if not did:
            raise UserError("请先在审核队列中点选一道题")
        user = current_user(svc, request)
        q = svc.drill_approve(user, int(did))
        return (f"✓ 已入库，题号 {ui.md(q.id)}（{TYPE_LABELS[q.type]}，{ui.md(q.subject)}），现在起会出现在练习中。",
                drafts_frame(svc.drill_drafts(user, status_value or None)))

    approve_btn.click(approve, [draft_id, status], [review_msg, drafts_df], api_name="drill_approve",
                      concurrency_limit=None)

    @guarded
    def reject(did, note: str, status_value: str, request: gr.Request):
        if not did:
            raise UserError("请先在审核队列中点选一道题")
        user = current_user(svc, request)
        svc.drill_reject(user, int(did), note)
        return f"已退回生成题 {int(did)}。", drafts_frame(svc.drill_drafts(user, status_value or None)), ""

    reject_btn.click(reject, [draft_id, reject_note, status], [review_msg, drafts_df, reject_note],
                     api_name="drill_reject", concurrency_limit=None)
    return BankTab(tab=tab, gen_kb=gen_kb)
