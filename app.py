"""社工助手 web app. Run: ``python app.py`` (opens on settings.app_host:app_port).

This file is layout and event wiring only; every action goes through
``assistant.service.Service``, which checks the signed-in user's role.
Sign-in uses Gradio's built-in ``auth=`` (local accounts, see shegong/accounts.py),
so each handler knows the user from ``gr.Request.username`` — also for API calls
made with ``gradio_client.Client(url, auth=(name, password))``.
"""

from __future__ import annotations

import functools
import inspect
import logging
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import gradio as gr
import pandas as pd

from assistant import ui_render as ui
from assistant.service import Service, get_service
from ingest.types import DOC_TYPE_LABELS
from knowledge.store import database_error
from shegong import accounts, history
from shegong.config import get_settings
from shegong.errors import UserError
from shegong.logs import setup_logging

log = logging.getLogger("shegong.app")

GENERIC_ERROR = "系统出错，请联系管理员（详情已记入日志）"
MODES = [("找政策", "policy"), ("搜方案", "solution")]
EXAMPLES = [
    "独居老人好几天没出门，社区应该怎么做？",
    "居民身份证丢了，去哪里补办？",
    "子女不赡养老人，法律上有什么规定？",
    "楼上楼下噪音纠纷怎么调解？",
]
TYPE_CHOICES = [("自动判断", "")] + [(label, key) for key, label in DOC_TYPE_LABELS.items()]
AUTO_KB = "自动（按资料类型）"
ALL = "全部"
DOC_HEADERS = ["编号", "知识库", "标题", "类型", "段落数", "加入时间", "来源"]
STATS_HEADERS = ["知识库", "文档数", "段落数", "工作手册", "政策文件", "法律法规", "案例", "大小(MB)"]
USER_HEADERS = ["用户名", "角色", "建立时间", "最近登录"]


# ---------------------------------------------------------------- error handling
def _as_gr_error(exc: Exception) -> gr.Error:
    if isinstance(exc, gr.Error):
        return exc
    if isinstance(exc, sqlite3.Error):  # a damaged or busy KB file
        exc = database_error(exc)
    if isinstance(exc, UserError):
        return gr.Error(ui.esc(str(exc)), title="无法完成", print_exception=False)
    log.exception("unexpected error in a handler")
    return gr.Error(GENERIC_ERROR, title="出错了", print_exception=False)


