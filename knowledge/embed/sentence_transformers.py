"""Any sentence-transformers model from a local directory (bge-small-zh, bge-m3, ...).

Loaded strictly offline: the path must exist; nothing is fetched from a hub.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from knowledge.embed.base import Kind, normalize_rows
from shegong.errors import UserError


class SentenceTransformerEmbedder:
    def __init__(self, model_dir: Path, query_prefix: str = "", device: str = "cpu"):
        model_dir = Path(model_dir).expanduser()
        if not model_dir.is_dir():
            raise UserError(f"找不到向量模型目录：{model_dir}。请在配置 embedder 中填写本机上的模型文件夹路径。")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(model_dir), device=device, local_files_only=True)
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.name = f"st:{model_dir.name}"
        self.query_prefix = query_prefix

    def embed(self, texts: Sequence[str], *, kind: Kind = "passage", progress: bool = False) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if kind == "query" and self.query_prefix:
            texts = [self.query_prefix + t for t in texts]
        vecs = self._model.encode(texts, batch_size=32, show_progress_bar=progress, normalize_embeddings=True,
                                  convert_to_numpy=True)
        return normalize_rows(vecs)
