"""Ingest cost: a new version of a file embeds only its changed chunks, and embedding reports its progress
chunk by chunk (the first run's status line and the CLI's bar follow it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge.importer import add_file
from knowledge.store import KnowledgeBase
from knowledge.store.kb import EMBED_BATCH

pytestmark = pytest.mark.integration

PARAGRAPHS = [f"网格员每周走访第{i}网格的独居老人，记录身体状况、用药和生活需求，发现异常及时报告社区。" for i in range(8)]


class Counting:
    """The real embedder, counting the passages it is asked to embed."""

    def __init__(self, inner):
        self.inner, self.name, self.dim, self.passages = inner, inner.name, inner.dim, []

    def embed(self, texts, *, kind="passage", progress=False):
        if kind == "passage":
            self.passages += list(texts)
        return self.inner.embed(texts, kind=kind, progress=progress)


def write(path: Path, title: str, paragraphs: list[str]) -> Path:
    """One section (one chunk) per paragraph."""
    sections = [f"## 第{i + 1}部分\n\n{p}" for i, p in enumerate(paragraphs)]
    path.write_text(f"# {title}\n\n" + "\n\n".join(sections) + "\n", encoding="utf-8")
    return path


def stored(kb: KnowledgeBase) -> dict[str, bytes]:
    return dict(kb._conn.execute("SELECT text, vector FROM chunks").fetchall())


def test_a_new_version_embeds_only_its_changed_chunks(tmp_path, usem3_embedder):
    emb = Counting(usem3_embedder)
    kb = KnowledgeBase(tmp_path / "kb", emb)
    doc = write(tmp_path / "走访要求.md", "走访工作要求", PARAGRAPHS)
    assert add_file(kb, doc).status == "added"
    first = len(emb.passages)
    assert first == len(PARAGRAPHS)
    before = stored(kb)

    changed = list(PARAGRAPHS)
    changed[3] = "发现老人多日未出门，网格员应当立即上门查看并联系家属。"
    emb.passages.clear()
    assert add_file(kb, write(doc, "走访工作要求", changed)).status == "replaced"
    assert len(emb.passages) == 1 and "多日未出门" in emb.passages[0]  # the one changed paragraph
    after = stored(kb)
    kept = [t for t in after if t in before]
    assert len(kept) == len(after) - 1 and all(after[t] == before[t] for t in kept)  # same vectors, reused
    q = usem3_embedder.embed(["老人多日未出门怎么办"], kind="query")[0]
    assert "多日未出门" in kb.get_hits(kb.dense_search(q, 1))[0].text  # the new vector is the new text's

    # a new title changes every chunk's index text (what the embedder reads): all are embedded again
    emb.passages.clear()
    assert add_file(kb, write(doc, "网格员走访细则", changed)).status == "replaced"
    assert len(emb.passages) == len(after)
    kb.close()


def test_embedding_progress_moves_chunk_by_chunk(tmp_path, usem3_embedder):
    kb = KnowledgeBase(tmp_path / "kb", usem3_embedder)
    many = [f"社区为第{i}类困难群众提供上门服务，登记需求并跟进办理进度。" for i in range(2 * EMBED_BATCH + 5)]
    calls = []
    result = add_file(kb, write(tmp_path / "服务清单.md", "服务清单", many), progress=lambda d, t: calls.append((d, t)))
    assert result.status == "added"
    total = calls[0][1]
    assert calls[0] == (0, total) and calls[-1] == (total, total) and total == len(many)
    assert len(calls) >= 4  # several steps, not one jump at the end
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    kb.close()


def test_first_run_progress_reports_each_file_chunk_by_chunk(tmp_path, usem3_embedder):
    from knowledge.library import Library

    seen = []
    Library(root=tmp_path / "kbs", embedder=usem3_embedder).install_defaults(
        lambda frac, msg: seen.append((frac, msg)), laws=["城市居民委员会组织法"])
    fracs = [f for f, _ in seen]
    assert fracs == sorted(fracs) and fracs[-1] == 1.0
    assert any("城市居民委员会组织法（向量化" in m for _, m in seen)
    # within one file the bar moves: more than the two ends per file
    law = [f for f, m in seen if "城市居民委员会组织法" in m]
    assert len(set(law)) >= 3 and np.ptp(law) > 0
