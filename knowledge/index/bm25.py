"""Keyword index: BM25 over jieba words plus character bigrams (bm25s, sparse matrices).

Terms are computed once at ingest and stored in SQLite; this index is built
from them when a KB opens or changes, so a query only tokenises the query.
"""

from __future__ import annotations

import re

import bm25s
import numpy as np

from ingest.textutil import normalize, tokenize

# Bump when keyword_terms() changes: the store re-computes the stored terms of
# older KBs when it opens them (cheap: no re-embedding).
TERMS_VERSION = 2
BIGRAM_MARK = "\u00a7"  # keeps bigram "老人" apart from the jieba word "老人" (own IDF, own doc freq)
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")


def char_bigrams(text: str) -> list[str]:
    """Overlapping two-character terms of each run of Chinese characters."""
    return [BIGRAM_MARK + run[i:i + 2] for run in _CJK_RUN.findall(text) for i in range(len(run) - 1)]


def keyword_terms(text: str) -> list[str]:
    """BM25 terms: jieba search-mode words plus character bigrams.

    Colloquial questions and formal sources are often segmented differently
    (扎车胎 vs 车胎, 没批下来 vs 批准); bigrams still match where whole words do not.
    On the eval set this lifted plain BM25 recall@5 from 0.54 to 0.62.
    """
    return tokenize(text) + char_bigrams(normalize(text))


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
