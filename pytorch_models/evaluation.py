"""Full-ranking evaluation: Recall, NDCG, Hit and Precision at K."""

from __future__ import annotations

import math

import torch

__all__ = ["RankingEvaluator", "ranking_metrics"]


def _metric_sums(
    hits: torch.Tensor, n_relevant: torch.Tensor, ks: tuple[int, ...]
) -> dict[str, float]:
    """Per-metric sums over users; see :func:`ranking_metrics` for the definitions."""
    hits = hits.to(torch.float64)
    n_relevant = n_relevant.to(torch.float64)
    max_k = hits.shape[1]
    discount = 1.0 / torch.log2(torch.arange(2, max_k + 2, dtype=torch.float64))
    cum_discount = torch.cumsum(discount, 0)
    sums: dict[str, float] = {}
    for k in ks:
        if k > max_k:
            raise ValueError(f"K={k} exceeds the {max_k} ranked items given")
        found = hits[:, :k].sum(1)
        dcg = (hits[:, :k] * discount[:k]).sum(1)
        ideal_len = n_relevant.clamp(max=k).to(torch.int64)
        idcg = cum_discount[(ideal_len - 1).clamp(min=0)]
        sums[f"recall@{k}"] = float((found / n_relevant).sum())
        sums[f"ndcg@{k}"] = float((dcg / idcg).sum())
        sums[f"hit@{k}"] = float((found > 0).to(torch.float64).sum())
        sums[f"precision@{k}"] = float((found / k).sum())
    return sums


def ranking_metrics(
    hits: torch.Tensor, n_relevant: torch.Tensor, ks: tuple[int, ...] = (10, 20)
) -> dict[str, float]:
    """Mean Recall, NDCG, Hit and Precision at each K over users.

    For a user with relevant (held-out) set T, ``hits[r]`` says whether the item
    ranked r+1 (r = 0..K-1) is in T:

        Recall@K    = |hits in top K| / |T|
        Precision@K = |hits in top K| / K
        Hit@K       = 1 if any hit in top K else 0
        DCG@K       = sum_{r=1..K} hit_r / log2(r + 1)
        IDCG@K      = sum_{r=1..min(|T|, K)} 1 / log2(r + 1)
        NDCG@K      = DCG@K / IDCG@K

    (the ideal ranking puts the user's own held-out items first, at most K of
    them; the original NGCF code took the ideal list from the *predicted* hits,
    which overstates NDCG.)

    Args:
        hits: (U, K_max) bool, row u = hits of user u's ranked list.
        n_relevant: (U,) int, |T| for each user; every entry must be >= 1.
        ks: cut-offs, each <= K_max.
    """
    if hits.shape[0] == 0:
        return {f"{m}@{k}": math.nan for k in ks for m in _NAMES}
    sums = _metric_sums(hits, n_relevant, ks)
    return {name: value / hits.shape[0] for name, value in sums.items()}


_NAMES = ("recall", "ndcg", "hit", "precision")


