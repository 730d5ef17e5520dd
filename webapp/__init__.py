"""社工助手 web app (Gradio): one module per tab, the HTML helpers beside them.

    webapp/ask_tab.py         问答
    webapp/kb_tab.py          知识库 (督导, 管理员); its 向量模型 panel in reembed_panel.py
    webapp/dispatch_tab.py    派单 (社工 and above; importing a list: 督导 and above)
    webapp/accounts_tab.py    账号 (管理员)
    webapp/my_account_tab.py  我的账号
    webapp/drill_tab.py       练习 (every role: practice, 模拟考试, 错题本, progress)
    webapp/bank_tab.py        题库管理 (督导, 管理员: import/export, generated questions, review)
    webapp/drill_render.py    questions, feedback, exam reports and the progress chart
    webapp/visits_tab.py      走访 (社工 and above): jotting -> record, highlighted sources, edit, save
    webapp/ledger_tab.py      台账: queries, exports, roster import, an account's community
    webapp/summary_tab.py     总结: a year's statistics, charts, the checked narrative, the Word file
    webapp/render.py          answers, source cards, ingest results as HTML
    webapp/common.py          the signed-in user, Chinese error messages
    webapp/launch.py          sign-in, first-run admin, launching (``python -m webapp``, ``shegong app``)

The tabs are layout and event wiring only; every action goes through ``service.Service``, which
checks the signed-in user's role. Sign-in uses Gradio's built-in ``auth=`` (local accounts,
service/accounts.py), so each handler knows the user from ``gr.Request.username``, also for API
calls made with ``gradio_client.Client(url, auth=(name, password))``.
"""

from __future__ import annotations

import datetime as dt

import gradio as gr

from service import Service
from webapp import (accounts_tab, ask_tab, bank_tab, dispatch_tab, drill_tab, kb_tab, ledger_tab, my_account_tab,
                    summary_tab, visits_tab)
from webapp import render as ui
from webapp.common import current_user, guarded


def build_app(svc: Service) -> gr.Blocks:
    # Uploaded files are copied into the data dir (and Gradio's copies removed) as soon as an import starts; a
    # file uploaded but never imported goes within the hour.
    with gr.Blocks(title="社工助手", fill_width=True, delete_cache=(600, 3600)) as demo:
        with gr.Row(equal_height=True, elem_id="sg-header"):
            gr.Markdown("### 社工助手 · 找政策 / 搜方案", scale=3, min_width=220, latex_delimiters=[])
            who = gr.Markdown("", elem_id="sg-who", scale=2, min_width=160, latex_delimiters=[])
            gr.Button("退出登录", link="/logout", size="sm", scale=0, min_width=90)
        status_line = gr.Markdown(svc.status(), elem_id="sg-status-line", latex_delimiters=[])
        timer = gr.Timer(4)
        with gr.Tabs():
            ask = ask_tab.build(svc)
            drill = drill_tab.build(svc)
            kb = kb_tab.build(svc)  # among the first: on a phone the tabs past the width fold away
            visits = visits_tab.build(svc)
            ledger = ledger_tab.build(svc)
            summary = summary_tab.build(svc)
            dispatch = dispatch_tab.build(svc)
            bank = bank_tab.build(svc)
            accounts = accounts_tab.build(svc)
            my_account_tab.build(svc)

        @guarded
        def on_load(request: gr.Request):
            """What the signed-in user may see: the tabs of their role, their conversations, the KB pickers."""
            user = current_user(svc, request)
            kb_ok, acc_ok = user.can("kb.write"), user.can("accounts")
            drill_ok, bank_ok = user.can("drill"), user.can("drill.manage")
            names = svc.kb_names(user) if kb_ok else []
            return (
                f"当前账号：**{ui.md(user.username)}**（{user.role}）",
                svc.status(),
                gr.Tab(visible=kb_ok),
                gr.Tab(visible=acc_ok),
                gr.Tab(visible=drill_ok),
                gr.Tab(visible=bank_ok),
                gr.Dropdown(choices=names, value=names[0] if names else None),
                gr.Dropdown(choices=ask_tab.conversation_choices(svc, user), value=""),
                gr.Dropdown(choices=[kb_tab.AUTO_KB] + names, value=kb_tab.AUTO_KB),
                gr.Dropdown(choices=[kb_tab.ALL] + names, value=kb_tab.ALL),
                gr.Tab(visible=user.can("dispatch")),
                gr.Accordion(visible=user.can("dispatch.manage")),
            )

        demo.load(on_load, None, [who, status_line, kb.tab, accounts, drill.tab, bank.tab, bank.gen_kb,
                                  ask.conversations, kb.upload_kb, kb.filter_kb, dispatch.tab, dispatch.manage],
                  api_visibility="private", concurrency_limit=None)

        @guarded
        def on_load_visits(request: gr.Request):
            """The 走访, 台账 and 总结 tabs for 社工 and above; a 管理员 (no fixed community) names one."""
            user = current_user(svc, request)
            ok = user.can("visit")
            admin = ok and user.role == "管理员"
            return (gr.Tab(visible=ok), gr.Tab(visible=ok), gr.Tab(visible=ok),
                    ledger_tab.community_line(svc, user) if ok else "",
                    gr.Accordion(visible=user.can("visit.roster")), gr.Accordion(visible=user.can("accounts")),
                    *(gr.Textbox(visible=admin) for _ in range(3)), dt.date.today().isoformat())

        demo.load(on_load_visits, None, [visits.tab, ledger.tab, summary.tab, ledger.mine, ledger.roster,
                                         ledger.accounts, visits.community, ledger.community, summary.community,
                                         visits.visit_date],
                  api_visibility="private", concurrency_limit=None)

        def refresh_status():
            # slower once everything is ready, never off: the model worker can crash and restart meanwhile
            return svc.status(), gr.Timer(4 if svc.busy else 15)

        timer.tick(refresh_status, None, [status_line, timer], show_progress="hidden",
                   api_visibility="private", concurrency_limit=None)
        kb.reembedded.then(refresh_status, None, [status_line, timer], show_progress="hidden",
                           api_visibility="private", concurrency_limit=None)
    return demo


def main() -> None:
    from webapp.launch import main as launch_main

    launch_main()


__all__ = ["build_app", "main"]
