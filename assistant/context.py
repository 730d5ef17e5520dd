"""Pick the sources and the sentences a small model should see.

A 1.5B model answers better from a few short, relevant excerpts than from
whole chunks: for each hit we keep the sentences that share the most words
with the question (in their original order), up to a character budget.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.injection import asked_for, directive_kind, screen
from ingest.textutil import split_sentences, tokenize
from knowledge.types import Hit

GENERIC = {"社区", "居民", "问题", "情况", "处理", "办理", "工作", "需要", "可以", "应当", "什么", "如何", "哪里", "一下"}


@dataclass
class Source:
    n: int  # 1-based number used in [n]
    hit: Hit
    excerpt: str  # shown to the user (quotes, source cards)
    brief: str = ""  # the shorter excerpt the model reads: a short prompt keeps time-to-first-token low

    def prompt_line(self) -> str:
        return f"[{self.n}] 《{self.hit.title}》{self.hit.location}：{self.brief or self.excerpt}"

    def citation(self) -> dict:
        h = self.hit
        return {"n": self.n, "title": h.title, "source": h.source, "location": h.location, "text": h.text,
                "excerpt": self.excerpt, "doc_type": h.doc_type, "kb": h.kb, "chunk_id": h.chunk_id}


def query_terms(text: str) -> set[str]:
    return {t for t in tokenize(text) if t not in GENERIC and len(t) > 1 or t.isdigit()}


def excerpt(hit: Hit, terms: set[str], budget: int = 260, allowed: set[str] = frozenset()) -> str:
    """The most relevant sentences of a hit, in reading order, within ``budget`` characters.

    Sentences that look like instructions to the model are left out, and so are lines that send the
    reader to a phone number or a payment unless the question asks for one (``allowed``, see
    ingest/injection.py); the hit's meta counts both, for the answer's warnings.
    """
    text, instructions, directives = screen(hit.text.strip(), allowed)
    if instructions:
        hit.meta["instructions_removed"] = instructions
    if directives:
        hit.meta["directives_removed"] = directives
    if len(text) <= budget:
        return text
    sentences = [s for s in split_sentences(text) if s.strip()]
    scored = []
    for i, s in enumerate(sentences):
        overlap = len(terms & set(tokenize(s)))
        scored.append((overlap, -i, i, s))
    chosen: list[tuple[int, str]] = []
    used = 0
    for overlap, _, i, s in sorted(scored, reverse=True):
        if used + len(s) > budget and chosen:
            continue
        chosen.append((i, s))
        used += len(s)
        if used >= budget:
            break
    chosen.sort()
    parts, last = [], None
    for i, s in chosen:
        if last is not None and i != last + 1:
            parts.append("……")
        parts.append(s.strip())
        last = i
    return "".join(parts)[: budget + 40]


def quote(text: str) -> str:
    """Source text shown inside an answer: its own [n] become ［n］ so they never read as our citations."""
    return re.sub(r"\[(\d{1,2})\]", r"［\1］", text)


def select_sources(hits: list[Hit], question_text: str, max_sources: int = 4, budget: int = 260,
                   prompt_budget: int = 150, allowed: set[str] | None = None) -> list[Source]:
    """``allowed``: the directives the question asks for (default: read from ``question_text``)."""
    terms = query_terms(question_text)
    allowed = asked_for(question_text) if allowed is None else allowed
    return [Source(n=i, hit=h, excerpt=quote(excerpt(h, terms, budget, allowed)),
                   brief=quote(excerpt(h, terms, prompt_budget, allowed)))
            for i, h in enumerate(hits[:max_sources], 1)]


# The kind of source each mode must not go without, when retrieval found one in its top 8.
MODE_NEEDS = {"policy": ("law", "policy"), "solution": ("case",)}


def pick_hits(hits: list[Hit], mode: str, n: int) -> list[Hit]:
    """Top ``n`` hits, but 找政策 always sees a law/policy and 搜方案 a similar case if one was retrieved."""
    chosen = hits[:n]
    needed = MODE_NEEDS[mode]
    if chosen and not any(h.doc_type in needed for h in chosen):
        extra = next((h for h in hits[n:] if h.doc_type in needed), None)
        if extra is not None:
            chosen = chosen[:-1] + [extra]
    return chosen


DIRECTIVES_LEFT_OUT = "资料中让人拨打电话或付款的句子没有列出（问题没有问到；如需联系方式或缴费方式，请直接问）。"


def drop_directives(text: str, allowed: set[str] = frozenset()) -> tuple[str, int]:
    """A generated answer without sentences that send the reader to a phone number or a payment the
    question did not ask for; line breaks are kept. Returns the text and how many sentences went."""
    lines, dropped = [], 0
    for line in text.split("\n"):
        kept = []
        for sentence in split_sentences(line):
            kind = directive_kind(sentence)
            if kind and kind not in allowed:
                dropped += 1
            else:
                kept.append(sentence)
        if kept or not line.strip():
            lines.append("".join(kept))
    return "\n".join(lines), dropped
