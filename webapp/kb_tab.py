"""知识库 tab (督导 and 管理员): KBs of another embedder (reembed_panel.py), statistics, uploads, typed-in cases,
the document list, national laws."""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import pandas as pd

from ingest.laws import DEFAULT_LAWS
from ingest.types import DOC_TYPE_LABELS
from service import Service
from shegong.errors import UserError
from webapp import reembed_panel
from webapp import render as ui
from webapp.common import current_user, guarded

TYPE_CHOICES = [("自动判断", "")] + [(label, key) for key, label in DOC_TYPE_LABELS.items()]
AUTO_KB = "自动（按资料类型）"
ALL = "全部"
DOC_HEADERS = ["编号", "知识库", "标题", "类型", "段落数", "加入时间", "来源", "待核查"]
STATS_HEADERS = ["知识库", "文档数", "段落数", "工作手册", "政策文件", "法律法规", "案例", "大小(MB)"]
DOWNLOADS = Path(tempfile.gettempdir()) / "shegong-downloads"


@dataclass
class KbTab:
    tab: gr.Tab
    upload_kb: gr.Dropdown  # the KB pickers are filled in when the page loads
    filter_kb: gr.Dropdown
    reembedded: object  # the re-embedding's event (the status line follows it)


def stats_frame(stats: list[dict]) -> pd.DataFrame:
    rows = [[s["name"], s["documents"], s["chunks"]]
            + [s["chunks_by_type"].get(t, 0) for t in DOC_TYPE_LABELS] + [s["size_mb"]] for s in stats]
    return pd.DataFrame(rows, columns=STATS_HEADERS)


def docs_frame(docs) -> pd.DataFrame:
    rows = [[d.doc.id, d.kb, d.doc.title, DOC_TYPE_LABELS.get(d.doc.doc_type, d.doc.doc_type), d.doc.n_chunks,
             d.doc.added_at, source_label(d.doc.source), flagged_label(d.doc.meta)] for d in docs]
    return pd.DataFrame(rows, columns=DOC_HEADERS)


def flagged_label(meta: dict) -> str:
    """Chunks with sentences that read like instructions to an AI, for a 督导 to check (README: 安全)."""
    n = meta.get("flagged_chunks") or 0
    return f"⚠ {n} 段" if n else ""


def discard_uploads(paths) -> None:
    """Remove Gradio's temporary copies of uploaded files once the service has its own (or refused them)."""
    from gradio.utils import get_upload_folder

    folder = Path(get_upload_folder()).resolve()
    for path in [paths] if isinstance(paths, str) else paths or []:
        f = Path(path).resolve()
        if folder in f.parents and f.is_file():
            f.unlink(missing_ok=True)
            try:
                f.parent.rmdir()  # Gradio keeps each upload in a folder of its own
            except OSError:
                pass


def jobs_text(jobs, user_name: str) -> str:
    if not jobs:
        return "没有正在进行的导入"
    lines = []
    for job in jobs[:8]:
        who = "" if job.username == user_name else f"（{job.username} 发起）"
        lines.append(job.line() + who)
        if not job.active and job.results:
            lines.append("  " + ui.ingest_summary(job.results).replace("\n", "\n  "))
    return "\n".join(lines)


def source_label(source: str) -> str:
    if source.startswith("form:"):
        return "表单录入"
    if source.startswith("laws.db:"):
        return "国家法律数据库"
    return Path(source).name


def download_dir() -> Path:
    """A fresh folder for one download; folders older than an hour go (Gradio has cached the file by then)."""
    DOWNLOADS.mkdir(exist_ok=True)
    for old in DOWNLOADS.iterdir():
        if time.time() - old.stat().st_mtime > 3600:
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(dir=DOWNLOADS))


