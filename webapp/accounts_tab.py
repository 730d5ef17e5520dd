"""账号 tab (管理员): create accounts, change roles, reset passwords, delete accounts."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from service import Service
from service.accounts import ROLES
from shegong.errors import UserError
from webapp import render as ui
from webapp.common import current_user, guarded
from webapp.sessions import end_sessions

USER_HEADERS = ["用户名", "角色", "建立时间", "最近登录"]


def users_frame(users) -> pd.DataFrame:
    return pd.DataFrame([[u.username, u.role, u.created_at, u.last_login or ""] for u in users],
                        columns=USER_HEADERS)


def build(svc: Service) -> gr.Tab:
    with gr.Tab("账号", id="accounts", visible=False) as acc_tab:
        gr.Markdown("角色：**社工** 提问；**督导** 提问、管理和浏览知识库；**学员** 提问、题库训练；"
                    "**管理员** 管理账号及全部功能。点表格中的一行可选中该账号。", latex_delimiters=[])
        users_df = gr.Dataframe(headers=USER_HEADERS, interactive=False)
        users_btn = gr.Button("刷新", size="sm")
        with gr.Row():
            acc_name = gr.Textbox(label="用户名")
            acc_role = gr.Dropdown(list(ROLES), value="社工", label="角色", allow_custom_value=True)
            acc_pw = gr.Textbox(label="密码（留空则自动生成）", type="password")
        with gr.Row():
            add_btn = gr.Button("新建账号", variant="primary")
            role_btn = gr.Button("修改角色")
            pw_btn = gr.Button("重置密码")
            acc_del_confirm = gr.Checkbox(label="确认删除", value=False)
            acc_del_btn = gr.Button("删除账号", variant="stop")
        acc_msg = gr.Markdown(latex_delimiters=[])

    @guarded
    def list_users(request: gr.Request):
        return users_frame(svc.list_users(current_user(svc, request)))

    users_btn.click(list_users, None, users_df, api_name="list_users", concurrency_limit=None)
    acc_tab.select(list_users, None, users_df, api_visibility="private", concurrency_limit=None)

    def select_user(evt: gr.SelectData):
        row = evt.row_value or []
        return (row[0], row[1]) if len(row) >= 2 else (gr.update(), gr.update())

    users_df.select(select_user, None, [acc_name, acc_role], api_visibility="private", concurrency_limit=None)

    @guarded
    def add_user(name: str, role: str, password: str, request: gr.Request):
        user = current_user(svc, request)
        new, pw = svc.add_user(user, name, role, password)
        shown = ("密码已按输入设置" if password
                 else f"初始密码：`{ui.esc(pw)}`（请转告本人，登录后在「我的账号」修改）")
        return f"✓ 已新建账号 **{ui.md(new.username)}**（{new.role}）。{shown}", "", users_frame(svc.list_users(user))

    add_btn.click(add_user, [acc_name, acc_role, acc_pw], [acc_msg, acc_pw, users_df], api_name="add_user",
                  concurrency_limit=None, show_progress_on=acc_msg)

    @guarded
    def set_role(name: str, role: str, request: gr.Request):
        user = current_user(svc, request)
        changed = svc.set_role(user, (name or "").strip(), role)
        return f"✓ {ui.md(changed.username)} 的角色已改为 {changed.role}", users_frame(svc.list_users(user))

    role_btn.click(set_role, [acc_name, acc_role], [acc_msg, users_df], api_name="set_role",
                   concurrency_limit=None, show_progress_on=acc_msg)

    @guarded
    def reset_password(name: str, password: str, request: gr.Request):
        pw = svc.reset_password(current_user(svc, request), (name or "").strip(), password)
        end_sessions(request, (name or "").strip(), "password_reset")  # whoever knew the old password is out too
        shown = f"新密码：`{ui.esc(pw)}`" if not password else "已设为输入的密码"
        return f"✓ 已重置 {ui.md(name)} 的密码，此账号已在各处退出登录。{shown}", ""

    pw_btn.click(reset_password, [acc_name, acc_pw], [acc_msg, acc_pw], api_name="reset_password",
                 concurrency_limit=None, show_progress_on=acc_msg)

    @guarded
    def delete_user(name: str, confirm: bool, request: gr.Request):
        user = current_user(svc, request)
        if not confirm:
            raise UserError("请先勾选“确认删除”")
        svc.delete_user(user, (name or "").strip())
        end_sessions(request, (name or "").strip(), "account_deleted")
        return f"✓ 已删除账号 {ui.md(name)}", False, users_frame(svc.list_users(user))

    acc_del_btn.click(delete_user, [acc_name, acc_del_confirm], [acc_msg, acc_del_confirm, users_df],
                      api_name="delete_user", concurrency_limit=None, show_progress_on=acc_msg)
    return acc_tab
