"""总结 tab (社工, 督导, 管理员): a year's statistics from the ledger of the account's community, plotly charts,
the 年度工作总结 (every number checked against the statistics) and the Word file with its chart."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import gradio as gr
import pandas as pd

from service import Service
from webapp import render as ui
from webapp.common import current_user, guarded
from webapp.kb_tab import download_dir

N_PLOTS = 4


@dataclass
class SummaryTab:
    tab: gr.Tab
    community: gr.Textbox  # 管理员: which community (empty: all)


def stats_frame(stats) -> pd.DataFrame:
    rows = [["走访总次数", stats.visits], ["走访人数", stats.people], ["发现高风险（次）", stats.high_found],
            ["其中已处理（次）", stats.high_resolved]]
    rows += [[f"{k}风险（次）", v] for k, v in stats.by_risk.items()]
    rows += [[f"走访{k}（次）", v] for k, v in stats.by_category.items()]
    rows += [[f"转介：{k}（次）", v] for k, v in stats.referrals.items()]
    rows += [[f"{g}覆盖（已走访/名册）", f"{v}/{t}"] for g, (v, t) in stats.coverage.items()]
    return pd.DataFrame(rows, columns=["项目", "数值"])


def build(svc: Service) -> SummaryTab:
    with gr.Tab("总结", id="summary", visible=False) as tab:
        gr.Markdown("从走访台账统计全年的走访数据，生成年度工作总结。总结里的每个数字都与统计结果核对过，"
                    "对不上的句子会被删除并列出。", latex_delimiters=[])
        with gr.Row():
            year = gr.Number(dt.date.today().year, label="年份", precision=0, scale=1)
            community = gr.Textbox(label="社区（管理员填写，留空为全部）", visible=False, scale=2)
            make_btn = gr.Button("生成年度总结", variant="primary", scale=1)
        narrative = gr.Markdown(elem_id="sg-summary-text", latex_delimiters=[])
        removed = gr.Markdown(latex_delimiters=[])
        table = gr.Dataframe(headers=["项目", "数值"], interactive=False, wrap=True)
        with gr.Row():
            plots = [gr.Plot(show_label=False) for _ in range(N_PLOTS)]
        docx_file = gr.File(label="年度总结 Word 文件（含统计表和图表）")

    @guarded
    def make(y, where: str, request: gr.Request):
        user = current_user(svc, request)
        y = int(y or dt.date.today().year)
        stats, text, cut = svc.year_summary(user, y, where or None)
        path = svc.summary_docx(user, y, download_dir() / f"{y}年度走访工作总结.docx", where or None, text=text)
        figures = svc.summary_figures(stats)
        figures += [None] * (N_PLOTS - len(figures))
        note = ("**已删除的无依据内容**：" + ui.md("；".join(cut))) if cut else ""
        return (ui.md(text).replace("\n", "\n\n"), note, stats_frame(stats), *figures[:N_PLOTS], str(path))

    make_btn.click(make, [year, community], [narrative, removed, table, *plots, docx_file], api_name="year_summary",
                   concurrency_id="llm")
    return SummaryTab(tab=tab, community=community)
