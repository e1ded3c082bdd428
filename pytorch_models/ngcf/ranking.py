"""Ranking items for a visitor vector, and the explanations shown beside them.

All functions read the one (n_items, D) item matrix and never write to it.
"""

from __future__ import annotations

import numpy as np

from pytorch_models.ngcf.candidates import CandidateIndex

__all__ = ["explain", "most_similar", "rank_candidates", "rank_exact", "top_k"]


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions and values of the ``k`` largest scores, largest first."""
    k = min(k, scores.size)
    if k <= 0:
        return np.zeros(0, dtype=np.int64), scores[:0]
    best = np.argpartition(-scores, k - 1)[:k] if k < scores.size else scores.argsort()
    best = best[np.argsort(-scores[best], kind="stable")]
    return best, scores[best]


def rank_exact(
    items: np.ndarray,
    visitor: np.ndarray,
    prior: np.ndarray | None,
    exclude: np.ndarray,
    k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Top k item rows by ``<visitor, F_i> + prior_i`` over every item but
    ``exclude``; one pass over the item matrix."""
    scores = items @ visitor  # (n_items,)
    if prior is not None:
        scores += prior
    scores[exclude] = -np.inf
    return top_k(scores, min(k, items.shape[0] - len(exclude)))


def rank_candidates(
    index: CandidateIndex,
    items: np.ndarray,
    visitor: np.ndarray,
    prior: np.ndarray | None,
    exclude: np.ndarray,
    k: int,
    count: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Top k of the candidate index's ``count`` best items, scored exactly."""
    wanted = min(max(count, k) + len(exclude), items.shape[0])
    found = index.search(visitor, wanted)
    found = found[~np.isin(found, exclude)]
    scores = items[found] @ visitor
    if prior is not None:
        scores += prior[found]
    best, values = top_k(scores, k)
    return found[best], values


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=-1, keepdims=True), 1e-12)


def explain(
    items: np.ndarray, shown: np.ndarray, clicked: np.ndarray, count: int
) -> np.ndarray:
    """(len(shown), count): positions in ``clicked`` of the clicked items most
    similar (cosine of final embeddings) to each shown item, most similar first."""
    similarity = _unit(items[shown]) @ _unit(items[clicked]).T
    return np.argsort(-similarity, axis=1, kind="stable")[:, :count]


def most_similar(
    items: np.ndarray, norms: np.ndarray, row: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The k items nearest to item ``row`` by cosine, and the cosines.

    ``norms`` (n_items,) are the rows' L2 norms: a vector kept instead of a
    second, unit-normalised copy of the matrix.
    """
    safe = np.maximum(norms, 1e-12)
    cosine = (items @ items[row]) / (safe * safe[row])
    cosine[row] = -np.inf
    return top_k(cosine, min(k, items.shape[0] - 1))
