"""无匹配 from the retrieval scores: a two-feature logistic model, P(no item fits | scores of the best items).

Features: the best item's fused score and its lead over the second (both in the ranking's z units, so they
depend on the ranking weights: one fitted model per weight setting). Fitted on our own tickets by
``python -m eval.dispatch_fit``, which prints the ``FITTED`` entry below.

How well it can work is limited by the scores themselves: tickets that fit no item reach top scores like
those of fitting ones (eval/README.md, dispatch), so the threshold is set where flagging stops costing
more fitting tickets than it catches no-fit ones on our own set, not at the recall target.

The features are z-scores over the list's items, so their range grows with the list: fitted on a 73-item list,
checked on a 57-item one (held-out). Lists under 20 items use the cosine floor (matcher.MIN_ITEMS_FOR_SCORES);
on a list of many hundreds the model will flag less often than measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NoneModel:
    mean: tuple[float, float]     # feature standardisation
    scale: tuple[float, float]
    coef: tuple[float, float]
    intercept: float
    threshold: float              # P(no item fits) at or above which the ticket is flagged 无匹配

    def probability(self, top: float, margin: float) -> float:
        x = [(v - m) / s for v, m, s in zip((top, margin), self.mean, self.scale)]
        t = self.intercept + sum(c * v for c, v in zip(self.coef, x))
        return 1.0 / (1.0 + math.exp(-max(min(t, 50.0), -50.0)))


def features(scores: list[float]) -> tuple[float, float]:
    """The fused scores of a ticket's items, best first -> (top, margin)."""
    return scores[0], scores[0] - (scores[1] if len(scores) > 1 else 0.0)


def fit(x: np.ndarray, y: np.ndarray, *, l2: float = 1.0, threshold: float = 0.5) -> NoneModel:
    """Logistic regression (Newton's method, L2 on the coefficients, classes weighted to balance: the no-fit
    tickets are few). ``x``: (n, 2) features, ``y``: 1 = no item fits."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    xs = np.hstack([np.ones((len(x), 1)), (x - mean) / scale])
    pos = max(y.sum(), 1.0)
    w_obs = np.where(y == 1, len(y) / (2 * pos), len(y) / (2 * max(len(y) - pos, 1.0)))
    beta = np.zeros(xs.shape[1])
    reg = np.diag([0.0] + [l2] * (xs.shape[1] - 1))
    for _ in range(50):
        p = 1 / (1 + np.exp(-xs @ beta))
        grad = xs.T @ (w_obs * (p - y)) + reg @ beta
        hess = xs.T @ (xs * (w_obs * p * (1 - p))[:, None]) + reg
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return NoneModel(mean=tuple(round(float(v), 4) for v in mean), scale=tuple(round(float(v), 4) for v in scale),
                     coef=tuple(round(float(v), 4) for v in beta[1:]), intercept=round(float(beta[0]), 4),
                     threshold=float(threshold))


def weights_key(w_bm25: float, w_dense: float, w_e5: float) -> str:
    return f"bm25={w_bm25:g},usem3={w_dense:g},e5={w_e5:g}"


# Fitted on all 98 tickets of eval/data/dispatch/tickets_own.jsonl (python -m eval.dispatch_fit). The default
# weights: threshold 0.80 made the most own tickets right in 7-fold cross-validation (0.847 against 0.796
# with no flag; 无匹配 P 0.70 R 0.58). usem3 alone: no threshold helped (0.704 either way), so none is fitted
# for it and it keeps the cosine floor (MatchConfig.no_llm_none_dense).
FITTED: dict[str, NoneModel] = {
    "bm25=1,usem3=2,e5=3": NoneModel(mean=(19.5062, 7.0738), scale=(4.546, 4.9898), coef=(-1.3346, -1.1887),
                                     intercept=-1.5634, threshold=0.8),
}
