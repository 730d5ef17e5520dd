"""Dense index: exact inner-product search in FAISS, keyed by chunk id.

``IndexIDMap2(IndexFlatIP)`` supports add and remove by id and is exact;
at 100k chunks x 512-d a flat search is still well inside the latency budget
(see eval/bench_retrieval.py), so no approximate index is needed here.
Persisted only with FAISS's own writer (never pickle).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import faiss
import numpy as np

# One query at a time: OpenMP threads only add start-up and waiting, worst on a busy
# 2-core machine (measured at 100k chunks: p95 14 ms single-threaded vs 27-44 ms).
faiss.omp_set_num_threads(1)


class FaissIndex:
    def __init__(self, dim: int, index: faiss.Index | None = None):
        self.dim = dim
        self.index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def add(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vecs, dtype=np.float32), np.asarray(ids, dtype=np.int64))

    def remove(self, ids) -> None:
        ids = np.asarray(list(ids), dtype=np.int64)
        if len(ids):
            self.index.remove_ids(faiss.IDSelectorBatch(ids))

    def ids(self) -> np.ndarray:
        """The ids in the index, sorted."""
        return np.sort(faiss.vector_to_array(self.index.id_map).astype(np.int64))

    def search(self, qvec: np.ndarray, k: int, allowed_ids: np.ndarray | None = None) -> list[tuple[int, float]]:
        if len(self) == 0 or k <= 0:
            return []
        q = np.ascontiguousarray(qvec.reshape(1, -1), dtype=np.float32)
        params = None
        if allowed_ids is not None:
            if len(allowed_ids) == 0:
                return []
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.asarray(allowed_ids, dtype=np.int64)))
        scores, ids = self.index.search(q, min(k, len(self)), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def save(self, path: Path) -> None:
        """Write to a temp file, fsync, then rename: readers never see half a file.

        The temp name is per process and thread: two processes rebuilding the same
        missing file must not write into (or rename away) each other's temp file.
        """
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        faiss.write_index(self.index, str(tmp))
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, dim: int) -> "FaissIndex":
        index = faiss.read_index(str(path))
        if index.d != dim:
            raise ValueError(f"index dim {index.d} != {dim}")
        return cls(dim, index)
