"""派单 tab (社工 and above): route a 12345 ticket to the district's 权责清单, then accept or correct it;
督导 and above also import a list and export the record."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from service import Service
from shegong.errors import UserError
from webapp import render as ui
from webapp.common import current_user, guarded
from webapp.kb_tab import download_dir

NO_MATCH_CHOICE = ("无匹配（不在本清单中）", "无匹配")
EXAMPLE = "楼下烧烤店每天晚上油烟熏得我家开不了窗，找过老板没用"


@dataclass
class DispatchTab:
    tab: gr.Tab
    manage: gr.Accordion  # the 督导 part: shown by role when the page loads


def render_result(data: dict) -> str:
    """The dispatch as HTML: the item(s) with department, duty, basis and reason; runner-ups; next steps."""
    parts = [f'<div class="sg-dispatch"><h4>{ui.esc(data["结论"])}</h4>']
    for m in data["matches"]:
        parts.append(
            '<div class="sg-card">'
            f'<div class="sg-card-head"><b>{ui.esc(m["编号"])} {ui.esc(m["事项"])}</b> '
            f'<span class="sg-badge">社区职责：{ui.esc(m["社区职责"])}</span></div>'
            f'<div>主责部门：{ui.esc(m["主责部门"])}；配合部门：{ui.esc(m["配合部门"] or "无")}</div>'
            f'<div>依据：{ui.esc(m["依据"] or "（清单未写）")}</div>'
            f'<div>理由：{ui.esc(m["理由"])}</div></div>')
    if data["备选"]:
        label = "最接近的事项（都不符合）" if data["无匹配"] else "备选"
        rows = "".join(f"<li>{ui.esc(r['编号'])} {ui.esc(r['事项'])}（{ui.esc(r['社区职责'])}，{r['匹配度']:.2f}）</li>"
                       for r in data["备选"])
        parts.append(f"<div>{label}：<ul>{rows}</ul></div>")
    if data["下一步"]:
        steps = "".join(f"<li><b>{ui.esc(s['出处'])}</b>：{ui.esc(s['摘录'][:200])}</li>" for s in data["下一步"])
        parts.append(f"<div>下一步怎么做（摘自手册和案例）：<ul>{steps}</ul></div>")
    parts += [f'<div class="sg-warn">⚠ {ui.esc(w)}</div>' for w in data["提示"]]
    parts.append(f'<div class="sg-meta">记录号 {data["记录号"]}，清单第 {data["清单版本"]} 版</div></div>')
    return "".join(parts)


def build(svc: Service) -> DispatchTab:
    with gr.Tab("派单", id="dispatch", visible=False) as tab:
        gr.Markdown("把 12345 工单的内容贴进来，按本区权责清单派单。结果不对就纠正，纠正会用于以后相似的工单。",
                    latex_delimiters=[])
        ticket = gr.Textbox(label="工单内容", lines=4, max_length=2000, placeholder=EXAMPLE)
        go = gr.Button("派单", variant="primary")
        result_html = gr.HTML()
        result_json = gr.JSON(visible=False)
        record_id = gr.Number(None, label="记录号", precision=0, interactive=False, visible=False)
        with gr.Row():
            accept = gr.Button("👍 派单正确", size="sm")
            codes = gr.Dropdown([NO_MATCH_CHOICE], value=[], multiselect=True, allow_custom_value=True,
                                label="应派事项（纠正时选择，可多选）", scale=3)
            note = gr.Textbox(label="备注（可选）", scale=2)
            correct = gr.Button("纠正", size="sm")
        review_msg = gr.Markdown(latex_delimiters=[])
        with gr.Accordion("权责清单（督导）", open=False, visible=False) as manage:
            current = gr.Markdown(latex_delimiters=[])
            list_file = gr.File(label="导入本区权责清单（Excel 或 CSV，列：编号,事项,主责部门,配合部门,社区职责,依据,说明）",
                                type="filepath", height=120)
            title = gr.Textbox(label="清单名称（可选，默认用文件名）")
            import_btn = gr.Button("导入清单", variant="primary")
            import_msg = gr.Textbox(label="导入结果", lines=4, interactive=False)
            export_btn = gr.Button("导出派单记录（Excel）", size="sm")
            export_file = gr.File(label="派单记录", visible=False)

    @guarded
    def item_choices(request: gr.Request):
        version, items = svc.dispatch_list(current_user(svc, request))
        return (gr.Dropdown(choices=[NO_MATCH_CHOICE] + [(f"{it.code} {it.matter}", it.code) for it in items]),
                f"正在使用：{ui.md(version.describe())}")

    tab.select(item_choices, None, [codes, current], api_visibility="private", concurrency_limit=None)

    @guarded
    def dispatch(text: str, request: gr.Request):
        result = svc.dispatch_ticket(current_user(svc, request), text or "")
        data = result.to_json()
        return render_result(data), data, result.record_id, gr.Dropdown(value=result.codes), ""

    go.click(dispatch, ticket, [result_html, result_json, record_id, codes, review_msg], api_name="dispatch",
             concurrency_id="llm")

    def pick(rid) -> int:
        if not rid:
            raise UserError("请先派单，再确认或纠正")
        return int(rid)

    @guarded
    def accept_it(rid, request: gr.Request):
        rec = svc.dispatch_review(current_user(svc, request), pick(rid), accepted=True)
        return f"✓ 记录 {rec.id} {rec.status_label}"

    accept.click(accept_it, record_id, review_msg, api_name="dispatch_accept", concurrency_limit=None)

    @guarded
    def correct_it(rid, chosen: list[str] | None, text: str, request: gr.Request):
        chosen = [c for c in (chosen or []) if c]
        if not chosen:
            raise UserError("请先在“应派事项”中选择正确的事项（不在清单中的选“无匹配”）")
        picked = [] if NO_MATCH_CHOICE[1] in chosen else chosen
        rec = svc.dispatch_review(current_user(svc, request), pick(rid), accepted=False, codes=picked, note=text or "")
        return f"✓ 记录 {rec.id} {rec.status_label}：{ui.md('、'.join(rec.final_codes or []) or '无匹配')}"

    correct.click(correct_it, [record_id, codes, note], review_msg, api_name="dispatch_correct",
                  concurrency_limit=None)

    @guarded
    def import_list(path: str | None, name: str, request: gr.Request):
        if not path:
            raise UserError("请先选择清单文件")
        version, parsed, kb = svc.dispatch_import(current_user(svc, request), path, (name or "").strip() or None)
        text = f"已导入第 {version.version} 版「{version.title}」：{parsed.report()}"
        if kb.status == "error":
            text += f"\n⚠ 清单已启用，但未能加入知识库：{kb.error}"
        return text, None

    import_btn.click(import_list, [list_file, title], [import_msg, list_file], api_name="dispatch_import",
                     concurrency_id="ingest", concurrency_limit=1).success(
        item_choices, None, [codes, current], api_visibility="private", concurrency_limit=None)

    @guarded
    def export(request: gr.Request):
        path = svc.dispatch_export(current_user(svc, request), download_dir() / "派单记录.xlsx")
        return gr.File(value=str(path), visible=True)

    export_btn.click(export, None, export_file, api_name="dispatch_export", concurrency_limit=None)
    return DispatchTab(tab=tab, manage=manage)
