"""Optional cross-encoder reranker (e.g. a local bge-reranker directory), chosen by config."""

from __future__ import annotations

import os
from pathlib import Path

from knowledge.types import Hit
from shegong.errors import UserError


class CrossEncoderReranker:
    def __init__(self, model_dir: Path | str, max_length: int = 512):
        model_dir = Path(model_dir).expanduser()
        if not model_dir.is_dir():
            raise UserError(f"找不到重排序模型目录：{model_dir}")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import CrossEncoder

        self._model = CrossEncoder(str(model_dir), device="cpu", max_length=max_length, local_files_only=True)
        self.name = f"ce:{model_dir.name}"

    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        if not hits:
            return hits
        scores = self._model.predict([(query, f"{h.title} {h.location}\n{h.text}") for h in hits])
        for h, s in zip(hits, scores):
            h.meta["fused_score"] = h.score
            h.score = float(s)
        return sorted(hits, key=lambda h: -h.score)


def make_reranker(model_dir: str) -> CrossEncoderReranker | None:
    """The reranker a setting names (SHEGONG_RERANKER), or None when it names none."""
    return CrossEncoderReranker(model_dir) if model_dir else None
