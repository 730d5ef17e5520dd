"""Vectors shipped with the package for the bundled default knowledge (samples + the 12 default laws).

Embedding the ~2,400 default chunks with e5 takes minutes on a 2-core machine; they never change, so their
vectors are package data: ``shipped/<embedder slug>.npy`` (float32, numpy's own format, never pickle) and a
``.json`` manifest: the embedder's name and dim, the chunker version they were made with, one key per row (a
hash of the exact text that was embedded, i.e. the chunk's index text) and a probe (a text and its vector).

A shipped vector is used only for exactly the text it was made from, and only when the running embedder has
the same name and dim and reproduces the probe's vector: a chunker change (another index text) or an
embedder change (another name, or other numbers for the probe) makes those lookups miss, and the chunks are
embedded afresh. ``tests/test_shipped_vectors.py`` fails when the shipped file no longer covers today's
default chunks; rebuild it with ``python -m knowledge.shipped_build`` (only the missing texts are embedded; that module
reads and chunks the default files, which the embedder, under the store, must not import).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

SHIPPED_DIR = Path(__file__).with_name("shipped")
PROBE_TEXT = "社区居委会协助做好独居老人的走访和关爱服务。"
PROBE_MIN_COSINE = 0.999

log = logging.getLogger(__name__)


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def slug(embedder_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", embedder_name)


class ShippedVectors:
    def __init__(self, keys: list[str], vectors: np.ndarray):
        self.rows = {k: i for i, k in enumerate(keys)}
        self.vectors = vectors

    def __len__(self) -> int:
        return len(self.rows)

    def fill(self, texts: Sequence[str], compute: Callable[[list[str]], np.ndarray], dim: int) -> np.ndarray:
        """Vectors for ``texts``: shipped rows where the text is known, ``compute`` (one call) for the rest."""
        out = np.zeros((len(texts), dim), dtype=np.float32)
        missing = []
        for i, t in enumerate(texts):
            row = self.rows.get(text_key(t))
            if row is None:
                missing.append(i)
            else:
                out[i] = self.vectors[row]
        if missing:
            out[missing] = compute([texts[i] for i in missing])
        return out


def load(embedder, directory: Path = SHIPPED_DIR) -> ShippedVectors | None:
    """The shipped vectors ``embedder`` may use, or None (none shipped for it, or made by another model)."""
    manifest_file = directory / f"{slug(embedder.name)}.json"
    if not manifest_file.exists():
        return None
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        vectors = np.load(directory / f"{slug(embedder.name)}.npy", allow_pickle=False)
    except (OSError, ValueError) as e:
        log.warning("shipped vectors unreadable, embedding instead: %s", e)
        return None
    if manifest.get("embedder") != embedder.name or int(manifest.get("dim", 0)) != embedder.dim \
            or vectors.shape != (len(manifest.get("keys", [])), embedder.dim):
        log.warning("shipped vectors are for %s/%s, not %s: embedding instead",
                    manifest.get("embedder"), manifest.get("dim"), embedder.name)
        return None
    probe = embedder.compute([manifest["probe_text"]])[0]
    cosine = float(probe @ np.asarray(manifest["probe_vector"], dtype=np.float32))
    if cosine < PROBE_MIN_COSINE:
        log.warning("shipped vectors made by another build of %s (probe cosine %.4f): embedding instead",
                    embedder.name, cosine)
        return None
    return ShippedVectors(manifest["keys"], vectors.astype(np.float32, copy=False))
