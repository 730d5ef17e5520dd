"""我的账号 tab (everyone): change one's own password."""

from __future__ import annotations

import gradio as gr

from service import Service
from shegong.errors import UserError
from webapp.common import current_user, guarded
from webapp.sessions import end_sessions


def build(svc: Service) -> None:
    with gr.Tab("我的账号", id="me"):
        old_pw = gr.Textbox(label="原密码", type="password")
        new_pw = gr.Textbox(label="新密码（至少 6 位）", type="password")
        new_pw2 = gr.Textbox(label="再输入一次新密码", type="password")
        my_pw_btn = gr.Button("修改密码")
        my_msg = gr.Markdown(latex_delimiters=[])

    @guarded
    def change_my_password(old: str, new: str, again: str, request: gr.Request):
        if new != again:
            raise UserError("两次输入的新密码不一致")
        user = current_user(svc, request)
        svc.change_own_password(user, old, new)
        end_sessions(request, user.username, "password_changed")  # every session, this one too
        return "✓ 密码已修改。这个账号在各处（包括这里）都已退出登录，请刷新页面，用新密码重新登录", "", "", ""

    my_pw_btn.click(change_my_password, [old_pw, new_pw, new_pw2], [my_msg, old_pw, new_pw, new_pw2],
                    api_name="change_password", concurrency_limit=None, show_progress_on=my_msg)
