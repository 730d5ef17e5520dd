"""台账 tab (社工, 督导, 管理员): the ledger of the account's community. Named queries and a question box, the
saved visits, exports (ID and phone numbers masked unless a full export is ticked); roster import for 督导 and
管理员; which community an account works in, for 管理员."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import gradio as gr
import pandas as pd

from service import Service
from shegong.errors import UserError
from webapp import render as ui
from webapp.common import current_user, guarded
from webapp.kb_tab import download_dir

ALL_RESIDENTS = "全部居民（台账导出）"
VISIT_HEADERS = ["走访编号", "走访日期", "社区", "走访对象", "对象类别", "风险等级", "风险标记", "建议转介", "已处理"]


@dataclass
class LedgerTab:
    tab: gr.Tab
    mine: gr.Markdown  # "本账号的社区", filled when the page loads
    roster: gr.Accordion  # 督导, 管理员
    accounts: gr.Accordion  # 管理员
    community: gr.Textbox  # 管理员: which community to act on


def visits_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([[v["id"], v["visit_date"].isoformat(), v["community"], v["subject"], v["categories"], v["risk"],
                          v["flags"], v["referrals"], "是" if v["resolved"] else "否"] for v in rows],
                        columns=VISIT_HEADERS)


def build(svc: Service) -> LedgerTab:
    with gr.Tab("台账", id="ledger", visible=False) as tab:
        mine = gr.Markdown(latex_delimiters=[])
        community = gr.Textbox(label="社区（管理员可填写要查看的社区，留空为全部）", visible=False)
        with gr.Row():
            named = gr.Dropdown(svc.named_queries() + [ALL_RESIDENTS], value=svc.named_queries()[0], label="常用查询",
                                scale=2)
            run_btn = gr.Button("查询", scale=0, min_width=80)
        with gr.Row():
            question = gr.Textbox(label="用一句话问台账", placeholder="例如：一年没走访的残疾人、未来半年年满80岁的老人",
                                  scale=4)
            ask_btn = gr.Button("问", scale=0, min_width=80)
        explanation = gr.Markdown(latex_delimiters=[])
        table = gr.Dataframe(interactive=False, wrap=True, max_height=420, elem_id="sg-ledger-table")
        with gr.Row():
            full = gr.Checkbox(label="导出完整身份证号和电话（请妥善保管文件）", value=False)
            xlsx_btn = gr.Button("导出 Excel", size="sm")
            docx_btn = gr.Button("导出 Word", size="sm")
        export_file = gr.File(label="导出的文件", visible=False)
        with gr.Accordion("走访记录", open=False):
            year = gr.Number(dt.date.today().year, label="年份", precision=0)
            visits_btn = gr.Button("列出走访记录", size="sm")
            visits_df = gr.Dataframe(headers=VISIT_HEADERS, interactive=False, wrap=True, max_height=360)
            with gr.Row():
                visit_id = gr.Number(None, label="走访编号", precision=0)
                resolved_btn = gr.Button("标记为风险已处理", size="sm")
            visit_msg = gr.Markdown(latex_delimiters=[])
        with gr.Accordion("导入居民花名册（督导、管理员）", open=False, visible=False) as roster:
            roster_file = gr.File(label="花名册 .xlsx 或 .csv（第一行是列名：姓名、身份证号、性别、出生日期、联系电话、住址、人员类别、是否独居）",
                                  type="filepath", height=120)
            roster_btn = gr.Button("导入", variant="primary")
            roster_msg = gr.Textbox(label="导入结果", lines=6, interactive=False)
        with gr.Accordion("账号所属社区（管理员）", open=False, visible=False) as accounts:
            with gr.Row():
                account = gr.Textbox(label="账号")
                account_community = gr.Textbox(label="社区名称")
                account_btn = gr.Button("设置", size="sm")
            account_msg = gr.Markdown(latex_delimiters=[])

    def shown(result) -> tuple:
        frame = pd.DataFrame(result.rows, columns=result.columns)
        return f"**{ui.md(result.title)}**：{len(result.rows)} 条（{ui.md(result.explanation)}）", frame

    @guarded
    def run_named(name: str, where: str, request: gr.Request):
        user = current_user(svc, request)
        if name == ALL_RESIDENTS:
            rows = svc.residents(user, where or None)
            frame = pd.DataFrame([[r["id"], r["name"], r["gender"], r["address"], r["categories"]] for r in rows],
                                 columns=["编号", "姓名", "性别", "住址", "人员类别"])
            return f"**全部居民**：{len(rows)} 人（导出时身份证号、电话默认打码）", frame
        return shown(svc.ledger_query(user, name, where or None))

    run_btn.click(run_named, [named, community], [explanation, table], api_name="ledger_query", concurrency_limit=None)

    @guarded
    def ask(text: str, where: str, request: gr.Request):
        if not (text or "").strip():
            raise UserError("请输入要查的内容")
        return shown(svc.ledger_query(current_user(svc, request), text.strip(), where or None))

    ask_btn.click(ask, [question, community], [explanation, table], api_name="ledger_ask", concurrency_limit=None)
    question.submit(ask, [question, community], [explanation, table], api_visibility="private", concurrency_limit=None)

    def make_export(suffix: str):
        @guarded
        def export(name: str, text: str, where: str, everything: bool, request: gr.Request):
            query = (text or "").strip() or (None if name == ALL_RESIDENTS else name)
            user = current_user(svc, request)
            path = download_dir() / f"台账_{dt.date.today():%Y%m%d}{suffix}"
            return gr.File(value=str(svc.export_ledger(user, path, query, where or None, full=everything)), visible=True)
        return export

    xlsx_btn.click(make_export(".xlsx"), [named, question, community, full], export_file, api_name="ledger_export_xlsx",
                   concurrency_limit=None)
    docx_btn.click(make_export(".docx"), [named, question, community, full], export_file, api_name="ledger_export_docx",
                   concurrency_limit=None)

    @guarded
    def list_visits(y, where: str, request: gr.Request):
        return visits_frame(svc.visits(current_user(svc, request), where or None, int(y) if y else None))

    visits_btn.click(list_visits, [year, community], visits_df, api_name="ledger_visits", concurrency_limit=None)

    @guarded
    def resolve(vid, y, where: str, request: gr.Request):
        if not vid:
            raise UserError("请先填写走访编号")
        user = current_user(svc, request)
        svc.set_visit_resolved(user, int(vid))
        return f"✓ 走访 {int(vid)} 已标记为风险已处理", list_visits(y, where, request)

    resolved_btn.click(resolve, [visit_id, year, community], [visit_msg, visits_df], api_name="resolve_visit",
                       concurrency_limit=None)

    @guarded
    def import_roster(path: str | None, where: str, request: gr.Request):
        if not path:
            raise UserError("请先选择花名册文件")
        return svc.import_roster(current_user(svc, request), path, where or None).summary()

    roster_btn.click(import_roster, [roster_file, community], roster_msg, api_name="import_roster",
                     concurrency_id="ingest", concurrency_limit=1, show_progress_on=roster_msg)

    @guarded
    def set_community(name: str, where: str, request: gr.Request):
        svc.set_user_community(current_user(svc, request), (name or "").strip(), where)
        return f"✓ 账号「{ui.md(name.strip())}」所属社区：{ui.md(where.strip())}"

    account_btn.click(set_community, [account, account_community], account_msg, api_name="set_community",
                      concurrency_limit=None)
    return LedgerTab(tab=tab, mine=mine, roster=roster, accounts=accounts, community=community)


def community_line(svc: Service, user) -> str:
    own = svc.user_community(user)
    if own:
        return f"本账号的社区：**{ui.md(own)}**（只能查看和填写本社区的台账）"
    if user.role == "管理员":
        return "本账号是管理员，没有固定社区：下面可以填写要查看的社区（留空为全部），保存走访记录时要写明社区。"
    return "本账号还没有设置所属社区，请管理员在「台账」页设置后再使用走访台账。"
