"""Candidate generation for large catalogues: approximate top items by inner product.

Ranking every item exactly reads the whole (items x D) matrix of final item
embeddings per request; past a few tens of thousands of items that pass, not the
fine-tuning, is the request's cost, and it grows with the catalogue. Above a size
limit the predictor instead asks this index for a few hundred candidates and ranks
only those exactly.

The score to maximise is ``<f, F_i> + b_i`` (b = the popularity prior). An inverted
file index (faiss ``IndexIVFFlat``) finds nearest neighbours by L2 distance, so the
items are mapped to vectors of equal norm (Bachrach et al., RecSys 2014):

    x_i = [F_i, b_i, sqrt(M^2 - ||F_i||^2 - b_i^2)],   q = [f, 1, 0]

with M the largest ``||[F_i, b_i]||``; then ``||q - x_i||^2 = ||q||^2 + M^2 - 2
(<f, F_i> + b_i)``, so the nearest x_i are the best-scored items. The index
clusters the x_i into ``nlist`` lists (k-means) and a query scans only the
``nprobe`` lists whose centroids are nearest to q.
"""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path

import numpy as np

from pytorch_models.ngcf.shared_arrays import file_lock

logger = logging.getLogger(__name__)

__all__ = ["CandidateIndex", "candidate_index_beside", "default_nlist"]


def default_nlist(n_items: int) -> int:
    """Number of k-means lists: about 4 sqrt(n), the usual faiss starting point."""
    return max(1, min(n_items // 39, int(4 * math.sqrt(n_items))))


def _faiss():
    # imported on first use: only large catalogues need it, and a process that
    # serves a small one does not pay its import time and memory
    import faiss

    return faiss


class CandidateIndex:
    """Approximate maximum-inner-product search over fixed item vectors.

    Searching is read-only (faiss CPU indexes may be searched from many threads at
    once), deterministic, and returns item rows (0..n-1).
    """

    def __init__(self, index, dim: int, nprobe: int) -> None:
        self.index = index
        self.dim = dim  # D of the item vectors (without the two added columns)
        self.nprobe = nprobe

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        bias: np.ndarray | None = None,
        nlist: int | None = None,
        nprobe: int = 32,
        seed: int = 0,
    ) -> CandidateIndex:
        """Index the rows of ``vectors`` (n, D) with per-item score offsets ``bias``."""
        faiss = _faiss()
        started = time.perf_counter()
        n, dim = vectors.shape
        x = _augment(vectors, bias)
        nlist = nlist or default_nlist(n)
        quantizer = faiss.IndexFlatL2(dim + 2)
        index = faiss.IndexIVFFlat(quantizer, dim + 2, nlist, faiss.METRIC_L2)
        index.cp.seed = seed
        index.train(x)
        index.add(x)
        logger.info(
            "candidate index: %d items in %d lists, built in %.1fs",
            n,
            nlist,
            time.perf_counter() - started,
        )
        return cls(index, dim, min(nprobe, nlist))

    def search(self, f: np.ndarray, count: int) -> np.ndarray:
        """Rows of (at most) the ``count`` items with the largest ``<f, F_i> + b_i``."""
        faiss = _faiss()
        query = np.zeros((1, self.dim + 2), dtype=np.float32)
        query[0, : self.dim] = f
        query[0, self.dim] = 1.0
        params = faiss.SearchParametersIVF(nprobe=self.nprobe)
        _, rows = self.index.search(query, count, params=params)
        rows = rows[0]
        return rows[rows >= 0]  # -1 pads a result shorter than count

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # one per process
        _faiss().write_index(self.index, str(tmp))
        tmp.replace(path)  # readers never see a half-written index
        return path

    @classmethod
    def load(cls, path: str | Path, dim: int, nprobe: int = 32) -> CandidateIndex:
        """Map the index file read-only: every process on the host that loads the
        same file shares its pages (the file is replaced by rename, never
        rewritten in place, so a mapping stays valid)."""
        faiss = _faiss()
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
        if index.d != dim + 2:
            raise ValueError(f"{path}: index of width {index.d}, expected {dim + 2}")
        return cls(index, dim, min(nprobe, index.nlist))


def candidate_index_beside(
    checkpoint: Path,
    vectors: np.ndarray,
    bias: np.ndarray | None,
    *,
    prior_weight: float,
    nprobe: int,
) -> CandidateIndex:
    """The index of a checkpoint's item vectors, cached in a file beside it.

    The cache is named after the prior weight (the bias is part of the indexed
    vectors) and rebuilt when the checkpoint is newer or the cache unreadable; a
    cache that cannot be written is only logged (the index then lives in this
    process's memory). A cached index is memory-mapped, shared by every process
    on the host.
    """
    cache = checkpoint.with_name(f"{checkpoint.name}.prior{prior_weight:g}.ivf.faiss")
    if cache.exists() and cache.stat().st_mtime < checkpoint.stat().st_mtime:
        cache.unlink(missing_ok=True)
    index = _load_cached(cache, vectors.shape[1], nprobe)
    if index is not None:
        return index
    try:
        with file_lock(cache):  # processes starting together build it once
            index = _load_cached(cache, vectors.shape[1], nprobe)
            if index is None:
                CandidateIndex.build(vectors, bias, nprobe=nprobe).save(cache)
                index = CandidateIndex.load(cache, vectors.shape[1], nprobe)
    except OSError as exc:
        logger.warning("could not cache the candidate index: %s", exc)
        index = CandidateIndex.build(vectors, bias, nprobe=nprobe)
    return index


def _load_cached(cache: Path, dim: int, nprobe: int) -> CandidateIndex | None:
    if not cache.exists():
        return None
    try:
        return CandidateIndex.load(cache, dim, nprobe)
    except (RuntimeError, ValueError) as exc:
        logger.warning("rebuilding unreadable candidate index %s: %s", cache, exc)
        return None


def _augment(vectors: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """[F_i, b_i, sqrt(M^2 - ||F_i||^2 - b_i^2)] as contiguous float32."""
    n, dim = vectors.shape
    x = np.zeros((n, dim + 2), dtype=np.float32)
    x[:, :dim] = vectors
    if bias is not None:
        x[:, dim] = bias
    sq = np.einsum("ij,ij->i", x[:, : dim + 1], x[:, : dim + 1], dtype=np.float64)
    x[:, dim + 1] = np.sqrt(np.maximum(sq.max() - sq, 0.0))
    return x