def build(svc: Service) -> KbTab:
    with gr.Tab("知识库", id="kb", visible=False) as kb_tab:
        reembed = reembed_panel.build(svc, kb_tab)
        with gr.Accordion("统计", open=True):
            stats_df = gr.Dataframe(headers=STATS_HEADERS, interactive=False)
            stats_btn = gr.Button("刷新统计", size="sm")
        with gr.Accordion("上传资料", open=True):
            files = gr.File(label="选择文件（PDF、Word、TXT、Markdown、Excel、CSV，可多选）",
                            file_count="multiple", type="filepath", height=140, elem_id="sg-upload")
            # no file_types: the browser's own check is in English; the service says why in Chinese
            with gr.Row():
                up_kb = gr.Dropdown([AUTO_KB], value=AUTO_KB, label="放入知识库", allow_custom_value=True)
                up_type = gr.Dropdown(TYPE_CHOICES, value="", label="资料类型", allow_custom_value=True)
            with gr.Row():
                up_btn = gr.Button("开始导入", variant="primary", scale=3)
                cancel_btn = gr.Button("取消我发起的导入", size="sm", scale=1)
            up_result = gr.Textbox(label="导入结果", lines=5, interactive=False,
                                   placeholder="导入在后台进行，这里显示进度和结果；期间可以照常录入案例、删除文档")
            jobs_timer = gr.Timer(1.5, active=False)
            last_finished = gr.State(0)  # when the latest import seen finished: a later one refreshes the lists
            api_upload_btn, api_status_btn = gr.Button(visible=False), gr.Button(visible=False)
        with gr.Accordion("录入案例", open=False):
            case_inputs = {}
            with gr.Row():
                case_inputs["标题"] = gr.Textbox(label="标题（必填）")
                case_inputs["涉及部门"] = gr.Textbox(label="涉及部门")
            for name in ("场景", "问题", "做法", "成效"):
                case_inputs[name] = gr.Textbox(label=name, lines=2)
            case_inputs["标签"] = gr.Textbox(label="标签（用顿号或逗号分隔）")
            case_btn = gr.Button("保存案例", variant="primary")
            case_result = gr.Markdown(latex_delimiters=[])
        with gr.Accordion("文档列表", open=True):
            with gr.Row():
                f_kb = gr.Dropdown([ALL], value=ALL, label="知识库", allow_custom_value=True)
                f_type = gr.Dropdown([("全部", "")] + TYPE_CHOICES[1:], value="", label="类型", allow_custom_value=True)
                f_query = gr.Textbox(label="标题或文件名包含")
            list_btn = gr.Button("查询", size="sm")
            docs_df = gr.Dataframe(headers=DOC_HEADERS, interactive=False, max_height=360, wrap=True)
            gr.Markdown("点表格中的一行选中文档，然后查看、下载、替换或删除。“待核查”列有数字的文档，"
                        "含有像是对 AI 下指令的句子，请查看段落并核对来源（见 README 的“安全”一节）。", latex_delimiters=[])
            with gr.Row():
                sel_kb = gr.Textbox(label="选中的知识库", interactive=False)
                sel_id = gr.Number(None, label="选中的文档编号", precision=0, interactive=False)
            with gr.Row():
                chunks_btn = gr.Button("查看段落", size="sm")
                download_btn = gr.Button("下载原文件", size="sm")
                del_confirm = gr.Checkbox(label="确认删除", value=False)
                del_btn = gr.Button("删除文档", variant="stop", size="sm")
            with gr.Row():
                replace_file = gr.File(label="用新文件替换选中的文档", type="filepath", height=120)
                replace_btn = gr.Button("替换", size="sm")
            doc_msg = gr.Markdown(latex_delimiters=[])
            download_file = gr.File(label="原文件", visible=False)
            chunks_view = gr.HTML()
        with gr.Accordion("导入国家法律", open=False):
            law_pick = gr.CheckboxGroup(DEFAULT_LAWS, value=DEFAULT_LAWS, label="常用法律")
            law_more = gr.Textbox(label="其他法律名称（可选，多个用顿号或逗号分隔）")
            law_btn = gr.Button("导入选中的法律", variant="primary")
            law_result = gr.Textbox(label="导入结果", lines=4, interactive=False)
        # The API takes any law name and the importer says in Chinese which it cannot find; the
        # CheckboxGroup would refuse a name it does not list in English.
        api_laws = gr.Dropdown(DEFAULT_LAWS, value=[], multiselect=True, allow_custom_value=True, visible=False,
                               label="法律名称")
        api_laws_btn = gr.Button(visible=False)

    @guarded
    def kb_stats(request: gr.Request):
        return stats_frame(svc.kb_stats(current_user(svc, request)))

    stats_btn.click(kb_stats, None, stats_df, api_name="kb_stats", concurrency_limit=None)
    kb_tab.select(kb_stats, None, stats_df, api_visibility="private", concurrency_limit=None)

    def submit(paths: list[str] | None, kb: str, doc_type: str, request: gr.Request):
        user = current_user(svc, request)
        try:
            return user, svc.start_upload(user, paths or [], None if kb in (AUTO_KB, "", None) else kb, doc_type or None)
        finally:
            discard_uploads(paths)  # the import has its own copies; a refused upload leaves nothing behind

    @guarded
    def start_upload(paths: list[str] | None, kb: str, doc_type: str, request: gr.Request):
        """The button: the import runs in the background, its progress shows below."""
        user, _job = submit(paths, kb, doc_type, request)
        return jobs_text(svc.import_jobs(user), user.username), None, gr.Timer(active=True)

    @guarded
    def upload(paths: list[str] | None, kb: str, doc_type: str, request: gr.Request, progress=gr.Progress()):
        """The API: the same import lane, waited for (scripts get the results)."""
        user, job = submit(paths, kb, doc_type, request)
        while job.active:
            progress(job.fraction, desc=job.message)
            time.sleep(0.3)
        return ui.ingest_summary(job.results) if job.state == "done" else job.message, None

    @guarded
    def poll_imports(seen: float, up_value: str, f_value: str, doc_type: str, query: str, request: gr.Request):
        """The timer: progress of every import; once one has finished, the lists and statistics are refreshed."""
        user = current_user(svc, request)
        jobs = svc.import_jobs(user)
        latest = max((j.finished or 0 for j in jobs if not j.active), default=0)
        views = (refresh_kb_views(up_value, f_value, doc_type, query, request) if latest != seen
                 else (gr.update(),) * 4)
        return (jobs_text(jobs, user.username), gr.Timer(active=any(j.active for j in jobs)), latest, *views)

    @guarded
    def import_report(request: gr.Request):
        user = current_user(svc, request)
        return jobs_text(svc.import_jobs(user), user.username)

    @guarded
    def cancel_imports(request: gr.Request):
        user = current_user(svc, request)
        mine = [j for j in svc.import_jobs(user) if j.active and j.username == user.username]
        if not mine:
            raise UserError("没有您发起的、还没完成的导入")
        for job in mine:
            svc.cancel_import(user, job.id)
        return jobs_text(svc.import_jobs(user), user.username)

    up_btn.click(start_upload, [files, up_kb, up_type], [up_result, files, jobs_timer], api_name="start_upload",
                 concurrency_limit=None, show_progress_on=up_result)
    uploaded = api_upload_btn.click(upload, [files, up_kb, up_type], [up_result, files], api_name="upload",
                                    concurrency_limit=None, show_progress_on=up_result)
    jobs_timer.tick(poll_imports, [last_finished, up_kb, f_kb, f_type, f_query],
                    [up_result, jobs_timer, last_finished, up_kb, f_kb, docs_df, stats_df],
                    show_progress="hidden", api_visibility="private", concurrency_limit=None)
    api_status_btn.click(import_report, None, up_result, api_name="import_status", concurrency_limit=None)
    cancel_btn.click(cancel_imports, None, up_result, api_name="cancel_import", concurrency_limit=None)

    @guarded
    def add_case(title: str, department: str, scene: str, problem: str, method: str, effect: str, tags: str,
                 request: gr.Request):
        values = [title, department, scene, problem, method, effect, tags]  # same order as case_inputs
        result = svc.add_case(current_user(svc, request), dict(zip(case_inputs, values)))
        if result.status == "error":
            raise UserError(result.error or "保存失败")
        return f"✓ 已保存案例「{ui.md(result.title)}」，现在提问即可检索到。"

    # not in the import lane: a case is saved while a long import runs
    case_saved = case_btn.click(add_case, list(case_inputs.values()), case_result, api_name="add_case",
                                concurrency_id="kb-edit", concurrency_limit=2)

    @guarded
    def list_documents(kb: str, doc_type: str, query: str, request: gr.Request):
        user = current_user(svc, request)
        return docs_frame(svc.list_documents(user, None if kb in (ALL, "", None) else kb, query, doc_type or None))

    list_btn.click(list_documents, [f_kb, f_type, f_query], docs_df, api_name="list_documents", concurrency_limit=None)
    f_query.submit(list_documents, [f_kb, f_type, f_query], docs_df, api_visibility="private", concurrency_limit=None)
    kb_tab.select(list_documents, [f_kb, f_type, f_query], docs_df, api_visibility="private", concurrency_limit=None)

    @guarded
    def refresh_kb_views(up_value: str, f_value: str, doc_type: str, query: str, request: gr.Request):
        """After any change: a new KB shows in both KB pickers, the table (with the filters on screen) and the
        statistics are current."""
        user = current_user(svc, request)
        names = svc.kb_names(user)
        shown_kb = f_value if f_value in names else ALL  # the filtered KB may be gone
        return (gr.Dropdown(choices=[AUTO_KB] + names, value=up_value or AUTO_KB),
                gr.Dropdown(choices=[ALL] + names, value=shown_kb),
                list_documents(shown_kb, doc_type, query, request),
                stats_frame(svc.kb_stats(user)))

    refresh = dict(fn=refresh_kb_views, inputs=[up_kb, f_kb, f_type, f_query],
                   outputs=[up_kb, f_kb, docs_df, stats_df], api_visibility="private", concurrency_limit=None)
    uploaded.success(**refresh)
    case_saved.success(**refresh)
    reembed.done.success(**refresh)

    def select_document(evt: gr.SelectData):
        row = evt.row_value or []
        return (row[1], row[0]) if len(row) >= 2 else (gr.update(), gr.update())

    docs_df.select(select_document, None, [sel_kb, sel_id], api_visibility="private", concurrency_limit=None)

    def selected(kb: str, doc_id) -> tuple[str, int]:
        if not kb or not doc_id:  # document ids start at 1
            raise UserError("请先在文档列表中点选一个文档")
        return kb, int(doc_id)

    @guarded
    def document_chunks(kb: str, doc_id, request: gr.Request):
        kb, doc_id = selected(kb, doc_id)
        user = current_user(svc, request)
        doc = next((d.doc for d in svc.list_documents(user, kb) if d.doc.id == doc_id), None)
        return ui.chunks_html(doc.title if doc else "", svc.document_chunks(user, kb, doc_id))

    chunks_btn.click(document_chunks, [sel_kb, sel_id], chunks_view, api_name="document_chunks", concurrency_limit=None)

    @guarded
    def download(kb: str, doc_id, request: gr.Request):
        kb, doc_id = selected(kb, doc_id)
        path = svc.stored_file(current_user(svc, request), kb, doc_id)
        if path is None:
            raise UserError("这个文档没有保存原文件（例如表单录入的案例或从法律数据库导入的法律）")
        copy = download_dir() / path.name  # Gradio serves (and caches) it from there
        shutil.copyfile(path, copy)
        return gr.File(value=str(copy), visible=True)

    download_btn.click(download, [sel_kb, sel_id], download_file, api_name="download_document", concurrency_limit=None)

    @guarded
    def delete_document(kb: str, doc_id, confirm: bool, request: gr.Request):
        kb, doc_id = selected(kb, doc_id)
        user = current_user(svc, request)
        if not confirm:
            raise UserError("请先勾选“确认删除”")
        doc = svc.delete_document(user, kb, doc_id)
        return f"✓ 已删除《{ui.md(doc.title)}》（{doc.n_chunks} 段）", False, "", None

    # The selection is cleared (the selected document may be gone), then the views are refreshed.
    # Not in the import lane: a document can be deleted while a long import runs.
    del_btn.click(delete_document, [sel_kb, sel_id, del_confirm], [doc_msg, del_confirm, sel_kb, sel_id],
                  api_name="delete_document", concurrency_id="kb-edit", concurrency_limit=2,
                  show_progress_on=doc_msg).success(**refresh)

    @guarded
    def replace_document(kb: str, doc_id, path: str | None, request: gr.Request):
        kb, doc_id = selected(kb, doc_id)
        if not path:
            raise UserError("请先选择用来替换的新文件")
        try:
            result = svc.replace_document(current_user(svc, request), kb, doc_id, path)
        finally:
            discard_uploads(path)
        return ui.md(result.summary()).replace("\n", "<br>"), None, "", None

    replace_btn.click(replace_document, [sel_kb, sel_id, replace_file], [doc_msg, replace_file, sel_kb, sel_id],
                      api_name="replace_document", concurrency_id="ingest", concurrency_limit=1,
                      show_progress_on=doc_msg).success(**refresh)

    @guarded
    def import_laws(picked: list[str], more: str, request: gr.Request, progress=gr.Progress()):
        extra = [n for n in (more or "").replace("，", "、").replace(",", "、").split("、") if n.strip()]
        names = list(picked or []) + extra
        if not names:
            raise UserError("请至少选择一部法律")
        results = svc.import_laws(current_user(svc, request), names,
                                  progress=lambda frac, msg: progress(frac, desc=msg))
        return ui.ingest_summary(results)

    law_event = dict(fn=import_laws, outputs=law_result, concurrency_id="ingest", concurrency_limit=1)
    law_btn.click(inputs=[law_pick, law_more], api_name="import_laws_form", api_visibility="private",
                  **law_event).success(**refresh)
    api_laws_btn.click(inputs=[api_laws, law_more], api_name="import_laws", **law_event).success(**refresh)
    return KbTab(tab=kb_tab, upload_kb=up_kb, filter_kb=f_kb, reembedded=reembed.done)