def guarded(fn):
    """UserError -> its Chinese message; anything else -> logged, generic message, no stack trace."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as e:
                raise _as_gr_error(e) from None
        return gen

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            raise _as_gr_error(e) from None
    return call


# ---------------------------------------------------------------- small helpers
HISTORY_HINT = ("历史对话（点此选择）", "")


def _conversation_choices(svc: Service, user) -> list[tuple[str, str]]:
    return [HISTORY_HINT] + [(f"{c.title}（{c.updated_at[5:16]}）", c.id) for c in svc.conversations(user)]


def _stats_frame(stats: list[dict]) -> pd.DataFrame:
    rows = [[s["name"], s["documents"], s["chunks"]]
            + [s["chunks_by_type"].get(t, 0) for t in DOC_TYPE_LABELS] + [s["size_mb"]] for s in stats]
    return pd.DataFrame(rows, columns=STATS_HEADERS)


def _docs_frame(docs) -> pd.DataFrame:
    rows = [[d.doc.id, d.kb, d.doc.title, DOC_TYPE_LABELS.get(d.doc.doc_type, d.doc.doc_type), d.doc.n_chunks,
             d.doc.added_at, _source_label(d.doc.source)] for d in docs]
    return pd.DataFrame(rows, columns=DOC_HEADERS)


def _sign_out_everywhere(request: gr.Request, username: str) -> None:
    """End every signed-in session of ``username``: Gradio keeps one token per sign-in in ``app.tokens``
    (its own "log out of all sessions" does the same)."""
    tokens = getattr(getattr(getattr(request, "request", None), "app", None), "tokens", None)
    if isinstance(tokens, dict):
        for token, user in list(tokens.items()):
            if user == username:
                tokens.pop(token, None)


DOWNLOADS = Path(tempfile.gettempdir()) / "shegong-downloads"


def _download_dir() -> Path:
    """A fresh folder for one download; folders older than an hour go (Gradio has cached the file by then)."""
    DOWNLOADS.mkdir(exist_ok=True)
    for old in DOWNLOADS.iterdir():
        if time.time() - old.stat().st_mtime > 3600:
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(dir=DOWNLOADS))


def _source_label(source: str) -> str:
    if source.startswith("form:"):
        return "表单录入"
    if source.startswith("laws.db:"):
        return "国家法律数据库"
    return Path(source).name


def _users_frame(users) -> pd.DataFrame:
    return pd.DataFrame([[u.username, u.role, u.created_at, u.last_login or ""] for u in users],
                        columns=USER_HEADERS)


# ---------------------------------------------------------------- the app
def build_app(svc: Service) -> gr.Blocks:
    # Uploaded files are copied into the data dir, so Gradio's own copies need not outlive a day.
    with gr.Blocks(title="社工助手", fill_width=True, delete_cache=(3600, 86400)) as demo:
        # ------------------------------------------------ header
        with gr.Row(equal_height=True, elem_id="sg-header"):
            gr.Markdown("### 社工助手 · 找政策 / 搜方案", scale=3, min_width=220)
            who = gr.Markdown("", elem_id="sg-who", scale=2, min_width=160)
            gr.Button("退出登录", link="/logout", size="sm", scale=0, min_width=90)
        status_line = gr.Markdown(svc.status(), elem_id="sg-status-line")
        timer = gr.Timer(4)

        conv_id = gr.State(None)

        with gr.Tabs():
            # ------------------------------------------------ 问答
            with gr.Tab("问答", id="ask"):
                with gr.Row(equal_height=True, elem_id="sg-ask-bar"):
                    mode = gr.Radio(MODES, value="policy", show_label=False, container=False, scale=0,
                                    min_width=190)
                    conv_dd = gr.Dropdown([HISTORY_HINT], label="历史对话", show_label=False, value="", container=False,
                                          scale=3, min_width=180, allow_custom_value=True)
                    new_chat = gr.Button("新对话", size="sm", scale=0, min_width=80)
                chatbot = gr.Chatbot(
                    label="对话", show_label=False, height="58vh", min_height=300, feedback_options=None, autoscroll=False,
                    placeholder="请输入社区工作中遇到的问题，例如居民求助、政策依据、处理办法。回答会列出依据的原文出处。",
                    examples=[{"text": q} for q in EXAMPLES], buttons=["copy"], elem_id="sg-chat")
                with gr.Row(equal_height=True):
                    question = gr.Textbox(label="问题", placeholder="在这里输入问题，按回车发送", show_label=False, container=False,
                                          scale=5, min_width=200, max_length=500, elem_id="sg-question")
                    send = gr.Button("提问", variant="primary", scale=1, min_width=80)
                with gr.Row(equal_height=True):
                    good = gr.Button("👍 有用", size="sm", scale=0, min_width=80)
                    bad = gr.Button("👎 没用", size="sm", scale=0, min_width=80)
                    comment = gr.Textbox(label="意见", placeholder="对最近一条回答的意见（可选），填好后点 👍 或 👎 提交",
                                         show_label=False, container=False, scale=4, min_width=200)
                answer_json = gr.JSON(visible=False)

            # ------------------------------------------------ 知识库 (督导/管理员)
            with gr.Tab("知识库", id="kb", visible=False) as kb_tab:
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
                    up_btn = gr.Button("开始导入", variant="primary")
                    up_result = gr.Textbox(label="导入结果", lines=4, interactive=False)
                with gr.Accordion("录入案例", open=False):
                    case_inputs = {}
                    with gr.Row():
                        case_inputs["标题"] = gr.Textbox(label="标题（必填）")
                        case_inputs["涉及部门"] = gr.Textbox(label="涉及部门")
                    for name in ("场景", "问题", "做法", "成效"):
                        case_inputs[name] = gr.Textbox(label=name, lines=2)
                    case_inputs["标签"] = gr.Textbox(label="标签（用顿号或逗号分隔）")
                    case_btn = gr.Button("保存案例", variant="primary")
                    case_result = gr.Markdown()
                with gr.Accordion("文档列表", open=True):
                    with gr.Row():
                        f_kb = gr.Dropdown([ALL], value=ALL, label="知识库", allow_custom_value=True)
                        f_type = gr.Dropdown([("全部", "")] + TYPE_CHOICES[1:], value="", label="类型", allow_custom_value=True)
                        f_query = gr.Textbox(label="标题或文件名包含")
                    list_btn = gr.Button("查询", size="sm")
                    docs_df = gr.Dataframe(headers=DOC_HEADERS, interactive=False, max_height=360, wrap=True)
                    gr.Markdown("点表格中的一行选中文档，然后查看、下载、替换或删除。")
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
                    doc_msg = gr.Markdown()
                    download_file = gr.File(label="原文件", visible=False)
                    chunks_view = gr.HTML()
                with gr.Accordion("导入国家法律", open=False):
                    from ingest.laws import DEFAULT_LAWS

                    law_pick = gr.CheckboxGroup(DEFAULT_LAWS, value=DEFAULT_LAWS, label="常用法律")
                    law_more = gr.Textbox(label="其他法律名称（可选，多个用顿号或逗号分隔）")
                    law_btn = gr.Button("导入选中的法律", variant="primary")
                    law_result = gr.Textbox(label="导入结果", lines=4, interactive=False)

            # ------------------------------------------------ 账号 (管理员)
            with gr.Tab("账号", id="accounts", visible=False) as acc_tab:
                gr.Markdown("角色：**社工** 提问；**督导** 提问、管理知识库；**学员** 提问、题库训练；"
                            "**管理员** 管理账号及全部功能。点表格中的一行可选中该账号。")
                users_df = gr.Dataframe(headers=USER_HEADERS, interactive=False)
                users_btn = gr.Button("刷新", size="sm")
                with gr.Row():
                    acc_name = gr.Textbox(label="用户名")
                    acc_role = gr.Dropdown(list(accounts.ROLES), value="社工", label="角色", allow_custom_value=True)
                    acc_pw = gr.Textbox(label="密码（留空则自动生成）", type="password")
                with gr.Row():
                    add_btn = gr.Button("新建账号", variant="primary")
                    role_btn = gr.Button("修改角色")
                    pw_btn = gr.Button("重置密码")
                    acc_del_confirm = gr.Checkbox(label="确认删除", value=False)
                    acc_del_btn = gr.Button("删除账号", variant="stop")
                acc_msg = gr.Markdown()

            # ------------------------------------------------ 我的账号 (everyone)
            with gr.Tab("我的账号", id="me"):
                old_pw = gr.Textbox(label="原密码", type="password")
                new_pw = gr.Textbox(label="新密码（至少 6 位）", type="password")
                new_pw2 = gr.Textbox(label="再输入一次新密码", type="password")
                my_pw_btn = gr.Button("修改密码")
                my_msg = gr.Markdown()

        # ================================================= handlers
        def me(request: gr.Request):
            return svc.user(request.username if request else None)

        @guarded
        def on_load(request: gr.Request):
            user = me(request)
            kb_ok, acc_ok = user.can("kb.write"), user.can("accounts")
            names = svc.kb_names(user) if kb_ok else []
            return (
                f"当前账号：**{ui.esc(user.username)}**（{user.role}）",
                svc.status(),
                gr.Tab(visible=kb_ok),
                gr.Tab(visible=acc_ok),
                gr.Dropdown(choices=_conversation_choices(svc, user), value=""),
                gr.Dropdown(choices=[AUTO_KB] + names, value=AUTO_KB),
                gr.Dropdown(choices=[ALL] + names, value=ALL),
            )

        demo.load(on_load, None, [who, status_line, kb_tab, acc_tab, conv_dd, up_kb, f_kb],
                  api_visibility="private", concurrency_limit=None)
        def refresh_status():
            # [llm-worker] slower once everything is ready, never off: the model worker can crash and restart
            return svc.status(), gr.Timer(4 if svc.busy else 15)

        timer.tick(refresh_status, None, [status_line, timer], show_progress="hidden",
                   api_visibility="private", concurrency_limit=None)

        # ---------------- 问答
        def chat_with_pending(user, cid: str | None, q: str) -> list[dict]:
            conv = history.get_conversation(user.username, cid) if cid else None
            return ui.chat_messages(conv.messages if conv else []) + [
                {"role": "user", "content": ui.esc(q)},
                {"role": "assistant", "content": ui.render_pending("正在检索知识库……")}]

        @guarded
        def show_question(q: str, cid: str | None, request: gr.Request):
            """Put the question on screen at once; ``ask`` then streams the answer."""
            if not (q or "").strip():
                return gr.update()
            return chat_with_pending(me(request), cid, q.strip())

        @guarded
        def ask(q: str, mode_value: str, cid: str | None, request: gr.Request):
            user = me(request)
            q = (q or "").strip()
            if not q:
                raise UserError("请先输入问题")
            cid = cid or history.new_conversation_id()
            chat = chat_with_pending(user, cid, q)
            yield chat, "", cid, None, gr.update()
            text, status, citations, extract = "", "正在检索知识库……", [], None
            for ev in svc.ask_stream(user, q, mode_value or "policy", conversation_id=cid):
                if ev.kind == "status":
                    status = ev.text
                elif ev.kind == "sources":
                    citations = ev.answer.citations
                    status = "正在生成回答……" if svc.llm_ready else "正在整理原文……"
                elif ev.kind == "extract":  # [llm-worker] the best source sentences, before the model's first word
                    extract = (ev.text, ev.answer.extract)
                elif ev.kind == "token":
                    text += ev.text
                elif ev.kind == "final":
                    data = ev.answer.to_json()
                    chat[-1] = {"role": "assistant", "content": ui.render_answer(data)}
                    yield chat, "", cid, data, gr.Dropdown(choices=_conversation_choices(svc, user), value=cid)
                    return
                chat[-1] = {"role": "assistant", "content": ui.render_pending(status, text, citations, extract)}
                yield chat, "", cid, None, gr.update()

        ask_inputs, ask_outputs = [question, mode, conv_id], [chatbot, question, conv_id, answer_json, conv_dd]
        private = dict(api_visibility="private")
        to_question = dict(fn=None, js=ui.SCROLL_TO_QUESTION_JS, queue=False, **private)
        to_answer = dict(fn=None, js=ui.SCROLL_TO_ANSWER_JS, queue=False, **private)
        # The API endpoint "ask" is the plain streaming handler; the UI chains around it.
        api_ask = gr.Button(visible=False)
        # The API's mode is a free value checked by the service (in Chinese); a Radio would answer in English.
        api_mode = gr.Dropdown(MODES, value="policy", visible=False, allow_custom_value=True, label="提问方式")
        api_ask.click(ask, [question, api_mode, conv_id], ask_outputs, api_name="ask", concurrency_id="llm")
        # Progress (and a refusal's error mark) on the chat only, not on the question box the user types in.
        answer_event = dict(fn=ask, inputs=ask_inputs, outputs=ask_outputs, concurrency_id="llm",
                            show_progress_on=chatbot, **private)
        for trigger in (send.click, question.submit):
            trigger(show_question, [question, conv_id], chatbot, queue=False, **private).then(**to_question).then(
                **answer_event).then(**to_answer)

        def pick_example(evt: gr.SelectData):
            return (evt.value or {}).get("text", "")

        chatbot.example_select(pick_example, None, question, queue=False, **private).then(
            show_question, [question, conv_id], chatbot, queue=False, **private).then(**to_question).then(
            **answer_event).then(**to_answer)

        @guarded
        def open_conversation(cid: str | None, request: gr.Request):
            user = me(request)
            if not cid:
                return gr.update(), gr.update(), gr.update(), gr.update()
            conv = svc.conversation(user, cid)
            last = next((m["answer"] for m in reversed(conv.messages) if m.get("answer")), None)
            return ui.chat_messages(conv.messages), cid, conv.mode, last

        conv_dd.input(open_conversation, conv_dd, [chatbot, conv_id, mode, answer_json],
                      api_name="open_conversation", concurrency_limit=None)
        new_chat.click(lambda: ([], None, None, gr.Dropdown(value="")), None,
                       [chatbot, conv_id, answer_json, conv_dd], api_visibility="private", concurrency_limit=None)

        def make_feedback(rating: int):
            @guarded
            def rate(answer: dict | None, note: str, cid: str | None, request: gr.Request):
                user = me(request)
                if not answer:
                    raise UserError("还没有可以评价的回答")
                svc.feedback(user, answer.get("question", ""), answer.get("answer", ""),
                             answer.get("citations", []), rating, note, cid)
                gr.Info("已记录，谢谢反馈！", title="反馈")
                return ""
            return rate

        good.click(make_feedback(1), [answer_json, comment, conv_id], comment, api_name="feedback_good",
                   concurrency_limit=None, show_progress="hidden")
        bad.click(make_feedback(-1), [answer_json, comment, conv_id], comment, api_name="feedback_bad",
                  concurrency_limit=None, show_progress="hidden")

        # ---------------- 知识库
        @guarded
        def kb_stats(request: gr.Request):
            return _stats_frame(svc.kb_stats(me(request)))

        stats_btn.click(kb_stats, None, stats_df, api_name="kb_stats", concurrency_limit=None)
        kb_tab.select(kb_stats, None, stats_df, api_visibility="private", concurrency_limit=None)

        @guarded
        def upload(paths: list[str] | None, kb: str, doc_type: str, request: gr.Request,
                   progress=gr.Progress()):
            user = me(request)
            results = svc.upload(user, paths or [], None if kb in (AUTO_KB, "", None) else kb, doc_type or None,
                                 progress=lambda frac, msg: progress(frac, desc=msg))
            return ui.ingest_summary(results), None

        uploaded = up_btn.click(upload, [files, up_kb, up_type], [up_result, files], api_name="upload",
                                concurrency_id="ingest", concurrency_limit=1, show_progress_on=up_result)

        @guarded
        def add_case(title: str, department: str, scene: str, problem: str, method: str, effect: str, tags: str,
                     request: gr.Request):
            values = [title, department, scene, problem, method, effect, tags]  # same order as case_inputs
            result = svc.add_case(me(request), dict(zip(case_inputs, values)))
            if result.status == "error":
                raise UserError(result.error or "保存失败")
            return f"✓ 已保存案例「{ui.esc(result.title)}」，现在提问即可检索到。"

        case_saved = case_btn.click(add_case, list(case_inputs.values()), case_result, api_name="add_case",
                                    concurrency_id="ingest", concurrency_limit=1)

        @guarded
        def list_documents(kb: str, doc_type: str, query: str, request: gr.Request):
            docs = svc.list_documents(me(request), None if kb in (ALL, "", None) else kb, query, doc_type or None)
            return _docs_frame(docs)

        list_btn.click(list_documents, [f_kb, f_type, f_query], docs_df, api_name="list_documents",
                       concurrency_limit=None)
        f_query.submit(list_documents, [f_kb, f_type, f_query], docs_df, api_visibility="private",
                       concurrency_limit=None)
        kb_tab.select(list_documents, [f_kb, f_type, f_query], docs_df, api_visibility="private",
                      concurrency_limit=None)

        @guarded
        def refresh_kb_views(up_value: str, f_value: str, doc_type: str, query: str, request: gr.Request):
            """After any change: a new KB shows in both KB pickers, the table (with the filters on screen) and the
            statistics are current."""
            user = me(request)
            names = svc.kb_names(user)
            shown_kb = f_value if f_value in names else ALL  # the filtered KB may be gone
            return (gr.Dropdown(choices=[AUTO_KB] + names, value=up_value or AUTO_KB),
                    gr.Dropdown(choices=[ALL] + names, value=shown_kb),
                    list_documents(shown_kb, doc_type, query, request),
                    _stats_frame(svc.kb_stats(user)))

        refresh = dict(fn=refresh_kb_views, inputs=[up_kb, f_kb, f_type, f_query],
                       outputs=[up_kb, f_kb, docs_df, stats_df], api_visibility="private", concurrency_limit=None)
        uploaded.success(**refresh)
        case_saved.success(**refresh)

        def select_document(evt: gr.SelectData):
            row = evt.row_value or []
            return (row[1], row[0]) if len(row) >= 2 else (gr.update(), gr.update())

        docs_df.select(select_document, None, [sel_kb, sel_id], api_visibility="private", concurrency_limit=None)

        def _selected(kb: str, doc_id) -> tuple[str, int]:
            if not kb or not doc_id:  # document ids start at 1
                raise UserError("请先在文档列表中点选一个文档")
            return kb, int(doc_id)

        @guarded
        def document_chunks(kb: str, doc_id, request: gr.Request):
            kb, doc_id = _selected(kb, doc_id)
            user = me(request)
            doc = next((d.doc for d in svc.list_documents(user, kb) if d.doc.id == doc_id), None)
            return ui.chunks_html(doc.title if doc else "", svc.document_chunks(user, kb, doc_id))

        chunks_btn.click(document_chunks, [sel_kb, sel_id], chunks_view, api_name="document_chunks",
                         concurrency_limit=None)

        @guarded
        def download(kb: str, doc_id, request: gr.Request):
            kb, doc_id = _selected(kb, doc_id)
            path = svc.stored_file(me(request), kb, doc_id)
            if path is None:
                raise UserError("这个文档没有保存原文件（例如表单录入的案例或从法律数据库导入的法律）")
            copy = _download_dir() / path.name  # Gradio serves (and caches) it from there
            shutil.copyfile(path, copy)
            return gr.File(value=str(copy), visible=True)

        download_btn.click(download, [sel_kb, sel_id], download_file, api_name="download_document",
                           concurrency_limit=None)

        @guarded
        def delete_document(kb: str, doc_id, confirm: bool, request: gr.Request):
            kb, doc_id = _selected(kb, doc_id)
            user = me(request)
            if not confirm:
                raise UserError("请先勾选“确认删除”")
            doc = svc.delete_document(user, kb, doc_id)
            return f"✓ 已删除《{ui.esc(doc.title)}》（{doc.n_chunks} 段）", False, "", None

        # The selection is cleared (the selected document may be gone), then the views are refreshed.
        del_btn.click(delete_document, [sel_kb, sel_id, del_confirm], [doc_msg, del_confirm, sel_kb, sel_id],
                      api_name="delete_document", concurrency_id="ingest", concurrency_limit=1,
                      show_progress_on=doc_msg).success(**refresh)

        @guarded
        def replace_document(kb: str, doc_id, path: str | None, request: gr.Request):
            kb, doc_id = _selected(kb, doc_id)
            if not path:
                raise UserError("请先选择用来替换的新文件")
            result = svc.replace_document(me(request), kb, doc_id, path)
            return ui.esc(result.summary()).replace("\n", "<br>"), None, "", None

        replace_btn.click(replace_document, [sel_kb, sel_id, replace_file], [doc_msg, replace_file, sel_kb, sel_id],
                          api_name="replace_document", concurrency_id="ingest", concurrency_limit=1,
                          show_progress_on=doc_msg).success(**refresh)

        @guarded
        def import_laws(picked: list[str], more: str, request: gr.Request, progress=gr.Progress()):
            extra = [n for n in (more or "").replace("，", "、").replace(",", "、").split("、") if n.strip()]
            names = list(picked or []) + extra
            if not names:
                raise UserError("请至少选择一部法律")
            results = svc.import_laws(me(request), names, progress=lambda frac, msg: progress(frac, desc=msg))
            return ui.ingest_summary(results)

        law_event = dict(fn=import_laws, outputs=law_result, concurrency_id="ingest", concurrency_limit=1)
        law_btn.click(inputs=[law_pick, law_more], api_name="import_laws_form", api_visibility="private", **law_event).success(**refresh)
        # The API takes any law name and the importer says in Chinese which it cannot find; the
        # CheckboxGroup would refuse a name it does not list in English.
        api_laws = gr.Dropdown(DEFAULT_LAWS, value=[], multiselect=True, allow_custom_value=True, visible=False,
                               label="法律名称")
        gr.Button(visible=False).click(inputs=[api_laws, law_more], api_name="import_laws", **law_event).success(**refresh)

        # ---------------- 账号
        @guarded
        def list_users(request: gr.Request):
            return _users_frame(svc.list_users(me(request)))

        users_btn.click(list_users, None, users_df, api_name="list_users", concurrency_limit=None)
        acc_tab.select(list_users, None, users_df, api_visibility="private", concurrency_limit=None)

        def select_user(evt: gr.SelectData):
            row = evt.row_value or []
            return (row[0], row[1]) if len(row) >= 2 else (gr.update(), gr.update())

        users_df.select(select_user, None, [acc_name, acc_role], api_visibility="private", concurrency_limit=None)

        @guarded
        def add_user(name: str, role: str, password: str, request: gr.Request):
            user = me(request)
            new, pw = svc.add_user(user, name, role, password)
            shown = ("密码已按输入设置" if password
                     else f"初始密码：`{ui.esc(pw)}`（请转告本人，登录后在「我的账号」修改）")
            return f"✓ 已新建账号 **{ui.esc(new.username)}**（{new.role}）。{shown}", "", _users_frame(
                svc.list_users(user))

        add_btn.click(add_user, [acc_name, acc_role, acc_pw], [acc_msg, acc_pw, users_df], api_name="add_user",
                      concurrency_limit=None, show_progress_on=acc_msg)

        @guarded
        def set_role(name: str, role: str, request: gr.Request):
            user = me(request)
            changed = svc.set_role(user, (name or "").strip(), role)
            return f"✓ {ui.esc(changed.username)} 的角色已改为 {changed.role}", _users_frame(svc.list_users(user))

        role_btn.click(set_role, [acc_name, acc_role], [acc_msg, users_df], api_name="set_role",
                       concurrency_limit=None, show_progress_on=acc_msg)

        @guarded
        def reset_password(name: str, password: str, request: gr.Request):
            pw = svc.reset_password(me(request), (name or "").strip(), password)
            _sign_out_everywhere(request, (name or "").strip())  # whoever knew the old password is out too
            shown = f"新密码：`{ui.esc(pw)}`" if not password else "已设为输入的密码"
            return f"✓ 已重置 {ui.esc(name)} 的密码。{shown}", ""

        pw_btn.click(reset_password, [acc_name, acc_pw], [acc_msg, acc_pw], api_name="reset_password",
                     concurrency_limit=None, show_progress_on=acc_msg)

        @guarded
        def delete_user(name: str, confirm: bool, request: gr.Request):
            user = me(request)
            if not confirm:
                raise UserError("请先勾选“确认删除”")
            svc.delete_user(user, (name or "").strip())
            return f"✓ 已删除账号 {ui.esc(name)}", False, _users_frame(svc.list_users(user))

        acc_del_btn.click(delete_user, [acc_name, acc_del_confirm], [acc_msg, acc_del_confirm, users_df],
                          api_name="delete_user", concurrency_limit=None, show_progress_on=acc_msg)

        @guarded
        def change_my_password(old: str, new: str, again: str, request: gr.Request):
            if new != again:
                raise UserError("两次输入的新密码不一致")
            svc.change_own_password(me(request), old, new)
            return "✓ 密码已修改，下次登录请使用新密码", "", "", ""

        my_pw_btn.click(change_my_password, [old_pw, new_pw, new_pw2], [my_msg, old_pw, new_pw, new_pw2],
                        api_name="change_password", concurrency_limit=None, show_progress_on=my_msg)

    return demo


# ---------------------------------------------------------------- launch
def announce_initial_admin() -> None:
    """First run: create the 管理员 account and tell the person starting the app how to sign in."""
    admin = accounts.ensure_admin()
    if admin is None:
        return
    line = "=" * 60
    if admin.password_file:
        print(f"\n{line}\n首次启动：已建立管理员账号\n  用户名：{admin.username}\n  密码：{admin.password}\n"
              f"  （密码也已保存在 {admin.password_file}）\n请登录后在「账号」页为同事建立账号。\n{line}\n", flush=True)
    else:
        print(f"\n{line}\n首次启动：已建立管理员账号 {admin.username}，"
              f"密码为环境变量 SHEGONG_ADMIN_PASSWORD 的值。\n{line}\n",
              flush=True)


def check_login(username: str, password: str) -> bool:
    return accounts.authenticate(username, password) is not None


def launch(svc: Service | None = None, *, prevent_thread_lock: bool = False, **kwargs):
    """Build and launch the app; returns what ``Blocks.launch`` returns (app, local url, share url)."""
    settings = get_settings()
    announce_initial_admin()
    svc = svc or get_service().start()
    demo = build_app(svc)
    # The in-process model runs one generation at a time; an HTTP backend can take several. [llm-worker] The model
    # worker queues generations itself and counts tokens meanwhile: other users get their sources and 原文摘录 at once.
    parallel = settings.llm_backend == "openai" or (settings.llm_backend == "llama_cpp" and settings.llm_worker)
    llm_slots = max(settings.app_concurrency, 8 if parallel else 1)
    demo.queue(default_concurrency_limit=llm_slots)
    options = dict(
        server_name=settings.app_host,
        server_port=settings.app_port,
        auth=check_login,
        auth_message="请使用社工助手账号登录。首次使用时，管理员密码见启动窗口或数据目录中的「初始管理员密码.txt」。",
        show_error=False,
        # Gradio stops huge uploads early, in English; ours (at max_upload_mb) says why in Chinese, so
        # Gradio's cap sits far above it and only stops what is absurd for a disk (a 200 MB file gets ours).
        max_file_size=f"{max(settings.max_upload_mb * 10, 1024)}mb",
        footer_links=[],
        theme=gr.themes.Soft(),
        css=ui.CSS,
        head=ui.TOAST_HEAD,
        prevent_thread_lock=prevent_thread_lock,
        quiet=False,
    )
    options.update(kwargs)
    return demo, demo.launch(**options)


def main() -> None:
    setup_logging("app", console=True)
    launch()


if __name__ == "__main__":
    main()
