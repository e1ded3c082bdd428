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

    Membership is a lookup in a packed bitmap of ``dense_limit`` bits (512 Mi,
    64 MiB by default; rounded down to a power of two) in which key k sets bit
    ``k mod dense_limit``. When every pair has its own bit (``n_users * n_items
    <= dense_limit``: the original deployment's 15k x 28k) the bitmap is the
    answer. Otherwise it is a filter: a clear bit means unknown, and only the
    draws that land on a set bit (the known pairs plus a share of about
    ``len(keys) / dense_limit`` of the others: 0.7% at ten times the original
    size) are looked up with ``searchsorted`` on the sorted keys, whose random
    probes cost several times more per draw than one bitmap read.
    ``dense_limit`` below 8 turns the bitmap off (``searchsorted`` for every draw).
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
        self.n_pairs = n_users * n_items  # keys below this are (user, item) pairs
        # bit (b & 7) of byte (b >> 3) is set for each known key, b = key & mask
        self.known_bits: torch.Tensor | None = None
        self.exact = False  # True: a bit per pair, the bitmap alone answers
        if dense_limit >= 8:
            n_bits = 1 << (dense_limit.bit_length() - 1)
            self.exact = self.n_pairs <= n_bits
            if self.exact:  # no more bytes than pairs need
                n_bits = 1 << max(3, (self.n_pairs - 1).bit_length())
            self.mask = n_bits - 1
            self.known_bits = _packed_bits(self.known_keys & self.mask, n_bits)

    def is_known(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Boolean tensor, True where (user, item) is a known pair (broadcasting)."""
        keys = users * self.n_items + items
        if self.known_bits is None:
            return self._in_keys(keys)
        bit = keys & self.mask
        byte = self.known_bits[bit >> 3]
        hit = ((byte >> (bit & 7).to(torch.uint8)) & 1).bool()
        if self.exact:
            return hit & (keys < self.n_pairs)
        flat_hit, flat_keys = hit.view(-1), keys.reshape(-1)
        candidates = flat_hit.nonzero().squeeze(1)
        flat_hit[candidates] = self._in_keys(flat_keys[candidates])
        return hit

    def _in_keys(self, keys: torch.Tensor) -> torch.Tensor:
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


def _packed_bits(positions: torch.Tensor, n_bits: int) -> torch.Tensor:
    """(n_bits / 8,) uint8 with bit (p & 7) of byte (p >> 3) set for each p."""
    bits = torch.zeros(n_bits // 8, dtype=torch.uint8)
    masks = torch.tensor([1 << b for b in range(8)], dtype=torch.uint8)
    for b in range(8):  # index_put with repeats cannot OR, so per bit
        bits[positions[positions & 7 == b] >> 3] |= masks[b]
    return bits
