"""走访 tab (社工, 督导, 管理员): a jotting becomes a visit record; each field shows the words it came from, the
record can be corrected before it is saved to the ledger, and the knowledge bases suggest policies and a
similar case for what the visit found."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from service import Service
from shegong.errors import UserError
from webapp import visits_view as view
from webapp.common import current_user, guarded

EXAMPLE = "上周三下午去的 补记 刘德顺 七十九岁 老伴去年走了 现在一个人 说晚上睡不着 不想吃饭 儿子在深圳 电话139 0000 4521"


@dataclass
class VisitsTab:
    tab: gr.Tab
    community: gr.Textbox  # shown to a 管理员, who has no fixed community
    visit_date: gr.Textbox  # today's date, set when the page loads


def build(svc: Service) -> VisitsTab:
    with gr.Tab("走访", id="visits", visible=False) as tab:
        gr.Markdown("把走访时随手记下的内容贴进来，整理成规范的走访记录。日期、年龄、姓名等都从原文中摘出，"
                    "原文没写的栏目留空并列入“待补充”，不会替您编。", latex_delimiters=[])
        with gr.Row():
            jotting = gr.Textbox(label="走访随手记", lines=4, max_length=2000, placeholder=EXAMPLE, scale=4,
                                 elem_id="sg-visit-jotting")
            with gr.Column(scale=1, min_width=180):
                visit_date = gr.Textbox(label="走访日期（“昨天”“上周三”据此推算）")
                make_btn = gr.Button("整理成走访记录", variant="primary")
        source_view = gr.HTML(elem_id="sg-visit-source")
        record_view = gr.HTML(elem_id="sg-visit-record")
        suggest_view = gr.HTML(elem_id="sg-visit-suggest")
        with gr.Accordion("修改后保存到台账", open=True):
            gr.Markdown(view.FORM_HINT, latex_delimiters=[])
            form = gr.Dataframe(headers=view.FORM_HEADERS, column_count=(2, "fixed"), interactive=True, wrap=True,
                                elem_id="sg-visit-form")
            with gr.Row():
                community = gr.Textbox(label="社区（管理员账号填写）", visible=False, scale=2)
                save_btn = gr.Button("保存到台账", variant="primary", scale=1)
            save_msg = gr.Markdown(latex_delimiters=[])
        record_json = gr.JSON(visible=False, label="走访记录（JSON）")

    @guarded
    def make_record(text: str, day: str, request: gr.Request):
        user = current_user(svc, request)
        if not (text or "").strip():
            raise UserError("请先输入走访时记下的内容")
        record = svc.visit_note(user, text, day or None)
        data = record.to_json()
        data["_出处"] = {field: [record.jotting[s:e] for s, e in spans] for field, spans in record.spans.items()}
        data["_走访日期"] = record.visit_date.isoformat()
        return (view.jotting_html(record), view.record_html(record, data), view.form_rows(data), data, "",
                '<div class="sg-suggest">正在从知识库查找相关政策和案例……</div>')

    made = make_btn.click(make_record, [jotting, visit_date],
                          [source_view, record_view, form, record_json, save_msg, suggest_view],
                          api_name="visit_note", concurrency_id="llm")

    @guarded
    def suggestions(text: str, day: str, data: dict | None, request: gr.Request):
        if not data:
            return ""
        user = current_user(svc, request)
        record = svc.visit_note(user, text, data.get("_走访日期") or day or None, use_llm=False)
        return view.suggestions_html(svc.visit_suggestions(user, record))

    made.success(suggestions, [jotting, visit_date, record_json], suggest_view, api_name="visit_suggestions",
                 concurrency_limit=None)

    @guarded
    def save(text: str, day: str, rows, data: dict | None, where: str, request: gr.Request):
        user = current_user(svc, request)
        if not data:
            raise UserError("请先点“整理成走访记录”，核对后再保存")
        base = {k: v for k, v in data.items() if not k.startswith("_")}
        edited = view.form_to_json(rows, base)
        visit_id = svc.save_visit(user, text, data.get("_走访日期") or day or None, edited, where or None)
        return f"✓ 已保存到台账，走访编号 {visit_id}"

    save_btn.click(save, [jotting, visit_date, form, record_json, community], save_msg, api_name="save_visit",
                   concurrency_limit=None, show_progress_on=save_msg)
    return VisitsTab(tab=tab, community=community, visit_date=visit_date)
