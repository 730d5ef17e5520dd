"""The model's judgement among the retrieved candidates.

The model sees the ticket and the candidates, each with its scope and its boundaries
("不属于本项：工厂废气 → C"), and answers one letter. With llama.cpp in process the answer is
read as log-probabilities of every letter in one prompt pass (no sampling), so the matcher can
weigh the model's confidence against retrieval; a backend without log-probabilities (an
OpenAI-compatible server) says one letter and that letter gets all the weight.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from assistant.dispatch.listfile import CROSS_REF, Item, cross_refs
from assistant.dispatch.ranking import ItemText
from assistant.llm.base import LLM, ChoiceScorer, Message, complete
from shegong.errors import ModelUnavailable

log = logging.getLogger(__name__)

PROMPTS = Path(__file__).parent / "prompts"
LETTERS = "ABCDEFGHJK"  # no I: it reads like 1 or l; N (none fits) is never a candidate's letter
NONE = "N"
MAX_SCOPE_CHARS = 160   # per candidate: keeps eight candidates within ~1,500 prompt tokens


@lru_cache(maxsize=None)
def prompt(name: str) -> str:
    return (PROMPTS / name).read_text(encoding="utf-8").strip("\n")


@dataclass
class Example:
    """A past ticket whose dispatch a user corrected: shown to the model as how this district decides."""

    ticket: str
    codes: list[str]   # the corrected items; [] = no item fits
    similarity: float = 0.0


def describe(item: Item, texts: dict[str, ItemText], letter: dict[str, str] | None = None,
             max_scope: int = MAX_SCOPE_CHARS) -> str:
    """An item as the model reads it: matter, lead department, scope, and what belongs elsewhere."""
    t = texts[item.code]
    scope = t.own.split("。", 1)[1] if "。" in t.own else ""
    if len(scope) > max_scope:
        scope = scope[:max_scope] + "…"
    line = f"{item.matter}（主责：{item.lead}）"
    if scope:
        line += f"\n范围：{scope}"
    outs = []
    for clause in t.boundaries:
        words = CROSS_REF.sub("", clause).strip(" ，,：:")
        if not words:
            continue
        if letter is None:
            outs.append(words)
        else:
            refs = cross_refs(clause)
            where = "、".join(f"{letter[r]}项" for r in refs if r in letter) or "其他事项"
            outs.append(f"{words}（属于{where}）")
    if outs:
        line += "\n不属于本项：" + "；".join(outs)
    return line


def option_lines(candidates: list[Item], texts: dict[str, ItemText]) -> list[str]:
    letter = {it.code: LETTERS[i] for i, it in enumerate(candidates)}
    lines = []
    for it in candidates:
        t = texts[it.code]
        scope = t.own.split("。", 1)[1] if "。" in t.own else ""
        if len(scope) > MAX_SCOPE_CHARS:
            scope = scope[:MAX_SCOPE_CHARS] + "…"
        line = f"{letter[it.code]}. {it.matter}（主责：{it.lead}）"
        if scope:
            line += f"\n   范围：{scope}"
        outs = []
        for clause in t.boundaries:
            refs = re.findall(r"[A-Za-z0-9][A-Za-z0-9\-_.]*[A-Za-z0-9]", CROSS_REF.search(clause).group(0)[1:]) \
                if CROSS_REF.search(clause) else []
            words = CROSS_REF.sub("", clause).strip(" ，,：:")
            where = "、".join(f"{letter[r]}项" for r in refs if r in letter) or "其他事项"
            if words:
                outs.append(f"{words}（属于{where}）")
        if outs:
            line += "\n   不属于本项：" + "；".join(outs)
        lines.append(line)
    return lines


def build_messages(ticket: str, candidates: list[Item], texts: dict[str, ItemText],
                   examples: list[Example], by_code: dict[str, Item]) -> list[Message]:
    ex = ""
    if examples:
        rows = []
        for e in examples:
            target = "、".join(f"{c} {by_code[c].matter}" for c in e.codes if c in by_code) or "以上都不符合"
            rows.append(f"工单：{e.ticket[:200]}\n应派：{target}")
        ex = prompt("examples.txt").format(examples="\n".join(rows)) + "\n"
    body = prompt("choose.txt").format(ticket=ticket, options="\n".join(option_lines(candidates, texts)),
                                       none=NONE, examples=ex)
    return [{"role": "system", "content": prompt("system.txt")}, {"role": "user", "content": body}]


@dataclass
class Judgement:
    probs: dict[str, float]   # 编号 -> P(chosen); "" -> P(none fits)
    scored: bool              # True: from log-probabilities; False: the one letter the model said


def judge(llm: LLM, ticket: str, candidates: list[Item], texts: dict[str, ItemText],
          examples: list[Example], by_code: dict[str, Item]) -> Judgement:
    """P(each candidate) and P(none) from the model. Raises ModelUnavailable."""
    messages = build_messages(ticket, candidates, texts, examples, by_code)
    letters = [LETTERS[i] for i in range(len(candidates))] + [NONE]
    keys = [it.code for it in candidates] + [""]
    if isinstance(llm, ChoiceScorer):
        lp = llm.choice_logprobs(messages, letters)
        top = max(lp.values())
        weights = [math.exp(lp[ch] - top) for ch in letters]
        total = sum(weights)
        return Judgement({k: w / total for k, w in zip(keys, weights)}, True)
    said = complete(llm, messages, max_tokens=3, temperature=0.0).strip().upper()[:1]
    if said not in letters:
        raise ModelUnavailable("模型没有按要求回答选项字母")
    return Judgement({k: float(ch == said) for k, ch in zip(keys, letters)}, False)


def fits(llm: LLM, ticket: str, candidates: list[Item], texts: dict[str, ItemText]) -> Judgement:
    """P(the ticket belongs to each candidate), each judged on its own ("是"/"否").

    A small model answers one narrow question far more reliably than it picks among five (the
    relevance judge of assistant/answer.py found the same). The ticket comes before the item, so
    llama.cpp evaluates the instructions and the ticket once and only each item after them.
    Probabilities do not sum to one: several may fit (two matters) or none (无匹配).
    """
    system = {"role": "system", "content": prompt("system.txt")}
    out: dict[str, float] = {}
    scored = isinstance(llm, ChoiceScorer)
    for it in candidates:
        body = prompt("fits.txt").format(ticket=ticket, item=describe(it, texts))
        messages = [system, {"role": "user", "content": body}]
        if scored:
            lp = llm.choice_logprobs(messages, ["是", "否"])
            top = max(lp.values())
            yes, no = math.exp(lp["是"] - top), math.exp(lp["否"] - top)
            out[it.code] = yes / (yes + no)
        else:
            out[it.code] = 1.0 if complete(llm, messages, max_tokens=3, temperature=0.0).strip().startswith("是") else 0.0
    return Judgement(out, scored)
