"""HTML for the web app: answers with source cards, ingest results, document lists.

Kept apart from the tab modules so they stay layout and wiring, and so these can be tested
without a browser. Everything that comes from documents or users is escaped.
"""

from __future__ import annotations

import html
import re

from assistant.context import query_terms
from ingest.types import DOC_TYPE_LABELS

EXCERPT_CHARS = 260


def esc(text: str) -> str:
    return html.escape(text or "", quote=True)


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:])")


def md(text: str) -> str:
    """Text from users or documents inside a gr.Markdown message: HTML and Markdown both escaped, so a title
    such as "![p](http://…)" is shown as written, never fetched as an image or made a link."""
    return _MARKDOWN.sub(r"\\\1", esc(text))


def highlight(text: str, terms: set[str] | list[str]) -> str:
    """Escape ``text`` and wrap each occurrence of a term in <mark>."""
    terms = sorted({t for t in terms if t and t.strip()}, key=len, reverse=True)
    if not terms:
        return esc(text)
    pattern = re.compile("|".join(re.escape(t) for t in terms))
    out, last = [], 0
    for m in pattern.finditer(text):
        out.append(esc(text[last:m.start()]))
        out.append(f"<mark>{esc(m.group(0))}</mark>")
        last = m.end()
    out.append(esc(text[last:]))
    return "".join(out)


def _lines(fragment: str) -> str:
    return fragment.replace("\n", "<br>")


def source_card(citation: dict, terms: set[str]) -> str:
    """One source: title, type, location, highlighted excerpt, and the whole passage folded away."""
    label = DOC_TYPE_LABELS.get(citation.get("doc_type", ""), "资料")
    excerpt = citation.get("excerpt") or citation.get("text", "")[:EXCERPT_CHARS]
    full = citation.get("text", "")
    location = citation.get("location") or ""
    return (
        f'<div class="sg-card sg-type-{esc(citation.get("doc_type", ""))}">'
        f'<div class="sg-card-head"><span class="sg-n">[{citation.get("n", "")}]</span> '
        f'<span class="sg-title">《{esc(citation.get("title", ""))}》</span> '
        f'<span class="sg-badge">{esc(label)}</span></div>'
        + (f'<div class="sg-loc">{esc(location)}</div>' if location else "")
        + f'<div class="sg-excerpt">{_lines(highlight(excerpt, terms))}</div>'
        f'<details class="sg-full"><summary>查看原文</summary>'
        f'<div class="sg-fulltext">{_lines(highlight(full, terms))}</div>'
        f'<div class="sg-meta">知识库：{esc(citation.get("kb", ""))}</div></details>'
        "</div>"
    )


def source_cards(citations: list[dict], question: str, heading: str = "参考来源") -> str:
    if not citations:
        return ""
    terms = query_terms(question)
    cards = "".join(source_card(c, terms) for c in citations)
    return f'<div class="sg-sources"><div class="sg-sources-head">{esc(heading)}</div>{cards}</div>'


QUOTES_HEADING = "\n\n依据原文：\n"


def answer_body(text: str) -> str:
    """The generated answer without its trailing 依据原文 quotes: the source cards show those."""
    return text.split(QUOTES_HEADING, 1)[0]


def render_answer(answer: dict) -> str:
    """The assistant message for a finished ``Answer.to_json()``."""
    question = answer.get("retrieval_query") or answer.get("question", "")
    parts = []
    if answer.get("refused"):
        parts.append('<div class="sg-tag sg-refused">未找到可靠依据</div>')
    elif answer.get("extractive"):
        parts.append('<div class="sg-tag sg-extractive">摘录模式：以下为知识库原文，未经大模型归纳</div>')
    # An extractive answer is the top excerpts again: the tag says so and the cards below show them once.
    if not (answer.get("extractive") and not answer.get("refused")):
        parts.append(f'<div class="sg-answer">{_lines(esc(answer_body(answer.get("answer", ""))))}</div>')
    warnings = answer.get("warnings") or []
    if warnings:
        items = "".join(f"<li>⚠ {esc(w)}</li>" for w in warnings)
        parts.append(f'<ul class="sg-warnings">{items}</ul>')
    heading = "最接近的资料（可能不相关）" if answer.get("refused") else "参考来源"
    parts.append(source_cards(answer.get("citations") or [], question, heading))
    return "".join(parts)


def source_titles(citations: list[dict]) -> str:
    """A one-line-per-source list, shown while the answer streams (full cards come with the final answer)."""
    if not citations:
        return ""
    items = "".join(f"<li>[{c.get('n', '')}] 《{esc(c.get('title', ''))}》{esc(c.get('location') or '')}</li>"
                    for c in citations)
    return f'<div class="sg-sources-head">参考来源</div><ul class="sg-source-list">{items}</ul>'


def render_pending(status: str, text: str = "", citations: list[dict] | None = None) -> str:
    """The assistant message while an answer is still streaming: text so far, status, source titles."""
    body = f'<div class="sg-answer">{_lines(esc(text))}</div>' if text else ""
    state = f'<div class="sg-status">⏳ {esc(status)}</div>' if status else ""
    return body + state + source_titles(citations or [])


def _scroll_js(wait_for_pending: bool, target: str) -> str:
    """Browser code that waits until the newest answer is pending (or finished), then scrolls the
    chat so that ``target`` (the last question or the last answer) is at the top of the view."""
    test = "!!" if wait_for_pending else "!"
    return f"""() => {{
  let tries = 0;
  const step = () => {{
    const box = document.querySelector('#sg-chat .bubble-wrap');
    const bots = box ? box.querySelectorAll('.message-row.bot-row') : [];
    const last = bots.length ? bots[bots.length - 1] : null;
    if (!last || !({test}last.querySelector('.sg-status'))) {{ if (++tries < 100) setTimeout(step, 100); return; }}
    const rows = box.querySelectorAll('{target}');
    const row = rows[rows.length - 1];
    box.scrollTop += row.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
  }};
  step();
}}"""


