"""原文摘录: the best sentences of the top sources, word for word, shown as soon as retrieval is done.

On a 2-core office PC the model needs 10-15 s before its first word; retrieval takes well under a
second. ``Answerer.stream`` yields these sentences (an ``extract`` event) right after the sources,
so the chat has useful content at once; the model's answer streams in below and, once verified,
takes the main place.
"""

from __future__ import annotations

from collections import Counter

from assistant.context import Source, quote
from ingest.injection import screen_sentences
from ingest.textutil import tokenize

EXTRACT_HEADING = "原文摘录"
EXTRACT_HEADING_UNSURE = "原文摘录（正在确认这些资料是否切题）"


def key_sentences(sources: list[Source], weights: dict[str, float], allowed: set[str] = frozenset(), n: int = 3, *,
                  from_sources: int = 3, per_source: int = 2, max_chars: int = 150) -> list[dict]:
    """The two or three sentences of the top sources that say most about the question, word for word.

    A sentence's score is the IDF weight (``weights``: term -> weight) of the question's words it
    contains, a little less for lower-ranked sources; at most ``per_source`` from one source, and a
    third one only if it scores at least half the best. What the sources' excerpts leave out is left
    out here too (ingest/injection.py's ``screen_sentences``): sentences that address the model, and lines that
    send the reader to a phone number or a payment unless the question asks for one (``allowed``).
    A long sentence is cut at ``max_chars`` with "……". Nothing is rephrased: what is shown is the
    source's own text, so it needs no checking against the sources.
    """
    candidates = []
    for rank, src in enumerate(sources[:from_sources]):
        for i, sentence in enumerate(screen_sentences(src.hit.text, allowed)[0]):
            if len(sentence) < 6:
                continue
            words = set(tokenize(sentence))
            score = sum(w for term, w in weights.items() if term in words)
            if score > 0:
                candidates.append((score * (1 - 0.15 * rank), rank, i, src, sentence))
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    chosen, taken = [], Counter()
    for cand in candidates:
        if len(chosen) == n or (len(chosen) >= 2 and cand[0] < 0.5 * candidates[0][0]):
            break
        if taken[cand[3].n] < per_source:
            chosen.append(cand)
            taken[cand[3].n] += 1
    if not chosen:  # no sentence shares a weighted word: the top sources' own (screened) excerpts
        chosen = [(0, rank, 0, src, src.excerpt) for rank, src in enumerate(sources[:2]) if src.excerpt]
    chosen.sort(key=lambda c: (c[1], c[2]))
    out = []
    for _, _, _, src, sentence in chosen:
        text = sentence if len(sentence) <= max_chars else sentence[:max_chars].rstrip("，、；：") + "……"
        out.append({"n": src.n, "title": src.hit.title, "location": src.hit.location, "text": quote(text)})
    return out
