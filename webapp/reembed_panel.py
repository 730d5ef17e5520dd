"""The 向量模型 panel of the 知识库 tab (督导, 管理员): KBs built with another embedder, and re-embedding them.

Such a KB is left out of searches (its vectors cannot be mixed with the current model's); the panel says
which ones, what re-embedding costs, and runs it with progress. Everyone else sees the same notice in the
status line (``Service.reembed_notice``).
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from service import Service
from webapp import render as ui
from webapp.common import current_user, guarded


@dataclass
class ReembedPanel:
    done: object  # the button's event: the page refreshes what depends on the KBs after it


def describe(svc: Service, stale) -> str:
    model = ui.md(svc.embedder_name())
    if not stale:
        return f"所有知识库都使用当前向量模型 {model}。"
    lines = [f"以下知识库是用其他向量模型建立的，它们的向量不能和当前模型 {model} 的混用，**现在不参与检索**："]
    for k in stale:
        cost = f"需要计算 {k.to_compute} 段" if k.to_compute else "向量随程序提供，几十秒即可完成"
        lines.append(f"- 「{ui.md(k.name)}」：{k.chunks} 段，由 {ui.md(k.embedder)} 建立；{cost}")
    lines.append("点“重新向量化”换成当前模型：文档和段落都不变，只重新计算向量；中途关掉页面或程序也不要紧，"
                 "再点一次会接着做。完成之前这些知识库仍不参与检索。")
    return "\n".join(lines)


def build(svc: Service, tab: gr.Tab) -> ReembedPanel:
    """Inside the 知识库 tab: filled in when the tab is opened."""
    with gr.Accordion("向量模型", open=True):
        notice = gr.Markdown(latex_delimiters=[])
        button = gr.Button("重新向量化", variant="primary", visible=False)
        result = gr.Textbox(label="重新向量化结果", lines=3, interactive=False, visible=False)

    @guarded
    def show(request: gr.Request):
        stale = svc.stale_kbs(current_user(svc, request))
        return describe(svc, stale), gr.Button(visible=bool(stale))

    tab.select(show, None, [notice, button], api_name="stale_kbs", concurrency_limit=None)

    @guarded
    def reembed(request: gr.Request, progress=gr.Progress()):
        user = current_user(svc, request)
        results = svc.reembed_kbs(user, progress=lambda frac, msg: progress(frac, desc=msg))
        lines = [f"✓ 「{r.name}」已换成当前模型：{r.chunks} 段，本次计算 {r.embedded} 段" for r in results if r.moved]
        stale = svc.stale_kbs(user)
        return (gr.Textbox(value="\n".join(lines) or "没有需要重新向量化的知识库", visible=True),
                describe(svc, stale), gr.Button(visible=bool(stale)))

    done = button.click(reembed, None, [result, notice, button], api_name="reembed", concurrency_id="ingest",
                        concurrency_limit=1, show_progress_on=notice)
    return ReembedPanel(done=done)
