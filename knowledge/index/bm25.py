"""Keyword index: BM25 over jieba tokens (bm25s, sparse matrices).

Tokens are computed once at ingest and stored in SQLite; this index is built
from them when a KB opens or changes, so a query only tokenises the query.
"""

from __future__ import annotations

import bm25s
import numpy as np


class BM25Index:
    def __init__(self, ids: list[int], token_lists: list[list[str]], k1: float = 1.2, b: float = 0.75):
        self.ids = np.asarray(ids, dtype=np.int64)
        self._retriever = None
        if len(ids):
            # bm25s needs at least one token per doc
            corpus = [toks if toks else ["\u2205"] for toks in token_lists]
            self._retriever = bm25s.BM25(k1=k1, b=b)
            self._retriever.index(corpus, show_progress=False)

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every chunk (aligned with ``self.ids``)."""
        if self._retriever is None or not query_tokens:
            return np.zeros(len(self.ids), dtype=np.float32)
        return self._retriever.get_scores(query_tokens)

    def search(self, query_tokens: list[str], k: int, allowed_mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        scores = self.scores(query_tokens)
        if allowed_mask is not None:
            scores = np.where(allowed_mask, scores, 0.0)
        k = min(k, len(scores))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(int(self.ids[i]), float(scores[i])) for i in top if scores[i] > 0]
