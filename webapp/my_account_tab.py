"""我的账号 tab (everyone): change one's own password."""

from __future__ import annotations

import gradio as gr

from service import Service
from shegong.errors import UserError
from webapp.common import current_user, guarded


def build(svc: Service) -> None:
    with gr.Tab("我的账号", id="me"):
        old_pw = gr.Textbox(label="原密码", type="password")
        new_pw = gr.Textbox(label="新密码（至少 6 位）", type="password")
        new_pw2 = gr.Textbox(label="再输入一次新密码", type="password")
        my_pw_btn = gr.Button("修改密码")
        my_msg = gr.Markdown()

    @guarded
    def change_my_password(old: str, new: str, again: str, request: gr.Request):
        if new != again:
            raise UserError("两次输入的新密码不一致")
        svc.change_own_password(current_user(svc, request), old, new)
        return "✓ 密码已修改，下次登录请使用新密码", "", "", ""

    my_pw_btn.click(change_my_password, [old_pw, new_pw, new_pw2], [my_msg, old_pw, new_pw, new_pw2],
                    api_name="change_password", concurrency_limit=None, show_progress_on=my_msg)
