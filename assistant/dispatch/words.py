"""The one-sentence reason: the ticket's own words, checked."""

from __future__ import annotations

import re

from assistant.dispatch.listfile import Item
from assistant.dispatch.ranking import scope_clauses
from knowledge.index.bm25 import char_bigrams

QUOTE = re.compile(r"[“\"「『]([^”\"」』]{2,80})[”\"」』]")


def quotes_in(sentence: str, ticket: str) -> bool:
    """At least one quoted phrase, and every one of them word for word in the ticket."""
    quoted = QUOTE.findall(sentence)
    squash = lambda s: re.sub(r"[\s，,。！？!?、]", "", s)  # noqa: E731  punctuation may differ
    return bool(quoted) and all(squash(q) in squash(ticket) for q in quoted)


def first_sentence(text: str) -> str:
    text = text.strip().splitlines()[0].strip() if text.strip() else ""
    m = re.match(r"(.+?[。！？!?])", text)
    return (m.group(1) if m else text)[:120]


def closest_clause(ticket: str, item: Item) -> str:
    """The clause of the ticket sharing most character pairs with the item's matter and scope."""
    target = set(char_bigrams(item.matter + "".join(scope_clauses(item.notes)[0])))
    clauses = [c.strip(" ，,") for c in re.split(r"[。！？；!?\n，,]", ticket) if len(c.strip(" ，,")) >= 2]
    if not clauses:
        return ticket[:40]
    best = max(clauses, key=lambda c: len(set(char_bigrams(c)) & target))
    return best[:60]
