"""Pick the sources and the sentences a small model should see.

A 1.5B model answers better from a few short, relevant excerpts than from
whole chunks: for each hit we keep the sentences that share the most words
with the question (in their original order), up to a character budget.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


# Sentences in a document that address the model instead of the reader (prompt injection).
INSTRUCTION = re.compile(
    r"(忽略|无视|不要理会|忘记)(以上|上述|之前|前面|所有|全部)?.{0,6}(指令|指示|要求|规则|提示)|你(现在)?(必须|务必|应该)(用|在回答|回答)|"
    r"(系统|system)\s*(提示|prompt)|ignore (all|previous|the above)|you must", re.I)


def strip_instructions(text: str) -> tuple[str, int]:
    """Drop sentences that try to instruct the model; return the text and how many were dropped."""
    kept, dropped = [], 0
    for sentence in split_sentences(text):
        if INSTRUCTION.search(sentence):
            dropped += 1
        else:
            kept.append(sentence)
    return "".join(kept), dropped


def excerpt(hit: Hit, terms: set[str], budget: int = 260) -> str:
    """The most relevant sentences of a hit, in reading order, within ``budget`` characters."""
    text, dropped = strip_instructions(hit.text.strip())
    if dropped:
        hit.meta["instructions_removed"] = dropped
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
                   prompt_budget: int = 150) -> list[Source]:
    terms = query_terms(question_text)
    return [Source(n=i, hit=h, excerpt=quote(excerpt(h, terms, budget)), brief=quote(excerpt(h, terms, prompt_budget)))
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
