"""Vectors shipped for the default knowledge (knowledge/embed/shipped.py): complete, the model's own, and
never used for another model or another text."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from knowledge import shipped_build
from knowledge.embed import shipped

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def e5(e5_embedder):
    return e5_embedder


@pytest.fixture(scope="module")
def default_texts():
    return shipped_build.default_texts()


def test_they_cover_every_default_chunk(e5, default_texts):
    table = shipped.load(e5)
    assert table is not None, "no usable shipped vectors for the default embedder"
    missing = [t[:40] for t in default_texts if shipped.text_key(t) not in table.rows]
    # fails when the chunker (or a bundled file) changes: rebuild with `python -m knowledge.embed.shipped`
    assert not missing, f"{len(missing)} default chunks have no shipped vector, e.g. {missing[:3]}"
    assert len(default_texts) > 2000  # samples + 12 laws


def test_they_are_the_models_own_vectors(e5, default_texts):
    table = shipped.load(e5)
    rng = np.random.default_rng(7)
    texts = [default_texts[i] for i in rng.choice(len(default_texts), 4, replace=False)]
    stored = np.vstack([table.vectors[table.rows[shipped.text_key(t)]] for t in texts])
    assert np.allclose(stored, e5.compute(texts), atol=1e-4)


def test_known_texts_are_not_embedded_again(e5, default_texts, monkeypatch):
    table = e5._shipped_vectors()  # checked once per embedder, with the model's own probe vector
    assert table is not None
    calls = []

    def compute(texts, progress=False):
        calls.append(list(texts))
        return np.ones((len(texts), e5.dim), dtype=np.float32)

    monkeypatch.setattr(e5, "compute", compute)
    new = "一段知识库里没有的新文字。"
    vecs = e5.embed([default_texts[5], new, default_texts[1000]])
    assert calls == [[new]]
    assert np.array_equal(vecs[0], table.vectors[table.rows[shipped.text_key(default_texts[5])]])
    assert np.all(vecs[1] == 1.0)


def _copy(tmp_path, e5):
    name = shipped.slug(e5.name)
    for ext in ("json", "npy"):
        shutil.copy(shipped.SHIPPED_DIR / f"{name}.{ext}", tmp_path / f"{name}.{ext}")
    return tmp_path / f"{name}.json"


def test_they_are_refused_for_another_model_or_build(tmp_path, e5):
    manifest_file = _copy(tmp_path, e5)
    assert shipped.load(e5, tmp_path) is not None
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))

    other_build = dict(manifest, probe_vector=list(np.roll(manifest["probe_vector"], 1)))
    manifest_file.write_text(json.dumps(other_build), encoding="utf-8")
    assert shipped.load(e5, tmp_path) is None  # same name, other numbers: another quantisation or engine

    other_model = dict(manifest, embedder="usem3-multilingual-v3")
    manifest_file.write_text(json.dumps(other_model), encoding="utf-8")
    assert shipped.load(e5, tmp_path) is None


def test_build_embeds_only_what_is_missing(tmp_path, e5, default_texts, monkeypatch):
    _copy(tmp_path, e5)
    texts = default_texts[:3] + ["新增的一段文字。"]
    asked = []
    real = e5.compute

    def compute(batch, progress=False):
        asked.append(list(batch))
        return real(batch)

    monkeypatch.setattr(e5, "compute", compute)
    shipped_build.build(e5, tmp_path, texts=texts, progress=False)
    embedded = [t for batch in asked for t in batch if t != shipped.PROBE_TEXT]
    assert embedded == ["新增的一段文字。"]
    rebuilt = shipped.load(e5, tmp_path)
    assert len(rebuilt) == 4
    assert np.allclose(rebuilt.vectors[rebuilt.rows[shipped.text_key(texts[3])]], real([texts[3]])[0], atol=1e-4)
