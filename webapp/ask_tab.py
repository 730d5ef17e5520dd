"""问答 tab: ask, see the answer stream in with its sources, reopen conversations, rate answers."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from service import Service, User
from shegong.errors import UserError
from webapp import render as ui
from webapp.common import current_user, guarded

MODES = [("找政策", "policy"), ("搜方案", "solution")]
EXAMPLES = [
    "独居老人好几天没出门，社区应该怎么做？",
    "居民身份证丢了，去哪里补办？",
    "子女不赡养老人，法律上有什么规定？",
    "楼上楼下噪音纠纷怎么调解？",
]
HISTORY_HINT = ("历史对话（点此选择）", "")


@dataclass
class AskTab:
    conversations: gr.Dropdown  # filled in when the page loads


def conversation_choices(svc: Service, user: User) -> list[tuple[str, str]]:
    return [HISTORY_HINT] + [(f"{c.title}（{c.updated_at[5:16]}）", c.id) for c in svc.conversations(user)]


def build(svc: Service) -> AskTab:
    with gr.Tab("问答", id="ask"):
        conv_id = gr.State(None)
        turn = gr.State(None)  # which question of the conversation the answer on screen is (for 👍/👎)
        with gr.Row(equal_height=True, elem_id="sg-ask-bar"):
            mode = gr.Radio(MODES, value="policy", show_label=False, container=False, scale=0, min_width=190)
            conv_dd = gr.Dropdown([HISTORY_HINT], label="历史对话", show_label=False, value="", container=False,
                                  scale=3, min_width=180, allow_custom_value=True)
            new_chat = gr.Button("新对话", size="sm", scale=0, min_width=80)
        chatbot = gr.Chatbot(
            label="对话", show_label=False, height="58vh", min_height=300, feedback_options=None, autoscroll=False,
            placeholder="请输入社区工作中遇到的问题，例如居民求助、政策依据、处理办法。回答会列出依据的原文出处。",
            examples=[{"text": q} for q in EXAMPLES], buttons=["copy"], elem_id="sg-chat",
            latex_delimiters=[])  # sources are shown verbatim: "$$…$$" in a document is text, not a formula
        with gr.Row(equal_height=True):
            question = gr.Textbox(label="问题", placeholder="在这里输入问题，按回车发送", show_label=False, container=False,
                                  scale=5, min_width=200, max_length=500, elem_id="sg-question")
            send = gr.Button("提问", variant="primary", scale=1, min_width=80)
        with gr.Row(equal_height=True):
            good = gr.Button("👍 有用", size="sm", scale=0, min_width=80)
            bad = gr.Button("👎 没用", size="sm", scale=0, min_width=80)
            comment = gr.Textbox(label="意见", placeholder="对最近一条回答的意见（可选），填好后点 👍 或 👎 提交",
                                 show_label=False, container=False, scale=4, min_width=200)
        answer_json = gr.JSON(visible=False)
        # The API endpoint "ask" is the plain streaming handler; the UI chains around it.
        api_ask = gr.Button(visible=False)
        # The API's mode is a free value checked by the service (in Chinese); a Radio would answer in English.
        api_mode = gr.Dropdown(MODES, value="policy", visible=False, allow_custom_value=True, label="提问方式")

    def chat_with_pending(user: User, cid: str | None, q: str) -> list[dict]:
        conv = svc.conversation(user, cid, missing_ok=True) if cid else None
        return ui.chat_messages(conv.messages if conv else []) + [
            {"role": "user", "content": ui.esc(q)},
            {"role": "assistant", "content": ui.render_pending("正在检索知识库……")}]

    @guarded
    def show_question(q: str, cid: str | None, request: gr.Request):
        """Put the question on screen at once; ``ask`` then streams the answer."""
        if not (q or "").strip():
            return gr.update()
        return chat_with_pending(current_user(svc, request), cid, q.strip())

    @guarded
    def ask(q: str, mode_value: str, cid: str | None, request: gr.Request):
        user = current_user(svc, request)
        q = (q or "").strip()
        if not q:
            raise UserError("请先输入问题")
        cid = cid or svc.new_conversation_id()
        chat = chat_with_pending(user, cid, q)
        yield chat, "", cid, None, gr.update(), None
        text, status, citations = "", "正在检索知识库……", []
        for ev in svc.ask_stream(user, q, mode_value or "policy", conversation_id=cid):
            if ev.kind == "status":
                status = ev.text
            elif ev.kind == "sources":
                citations = ev.answer.citations
                status = "正在生成回答……" if svc.llm_ready else "正在整理原文……"
            elif ev.kind == "token":
                text += ev.text
            elif ev.kind == "final":
                data = ev.answer.to_json()
                chat[-1] = {"role": "assistant", "content": ui.render_answer(data)}
                yield (chat, "", cid, data, gr.Dropdown(choices=conversation_choices(svc, user), value=cid),
                       last_turn(user, cid))
                return
            chat[-1] = {"role": "assistant", "content": ui.render_pending(status, text, citations)}
            yield chat, "", cid, None, gr.update(), None

    def last_turn(user: User, cid: str | None) -> int | None:
        conv = svc.conversation(user, cid, missing_ok=True) if cid else None
        return len(conv.messages) // 2 - 1 if conv and conv.messages else None

    ask_inputs, ask_outputs = [question, mode, conv_id], [chatbot, question, conv_id, answer_json, conv_dd, turn]
    private = dict(api_visibility="private")
    to_question = dict(fn=None, js=ui.SCROLL_TO_QUESTION_JS, queue=False, **private)
    to_answer = dict(fn=None, js=ui.SCROLL_TO_ANSWER_JS, queue=False, **private)
    api_ask.click(ask, [question, api_mode, conv_id], ask_outputs, api_name="ask", concurrency_id="llm")
    # Progress (and a refusal's error mark) on the chat only, not on the question box the user types in.
    answer_event = dict(fn=ask, inputs=ask_inputs, outputs=ask_outputs, concurrency_id="llm",
                        show_progress_on=chatbot, **private)
    for trigger in (send.click, question.submit):
        trigger(show_question, [question, conv_id], chatbot, queue=False, **private).then(**to_question).then(
            **answer_event).then(**to_answer)

    def pick_example(evt: gr.SelectData):
        return (evt.value or {}).get("text", "")

    chatbot.example_select(pick_example, None, question, queue=False, **private).then(
        show_question, [question, conv_id], chatbot, queue=False, **private).then(**to_question).then(
        **answer_event).then(**to_answer)

    @guarded
    def open_conversation(cid: str | None, request: gr.Request):
        user = current_user(svc, request)
        if not cid:
            return gr.update(), gr.update(), gr.update(), gr.update(), gr.update()
        conv = svc.conversation(user, cid)
        last = next((m["answer"] for m in reversed(conv.messages) if m.get("answer")), None)
        return ui.chat_messages(conv.messages), cid, conv.mode, last, last_turn(user, cid)

    conv_dd.input(open_conversation, conv_dd, [chatbot, conv_id, mode, answer_json, turn],
                  api_name="open_conversation", concurrency_limit=None)
    new_chat.click(lambda: ([], None, None, gr.Dropdown(value=""), None), None,
                   [chatbot, conv_id, answer_json, conv_dd, turn], api_visibility="private", concurrency_limit=None)

    def make_feedback(rating: int):
        @guarded
        def rate(note: str, cid: str | None, at: int | None, request: gr.Request):
            """About the answer on screen, as the server stored it: the browser only says which one."""
            user = current_user(svc, request)
            if not cid or at is None:
                raise UserError("还没有可以评价的回答")
            svc.feedback(user, cid, at, rating, note)
            gr.Info("已记录，谢谢反馈！", title="反馈")
            return ""
        return rate

    good.click(make_feedback(1), [comment, conv_id, turn], comment, api_name="feedback_good",
               concurrency_limit=None, show_progress="hidden")
    bad.click(make_feedback(-1), [comment, conv_id, turn], comment, api_name="feedback_bad",
              concurrency_limit=None, show_progress="hidden")
    return AskTab(conversations=conv_dd)
