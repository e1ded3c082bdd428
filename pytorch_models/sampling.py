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

    Membership is a lookup in a packed bitmap of all (user, item) pairs (one bit
    each) when ``n_users * n_items <= dense_limit`` (512 Mi pairs, 64 MiB by
    default: the original deployment's 15k x 28k fits), else ``searchsorted`` on
    the sorted keys, whose random probes cost several times more per draw.
    """

    def __init__(
        self,
        users: torch.Tensor,
        items: torch.Tensor,
        n_items: int,
        max_rounds: int = 16,
        dense_limit: int = 1 << 29,
    ) -> None:
        self.n_items = n_items
        self.max_rounds = max_rounds
        keys = users * n_items + items
        self.known_keys = torch.unique(keys)  # sorted int64
        n_users = int(users.max()) + 1 if users.numel() else 0
        # bit (key & 7) of byte (key >> 3) is set for each known pair
        self.known_bits: torch.Tensor | None = None
        if n_users * n_items <= dense_limit:
            bits = torch.zeros((n_users * n_items + 7) // 8, dtype=torch.uint8)
            masks = torch.tensor([1 << b for b in range(8)], dtype=torch.uint8)
            for b in range(8):  # index_put with repeats cannot OR, so per bit
                byte = self.known_keys[self.known_keys & 7 == b] >> 3
                bits[byte] |= masks[b]
            self.known_bits = bits

    def is_known(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Boolean tensor, True where (user, item) is a known pair (broadcasting)."""
        keys = users * self.n_items + items
        if self.known_bits is not None:
            inside = keys < self.known_bits.numel() * 8
            byte = self.known_bits[(keys >> 3).clamp_(max=self.known_bits.numel() - 1)]
            return ((byte >> (keys & 7).to(torch.uint8)) & 1).bool() & inside
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
