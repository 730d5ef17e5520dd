"""社工助手 web app (Gradio): one module per tab, the HTML helpers beside them.

    webapp/ask_tab.py         问答
    webapp/kb_tab.py          知识库 (督导, 管理员); its 向量模型 panel in reembed_panel.py
    webapp/accounts_tab.py    账号 (管理员)
    webapp/my_account_tab.py  我的账号
    webapp/render.py          answers, source cards, ingest results as HTML
    webapp/common.py          the signed-in user, Chinese error messages
    webapp/launch.py          sign-in, first-run admin, launching (``python -m webapp``, ``shegong app``)

The tabs are layout and event wiring only; every action goes through ``service.Service``, which
checks the signed-in user's role. Sign-in uses Gradio's built-in ``auth=`` (local accounts,
service/accounts.py), so each handler knows the user from ``gr.Request.username``, also for API
calls made with ``gradio_client.Client(url, auth=(name, password))``.
"""

from __future__ import annotations

import gradio as gr

from service import Service
from webapp import accounts_tab, ask_tab, kb_tab, my_account_tab
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
            kb = kb_tab.build(svc)
            accounts = accounts_tab.build(svc)
            my_account_tab.build(svc)

        @guarded
        def on_load(request: gr.Request):
            """What the signed-in user may see: the tabs of their role, their conversations, the KB pickers."""
            user = current_user(svc, request)
            kb_ok, acc_ok = user.can("kb.write"), user.can("accounts")
            names = svc.kb_names(user) if kb_ok else []
            return (
                f"当前账号：**{ui.md(user.username)}**（{user.role}）",
                svc.status(),
                gr.Tab(visible=kb_ok),
                gr.Tab(visible=acc_ok),
                gr.Dropdown(choices=ask_tab.conversation_choices(svc, user), value=""),
                gr.Dropdown(choices=[kb_tab.AUTO_KB] + names, value=kb_tab.AUTO_KB),
                gr.Dropdown(choices=[kb_tab.ALL] + names, value=kb_tab.ALL),
            )

        demo.load(on_load, None, [who, status_line, kb.tab, accounts, ask.conversations, kb.upload_kb, kb.filter_kb],
                  api_visibility="private", concurrency_limit=None)

        def refresh_status():
            return svc.status(), gr.Timer(active=svc.busy)  # stop polling once everything is ready

        timer.tick(refresh_status, None, [status_line, timer], show_progress="hidden",
                   api_visibility="private", concurrency_limit=None)
        kb.reembedded.then(refresh_status, None, [status_line, timer], show_progress="hidden",
                           api_visibility="private", concurrency_limit=None)
    return demo


def main() -> None:
    from webapp.launch import main as launch_main

    launch_main()


__all__ = ["build_app", "main"]
