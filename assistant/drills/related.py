"""相关依据: the knowledge-base passages behind a question (a law article, a handbook section), with citations.

The search text is what the question asserts: its stem and the text of its correct options, plus
the law article its 来源 names ("《中华人民共和国老年人权益保障法》第十八条"), which the retriever
puts first when the knowledge base has that article. Passages the relevance gate would call
unrelated are not shown: a wrong "依据" teaches the wrong thing, so a question the knowledge base has
nothing on gets none.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import replace

from assistant.gate import RelevanceGate
from assistant.context import select_sources
from assistant.drills.bank import Question
from knowledge.retrieve.hybrid import HybridRetriever

LAW_REF = re.compile(r"《([^《》]{2,40})》((?:第[零〇一二三四五六七八九十百千\d]+条(?:之[一二三四五六七八九十]+)?[、，,和及]?)+)")


def search_text(question: Question) -> str:
    """Stem + correct options (a 判断题's 正确/错误 says nothing), then the article(s) the source names."""
    parts = [question.stem]
    if question.type != "judge":
        parts += [question.options[ch] for ch in question.answer]
    refs = []
    for law, articles in LAW_REF.findall(question.source):
        law = law.removeprefix("中华人民共和国")
        refs += [f"{law}{a}" for a in re.findall(r"第[^、，,和及]+?条(?:之[一二三四五六七八九十]+)?", articles)]
    return " ".join(refs + parts)


class RelatedPassages:
    """Callable: question -> citations (dicts as ``Source.citation()`` makes them), cached per question.

    A passage is shown when it is the article the question's source cites, or when the relevance gate's score
    for it reaches ``min_relevance``: the gate calibrated for the KBs' embedder (``RelevanceGate.for_embedder``),
    its "clearly relevant" line. With e5 that keeps most 综合能力 questions, which the knowledge base has no
    textbook for, without a passage (eval/README.md, 相关依据; eval/drills.py reports the counts). The cache is
    keyed by the KBs' generations too, so an import or re-embedding is seen at once.
    """

    def __init__(self, retriever: HybridRetriever, k: int = 3, gate: RelevanceGate | None = None,
                 min_relevance: float | None = None, cache_size: int = 512):
        self.retriever = retriever
        self.k = k
        self.gate = gate or RelevanceGate.for_embedder(retriever.embedder.name)  # e5's cosines run far higher
        self.min_relevance = self.gate.high if min_relevance is None else min_relevance
        self._cache: OrderedDict[tuple, list[dict]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def __call__(self, question: Question) -> list[dict]:
        library = self.retriever.library
        generations = tuple((name, library.get(name).generation) for name in library.names())
        key = (question.id, question.stem, question.answer, question.source, generations)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        found = self.find(question)
        with self._lock:
            self._cache[key] = found
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return found

    def find(self, question: Question) -> list[dict]:
        text = search_text(question)
        result = self.retriever.retrieve(text, k=self.k * 2)
        gate = replace(self.gate, top=len(result.hits))
        features = gate.features(result.query.text, result.hits, self.retriever.idf)
        keep, scores = [], {}
        for hit, (coverage, dense) in zip(result.hits, features):
            cited = bool(hit.meta.get("pinned"))
            score = 1.0 if cited else gate.combine(coverage, dense)
            if score >= self.min_relevance:
                keep.append(hit)
                scores[hit.chunk_id, hit.kb] = (score, cited)
        sources = select_sources(keep[: self.k], result.query.keyword_text, self.k, budget=200)
        out = []
        for s in sources:
            score, cited = scores[s.hit.chunk_id, s.hit.kb]
            out.append(dict(s.citation(), relevance=round(score, 3), cited=cited))
        return out
