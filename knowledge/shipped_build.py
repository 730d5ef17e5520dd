"""Build the shipped vectors of the default knowledge (knowledge/embed/shipped.py explains their use).

``python -m knowledge.shipped_build`` re-chunks the bundled samples and the 12 default laws as the chunker
does today and embeds only the texts that have no valid shipped vector yet. Kept apart from
knowledge/embed/shipped.py: this module reads and chunks files, which the embedder (imported by the store)
must not do.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ingest.chunking import CHUNKER_VERSION, chunk_document
from ingest.laws import DEFAULT_LAWS, load_law
from ingest.loaders import load_file
from knowledge.embed import shipped
from knowledge.library import BUNDLED_SAMPLES, SAMPLES_DIR


def default_texts() -> list[str]:
    """The index text of every chunk of the bundled default knowledge, as the chunker makes them today."""
    docs = [load_file(SAMPLES_DIR / fname, doc_type=doc_type) for fname, _, doc_type in BUNDLED_SAMPLES]
    docs += [load_law(name) for name in DEFAULT_LAWS]
    return list(dict.fromkeys(ch.index_text for doc in docs for ch in chunk_document(doc)))


def build(embedder, directory: Path = shipped.SHIPPED_DIR, texts: list[str] | None = None,
          progress: bool = True) -> Path:
    """(Re)write the shipped vectors for ``embedder``: only texts without a valid shipped vector are embedded."""
    texts = default_texts() if texts is None else texts
    known = shipped.load(embedder, directory)
    if known is None:
        vectors = embedder.compute(texts, progress=progress)
    else:
        vectors = known.fill(texts, lambda miss: embedder.compute(miss, progress=progress), embedder.dim)
    directory.mkdir(parents=True, exist_ok=True)
    name = shipped.slug(embedder.name)
    np.save(directory / f"{name}.npy", vectors.astype(np.float32))
    probe = embedder.compute([shipped.PROBE_TEXT])[0]
    manifest = {"embedder": embedder.name, "dim": embedder.dim, "chunker_version": CHUNKER_VERSION,
                "probe_text": shipped.PROBE_TEXT, "probe_vector": [round(float(x), 7) for x in probe],
                "keys": [shipped.text_key(t) for t in texts]}
    (directory / f"{name}.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return directory / f"{name}.npy"


if __name__ == "__main__":
    from knowledge.embed.e5 import E5Embedder

    print(build(E5Embedder()))
