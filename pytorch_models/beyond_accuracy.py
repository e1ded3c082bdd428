"""Beyond-accuracy metrics of the lists shown to many visitors: how far past the
blockbusters a recommender reaches.

Given each visitor's top-N item indices and every item's training degree:

    coverage        distinct items in all top-N lists together
    popularity rank 1 for the most rated item; mean and median over all slots
    Gini            of the items' exposure counts (0: every item shown equally
                    often, towards 1: a few items take every slot)
    long-tail share share of slots filled by items outside the head, the most
                    rated items that together carry ``head_share`` of the ratings
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

__all__ = ["BeyondAccuracy", "beyond_accuracy", "popularity_ranks"]


@dataclass(frozen=True)
class BeyondAccuracy:
    """What the visitors were shown, summed over their top-N lists."""

    lists: int  # visitors
    coverage: int  # distinct items shown
    median_popularity_rank: float
    mean_popularity_rank: float
    gini: float  # of exposure over the whole catalogue
    long_tail_share: float  # slots outside the head
    head_share: float  # the head's share of the training ratings


def popularity_ranks(item_degree: np.ndarray) -> np.ndarray:
    """(n_items,) 1 for the most rated item, ties broken by index."""
    order = np.argsort(-np.asarray(item_degree), kind="stable")
    ranks = np.empty(order.size, dtype=np.int64)
    ranks[order] = np.arange(1, order.size + 1)
    return ranks


def beyond_accuracy(
    top_lists: Iterable[Iterable[int]],
    item_degree: np.ndarray,
    *,
    head_share: float = 0.2,
) -> BeyondAccuracy:
    """The metrics of ``top_lists`` (item indices into ``item_degree``)."""
    if not 0 < head_share < 1:
        raise ValueError("head_share must be in (0, 1)")
    degree = np.asarray(item_degree, dtype=np.float64)
    lists = [np.asarray(list(top), dtype=np.int64) for top in top_lists]
    shown = np.concatenate(lists) if lists else np.zeros(0, dtype=np.int64)
    if shown.size == 0:
        return BeyondAccuracy(len(lists), 0, 0.0, 0.0, 0.0, 0.0, head_share)
    exposure = np.sort(np.bincount(shown, minlength=degree.size).astype(np.float64))
    n = exposure.size
    gini = float((2 * np.arange(1, n + 1) - n - 1) @ exposure / (n * exposure.sum()))
    ranks = popularity_ranks(degree)[shown]
    carried = np.cumsum(np.sort(degree)[::-1]) / max(degree.sum(), 1.0)
    head = int(np.searchsorted(carried, head_share) + 1)
    return BeyondAccuracy(
        lists=len(lists),
        coverage=int(np.unique(shown).size),
        median_popularity_rank=float(np.median(ranks)),
        mean_popularity_rank=float(ranks.mean()),
        gini=gini,
        long_tail_share=float((ranks > head).mean()),
        head_share=head_share,
    )