class RankingEvaluator:
    """Ranks all items for every user with held-out items and scores the top K.

    Items in the user's known history are excluded from the ranking (score set to
    -inf). Users are ranked in chunks of ``user_batch`` and, inside a chunk, items
    in blocks of ``item_batch``: each block's (users x D) @ (D x block) scores
    are masked (an index_put of the chunk's known pairs in that block), cut to
    their top K and merged into the chunk's running top K, so no (users x items)
    matrix is ever held. The result is the one ranking of all items at once (the
    scores are the same products, bit for bit); a 1,024 x 2,048 block stays in
    the cache, where a whole (1,024 x 272k) row of scores ran the product at half
    the speed and was read again from memory by ``topk``. Merging costs a
    ``topk`` per block on every row until a row's K-th best rarely moves, so
    below ``one_block_limit`` items (the original deployment's 27k) one block of
    all items is faster (0.6 against 0.8 CPU s there). The top-K items are then
    looked up with ``searchsorted`` in the sorted held-out pair keys. Index
    tensors are built once.

    With ``shortlist_dtype`` (early stopping: ``torch.bfloat16``), the item
    blocks are scored at that precision, which runs the product about three
    times as fast on CPUs with bfloat16 instructions, into a shortlist of
    ``shortlist`` best items per user; the shortlist is scored again in float32
    and its top K ranked. The result is the float32 ranking unless a true top-K
    item fell behind ``shortlist`` others through the coarse scores' rounding
    (about 1 part in 256). Used only above ``one_block_limit`` items: smaller
    catalogues rank exactly, as before.

    Args:
        known_users, known_items: (n,) int64 pairs to exclude (train at validation,
            train + valid at test).
        heldout_users, heldout_items: (m,) int64 pairs to find; pairs must be
            unique and disjoint from the known pairs.
        n_items: number of items ranked.
        ks: cut-offs reported.
        user_batch: users ranked together.
        item_batch: items scored together (memory: user_batch x item_batch)
            when there are more than ``one_block_limit`` items; all at once when
            there are fewer.
        shortlist_dtype: coarse precision of the block scores, or None (exact);
            only with more than ``one_block_limit`` items.
        shortlist: items per user kept from the coarse scores (at least K).
    """

    def __init__(
        self,
        known_users: torch.Tensor,
        known_items: torch.Tensor,
        heldout_users: torch.Tensor,
        heldout_items: torch.Tensor,
        n_items: int,
        ks: tuple[int, ...] = (10, 20),
        user_batch: int = 1024,
        item_batch: int = 2048,
        one_block_limit: int = 32768,
        shortlist_dtype: torch.dtype | None = None,
        shortlist: int = 32,
    ) -> None:
        self.n_items = n_items
        if n_items <= one_block_limit:
            item_batch = max(n_items, 1)
            shortlist_dtype = None
        self.item_batch = item_batch
        self.shortlist_dtype = shortlist_dtype
        self.ks = tuple(ks)
        self.max_k = max(self.ks)
        self.shortlist = max(shortlist, self.max_k)
        self.heldout_keys = torch.unique(heldout_users * n_items + heldout_items)
        self.users, self.n_relevant = torch.unique(heldout_users, return_counts=True)
        block_starts = torch.arange(0, n_items + item_batch, item_batch)
        block_starts[-1] = n_items
        # per user chunk: its users, then its known pairs as (local row, item)
        # sorted by item, with where each item block's pairs begin
        self.chunks: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, list]] = []
        for start in range(0, self.users.numel(), user_batch):
            chunk = self.users[start : start + user_batch]
            local = torch.full((int(chunk.max()) + 1,), -1, dtype=torch.int64)
            local[chunk] = torch.arange(chunk.numel())
            inside = known_users <= chunk.max()
            rows = local[known_users[inside]]
            cols = known_items[inside]
            keep = rows >= 0
            rows, cols = rows[keep], cols[keep]
            by_item = torch.argsort(cols)
            rows, cols = rows[by_item], cols[by_item]
            bounds = torch.searchsorted(cols, block_starts).tolist()
            self.chunks.append((chunk, rows, cols, bounds))

    @property
    def n_users(self) -> int:
        """Users evaluated (those with at least one held-out item)."""
        return int(self.users.numel())

    @torch.no_grad()
    def evaluate(
        self, user_embeddings: torch.Tensor, item_embeddings: torch.Tensor
    ) -> dict[str, float]:
        """Mean metrics over the users with held-out items.

        Args:
            user_embeddings: (n_users, D) final user embeddings.
            item_embeddings: (n_items, D) final item embeddings.
        """
        if self.n_users == 0:
            return ranking_metrics(
                torch.zeros(0, self.max_k, dtype=torch.bool), torch.zeros(0), self.ks
            )
        totals: dict[str, float] = {}
        coarse_items = None
        if self.shortlist_dtype is not None:
            coarse_items = item_embeddings.to(self.shortlist_dtype)
        for chunk, rows, cols, bounds in self.chunks:
            users = user_embeddings[chunk]
            if coarse_items is None:
                top = self._top_items(users, item_embeddings, rows, cols, bounds)[1]
            else:
                coarse_users = users.to(self.shortlist_dtype)
                shortlist = self._top_items(
                    coarse_users, coarse_items, rows, cols, bounds, self.shortlist
                )
                top = _rescored_top(users, item_embeddings, *shortlist, self.max_k)
            keys = chunk.unsqueeze(1) * self.n_items + top
            pos = torch.searchsorted(self.heldout_keys, keys)
            pos.clamp_(max=self.heldout_keys.numel() - 1)
            hits = self.heldout_keys[pos] == keys
            if hits.shape[1] < self.max_k:  # fewer items than K: the rest are misses
                hits = torch.nn.functional.pad(hits, (0, self.max_k - hits.shape[1]))
            n_rel = self.n_relevant[torch.searchsorted(self.users, chunk)]
            for name, value in _metric_sums(hits, n_rel, self.ks).items():
                totals[name] = totals.get(name, 0.0) + value
        return {name: value / self.n_users for name, value in totals.items()}

    def _top_items(
        self,
        users: torch.Tensor,
        items: torch.Tensor,
        rows: torch.Tensor,
        cols: torch.Tensor,
        bounds: list[int],
        k: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The scores and items (chunk, min(k, n_items)) of the best items of each
        of ``users`` (chunk, D), best first, among ``items`` (n_items, D) less the
        known pairs (``rows``, ``cols``: sorted by item, block b's from
        ``bounds[b]`` to ``bounds[b+1]``; their score -inf); k defaults to K.
        """
        k = min(self.max_k if k is None else k, self.n_items)
        best_scores = users.new_empty(users.shape[0], 0)
        best_items = torch.empty(users.shape[0], 0, dtype=torch.int64)
        for block, start in enumerate(range(0, self.n_items, self.item_batch)):
            scores = users @ items[start : start + self.item_batch].t()  # (chunk, b)
            lo, hi = bounds[block], bounds[block + 1]
            scores[rows[lo:hi], cols[lo:hi] - start] = -torch.inf
            if best_scores.shape[1] < k:  # the first blocks: every row merges
                best_scores, best_items = _merge_top(
                    best_scores, best_items, scores, start, k
                )
                continue
            # only rows with a score above their K-th best so far can change
            # (most rows, after the first blocks); topk is the costly part
            changed = (scores.amax(1) > best_scores[:, -1]).nonzero().squeeze(1)
            if changed.numel():
                best_scores[changed], best_items[changed] = _merge_top(
                    best_scores[changed], best_items[changed], scores[changed], start, k
                )
        return best_scores, best_items


def _rescored_top(
    users: torch.Tensor,
    items: torch.Tensor,
    coarse: torch.Tensor,
    shortlist: torch.Tensor,
    k: int,
) -> torch.Tensor:
    """(chunk, k) best of each row's ``shortlist`` (chunk, S) of items, best
    first, by the exact scores of ``users`` (chunk, D) and ``items`` (n, D); a
    known pair (``coarse`` score -inf) stays at -inf."""
    scores = torch.bmm(items[shortlist], users.unsqueeze(2)).squeeze(2)  # (chunk, S)
    scores[coarse == -torch.inf] = -torch.inf
    pick = torch.topk(scores, min(k, scores.shape[1]), dim=1).indices
    return shortlist.gather(1, pick)


def _merge_top(
    best_scores: torch.Tensor,
    best_items: torch.Tensor,
    scores: torch.Tensor,
    start: int,
    k: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The top ``k`` (best first) of each row's running best (``best_scores``,
    ``best_items``) and its ``scores`` of the items ``start, start + 1, ...``."""
    block_scores, block_items = torch.topk(
        scores, min(k, scores.shape[1]), dim=1, sorted=False
    )
    merged = torch.cat([best_scores, block_scores], 1)
    top_scores, pick = torch.topk(merged, min(k, merged.shape[1]), dim=1)
    top_items = torch.cat([best_items, block_items + start], 1).gather(1, pick)
    return top_scores, top_items
