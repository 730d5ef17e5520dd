"""The model's judgement of the retrieved candidates: does this ticket belong to this item?

Each candidate is judged on its own, "是" or "否", with the item's scope and its boundaries
("不属于本项：工厂、汽修喷漆等生产废气") in front of the model. With llama.cpp in process the answer
is read as P(是) / (P(是) + P(否)) of the first reply token (one prompt pass, no sampling); a
backend without log-probabilities says the word and gets 1.0 or 0.0.

Why not one multiple-choice question over all candidates: the bundled 1.5B model answered it by
position alone (B 0.41, A 0.27-0.32, C 0.13 whatever the ticket said, measured 12-02), while a
yes/no question about one item is the kind it handles (assistant/answer.py's relevance judge
found the same).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from assistant.dispatch.listfile import CROSS_REF, Item
from assistant.dispatch.ranking import ItemText
from assistant.llm.base import LLM, ChoiceScorer, Message, complete

PROMPTS = Path(__file__).parent / "prompts"
MAX_SCOPE_CHARS = 80  # the scope's first clauses carry the matter; the boundaries follow in full
MAX_EXAMPLE_CHARS = 160


@lru_cache(maxsize=None)
def prompt(name: str) -> str:
    return (PROMPTS / name).read_text(encoding="utf-8").strip("\n")


@dataclass
class Example:
    """A past ticket whose dispatch a user corrected: how this district reads its own list."""

    ticket: str
    codes: list[str]   # the corrected items; [] = no item fits
    similarity: float = 0.0


def describe(item: Item, texts: dict[str, ItemText]) -> str:
    """An item as the model reads it: matter, lead department, scope, and what belongs elsewhere."""
    t = texts[item.code]
    scope = t.own.split("。", 1)[1] if "。" in t.own else ""
    if len(scope) > MAX_SCOPE_CHARS:
        scope = scope[:MAX_SCOPE_CHARS] + "…"
    line = f"{item.matter}（主责：{item.lead}）"
    if scope:
        line += f"\n范围：{scope}"
    outside = [w for w in (CROSS_REF.sub("", c).strip(" ，,：:") for c in t.boundaries) if w]
    if outside:
        line += "\n不属于本项：" + "；".join(outside)
    return line


def examples_text(examples: list[Example], by_code: dict[str, Item]) -> str:
    if not examples:
        return ""
    rows = []
    for e in examples:
        target = "、".join(by_code[c].matter for c in e.codes if c in by_code) or "清单中没有对应事项"
        rows.append(f"- 工单：{e.ticket[:MAX_EXAMPLE_CHARS]}\n  应派：{target}")
    return prompt("examples.txt").format(examples="\n".join(rows)) + "\n"


def messages_for(ticket: str, item: Item, texts: dict[str, ItemText], examples: str = "") -> list[Message]:
    # The item comes last: the system prompt, instructions, examples and ticket are the same for every
    # candidate of a ticket, so llama.cpp evaluates them once and only the item after them.
    body = prompt("fits.txt").format(ticket=ticket, item=describe(item, texts), examples=examples)
    return [{"role": "system", "content": prompt("system.txt")}, {"role": "user", "content": body}]


def fits(llm: LLM, ticket: str, candidates: list[Item], texts: dict[str, ItemText],
         examples: list[Example] | None = None, by_code: dict[str, Item] | None = None) -> dict[str, float]:
    """P(the ticket belongs to each candidate). They need not sum to one: two may fit, or none.

    Raises ModelUnavailable (the matcher then decides by retrieval alone and says so).
    """
    ex = examples_text(examples or [], by_code or {})
    out: dict[str, float] = {}
    for it in candidates:
        messages = messages_for(ticket, it, texts, ex)
        if isinstance(llm, ChoiceScorer):
            lp = llm.choice_logprobs(messages, ["是", "否"])
            top = max(lp.values())
            yes, no = math.exp(lp["是"] - top), math.exp(lp["否"] - top)
            out[it.code] = yes / (yes + no)
        else:
            said = complete(llm, messages, max_tokens=3, temperature=0.0).strip()
            out[it.code] = 1.0 if said.startswith("是") else 0.0
    return out
