"""Vectorised uniform negative sampling for BPR."""

from __future__ import annotations

import torch

__all__ = ["NegativeSampler"]


class NegativeSampler:
    """Draws items a user has not interacted with, uniformly, in one batch.

    The known pairs are stored once as sorted keys ``user * n_items + item``.
    A draw is ``torch.randint`` over all items; draws that hit a known pair (found
    with ``searchsorted``) are redrawn, up to ``max_rounds`` times. With density
    rho the chance a slot is still a known item after r rounds is rho^r, so the
    default 16 rounds leave essentially none for any user below ~50% density; a
    user who knows every item keeps positives (there is nothing else to draw).

    Membership is a dense bitmap gather when ``n_users * n_items <= dense_limit``
    (64 MB of bool by default), else ``searchsorted`` on the sorted keys.
    """

    def __init__(
        self,
        users: torch.Tensor,
        items: torch.Tensor,
        n_items: int,
        max_rounds: int = 16,
        dense_limit: int = 1 << 26,
    ) -> None:
        self.n_items = n_items
        self.max_rounds = max_rounds
        keys = users * n_items + items
        self.known_keys = torch.unique(keys)  # sorted int64
        n_users = int(users.max()) + 1 if users.numel() else 0
        # A dense bitmap answers in one gather; use it while it is small.
        self.known_table: torch.Tensor | None = None
        if n_users * n_items <= dense_limit:
            self.known_table = torch.zeros(n_users * n_items, dtype=torch.bool)
            self.known_table[keys] = True

    def is_known(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Boolean tensor, True where (user, item) is a known pair (broadcasting)."""
        keys = users * self.n_items + items
        if self.known_table is not None:
            inside = keys < self.known_table.numel()
            return (
                self.known_table[keys.clamp(max=self.known_table.numel() - 1)] & inside
            )
        pos = torch.searchsorted(self.known_keys, keys)
        pos = pos.clamp_(max=self.known_keys.numel() - 1)
        return self.known_keys[pos] == keys

    def sample(
        self, users: torch.Tensor, count: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """(B, count) int64 negatives for the (B,) user indices ``users``."""
        shape = (users.numel(), count)
        negatives = torch.randint(self.n_items, shape, generator=generator)
        user_col = users.reshape(-1, 1).expand(shape)
        flat = negatives.view(-1)
        flat_users = user_col.reshape(-1)
        idx = self.is_known(flat_users, flat).nonzero().squeeze(1)
        for _ in range(self.max_rounds):
            if idx.numel() == 0:
                break
            flat[idx] = torch.randint(self.n_items, (idx.numel(),), generator=generator)
            idx = idx[self.is_known(flat_users[idx], flat[idx])]
        return negatives