# The chat does not autoscroll: it shows the new question when asked, and the start of the answer when done.
SCROLL_TO_QUESTION_JS = _scroll_js(True, ".message-row.user-row")
SCROLL_TO_ANSWER_JS = _scroll_js(False, ".message-row.bot-row")


def chat_messages(messages: list[dict]) -> list[dict]:
    """Stored conversation messages -> gr.Chatbot messages."""
    out = []
    for m in messages:
        if m.get("role") == "assistant" and m.get("answer"):
            out.append({"role": "assistant", "content": render_answer(m["answer"])})
        else:
            out.append({"role": m.get("role", "user"), "content": esc(m.get("content", ""))})
    return out


def ingest_summary(results) -> str:
    """Per-file results (IngestResult.summary()) as plain text for a textbox."""
    if not results:
        return "没有导入任何文件"
    ok = sum(r.status in ("added", "replaced") for r in results)
    same = sum(r.status == "unchanged" for r in results)
    dup = sum(r.status == "duplicate" for r in results)
    bad = sum(r.status == "error" for r in results)
    head = f"共 {len(results)} 个：成功 {ok} 个"
    head += (f"，未变 {same} 个" if same else "") + (f"，重复 {dup} 个" if dup else "") + (f"，失败 {bad} 个" if bad else "")
    return head + "\n" + "\n".join(r.summary() for r in results)


def chunks_html(title: str, hits) -> str:
    if not hits:
        return "<p>这个文档没有段落。</p>"
    rows = "".join(
        f'<div class="sg-chunk"><div class="sg-loc">第 {i} 段 · {esc(h.location)}</div>'
        + (f'<div class="sg-flagged">⚠ 待督导核查：这一段有像是对 AI 下指令的句子（“{esc(h.meta["flagged"])}”），'
           "回答时会略去。请核对原文件的来源和内容。</div>" if h.meta.get("flagged") else "")
        + f'<div>{_lines(esc(h.text))}</div></div>'
        for i, h in enumerate(hits, 1))
    return f'<div class="sg-chunks"><h4>《{esc(title)}》共 {len(hits)} 段</h4>{rows}</div>'


# Gradio 6 titles its toasts with the event type in English ("Error", "Info") whatever gr.Error(title=)
# says; this renames them as they appear.
TOAST_HEAD = """<script>
(() => {
  const names = {Error: "出错了", Info: "提示", Warning: "注意", Success: "完成"};
  const rename = () => document.querySelectorAll(".toast-title").forEach((el) => {
    const text = el.firstChild;
    const key = text && text.nodeType === 3 ? text.textContent.trim() : "";
    if (names[key]) text.textContent = names[key] + " ";
  });
  new MutationObserver(rename).observe(document.documentElement, {childList: true, subtree: true});
})();
</script>"""


CSS = """
.sg-card{border:1px solid var(--border-color-primary);border-left:4px solid #3b82f6;border-radius:8px;
  padding:8px 10px;margin:8px 0;background:var(--background-fill-secondary);font-size:0.95em}
.sg-type-law .sg-badge,.sg-type-policy .sg-badge{background:#fde68a;color:#713f12}
.sg-type-law,.sg-type-policy{border-left-color:#d97706}
.sg-type-case{border-left-color:#16a34a}
.sg-type-case .sg-badge{background:#bbf7d0;color:#14532d}
.sg-badge{display:inline-block;font-size:0.8em;padding:0 6px;border-radius:4px;background:#dbeafe;color:#1e3a8a;
  white-space:nowrap}
.sg-title{font-weight:600}
.sg-loc{color:var(--body-text-color-subdued);font-size:0.85em;margin:2px 0}
.sg-excerpt{margin-top:4px;line-height:1.6}
.sg-card mark,.sg-fulltext mark{background:#fef08a;color:inherit;padding:0 1px;border-radius:2px}
.sg-full summary{cursor:pointer;color:#2563eb;margin-top:4px}
.sg-fulltext{white-space:normal;line-height:1.6;margin-top:4px;max-height:320px;overflow:auto}
.sg-meta{color:var(--body-text-color-subdued);font-size:0.8em;margin-top:4px}
.sg-sources-head{font-weight:600;margin-top:10px}
.sg-tag{display:inline-block;font-size:0.85em;padding:2px 8px;border-radius:4px;margin-bottom:6px}
.sg-extractive{background:#e0e7ff;color:#3730a3}
.sg-refused{background:#fee2e2;color:#991b1b}
.sg-warnings{list-style:none;padding:6px 10px;margin:8px 0;background:#fff7ed;color:#9a3412;border-radius:6px}
.sg-status{color:var(--body-text-color-subdued)}
.sg-source-list{margin:4px 0;padding-left:1.2em;color:var(--body-text-color-subdued);font-size:0.9em}
.sg-chunk{border-bottom:1px dashed var(--border-color-primary);padding:6px 0}
.sg-flagged{background:#fff7ed;color:#9a3412;border-radius:4px;padding:2px 6px;margin:2px 0}
#sg-status-line{font-size:0.85em;color:var(--body-text-color-subdued)}
#sg-status-line p{margin:0}
#sg-who{text-align:right}
#sg-header h3{margin:0}
@media (max-width: 640px){.sg-card{font-size:0.9em;padding:6px}}
"""
