"""The model's judgement of the retrieved candidates: does this ticket belong to this item?

Each candidate is judged on its own, "是" or "否", with the item's scope and its boundaries
("不属于本项：工厂、汽修喷漆等生产废气") in front of the model. With llama.cpp in process the answer
is read as P(是) / (P(是) + P(否)) of the first reply token (one prompt pass, no sampling); a
backend without log-probabilities says the word and gets 1.0 or 0.0.

``choose``: one multiple-choice question over the candidates instead. Asked once, the bundled 1.5B
model answered by position alone (B 0.41, A 0.27-0.32, C 0.13 whatever the ticket said), so the
question is asked in every cyclic order of the candidates: each candidate stands once at each letter,
and the mean of its letter's log-probability over the orders cancels the preference for a letter.
The yes/no question, on the other hand, is answered 是 for nearly everything (eval/README.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from assistant.dispatch.listfile import CROSS_REF, Item
from assistant.dispatch.ranking import ItemText
from assistant.llm.base import LLM, ChoiceScorer, Message, complete

LETTERS = "ABCDEF"

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


def choice_messages(ticket: str, order: list[Item], texts: dict[str, ItemText], examples: str = "") -> list[Message]:
    body = "\n".join(f"{LETTERS[i]}. {describe(it, texts)}" for i, it in enumerate(order))
    user = prompt("choose.txt").format(ticket=ticket, items=body, examples=examples).lstrip("\n")
    return [{"role": "system", "content": prompt("system.txt")}, {"role": "user", "content": user}]


def choose(llm: LLM, ticket: str, candidates: list[Item], texts: dict[str, ItemText],
           examples: list[Example] | None = None, by_code: dict[str, Item] | None = None) -> dict[str, float]:
    """The model's choice among the candidates, as a distribution over them, with its letter bias removed:
    asked in every cyclic order, each candidate scored by the mean log-probability of its letter.
    A backend without log-probabilities says a letter per order; the shares of its votes are used.

    Raises ModelUnavailable (the matcher then decides by retrieval alone and says so).
    """
    n = len(candidates)
    if n < 2:
        return {it.code: 1.0 for it in candidates}
    ex = examples_text(examples or [], by_code or {})
    letters = list(LETTERS[:n])
    total = {it.code: 0.0 for it in candidates}
    for shift in range(n):
        order = candidates[shift:] + candidates[:shift]
        messages = choice_messages(ticket, order, texts, ex)
        if isinstance(llm, ChoiceScorer):
            lp = llm.choice_logprobs(messages, letters)
            for letter, it in zip(letters, order):
                total[it.code] += lp[letter] / n
        else:
            said = complete(llm, messages, max_tokens=2, temperature=0.0).strip()[:1].upper()
            for letter, it in zip(letters, order):
                total[it.code] += (0.0 if said == letter else -10.0) / n
    top = max(total.values())
    weights = {c: math.exp(v - top) for c, v in total.items()}
    norm = sum(weights.values())
    return {c: w / norm for c, w in weights.items()}
