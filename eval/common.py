"""Helpers shared by the eval scripts: loading JSONL sets, gold matching, percentiles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).parent / "data"


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def matches_gold(hit, gold: list[dict]) -> bool:
    """A hit matches when some gold item's ``doc`` is in its title and ``loc`` is in its location."""
    return any(g["doc"] in hit.title and g.get("loc", "") in hit.location and g.get("text", "") in hit.text
               for g in gold)


def first_gold_rank(hits, gold: list[dict]) -> int | None:
    """1-based rank of the first matching hit, or None."""
    for i, h in enumerate(hits, 1):
        if matches_gold(h, gold):
            return i
    return None


def percentile(values: list[float], p: float) -> float:
    return float(np.percentile(values, p)) if values else 0.0
