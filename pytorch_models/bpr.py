"""BPR loss with several sampled negatives, as sparse-dense products."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pytorch_models.graph import sparse_dense_mm

__all__ = ["bpr_loss", "bpr_loss_reference", "pair_scores"]


def _pattern(
    rows: torch.Tensor, cols: torch.Tensor, values: torch.Tensor, shape: tuple[int, int]
) -> torch.Tensor:
    """CSR matrix from entries whose ``rows`` are already sorted (duplicates kept)."""
    crow = torch.zeros(shape[0] + 1, dtype=torch.int64)
    torch.cumsum(torch.bincount(rows, minlength=shape[0]), 0, out=crow[1:])
    return torch.sparse_csr_tensor(crow, cols, values, shape, check_invariants=False)


def pair_scores(
    user_table: torch.Tensor,
    item_table: torch.Tensor,
    users: torch.Tensor,
    items: torch.Tensor,
    user_block: int = 16384,
    cached_bytes: int = 64 << 20,
) -> torch.Tensor:
    """(B, m) scores ``<e_u, e_i>`` of each user in ``users`` (B,) with its row of
    ``items`` (B, m), without gradient, computing only those B m dot products.

    Pairs are scored by ``sampled_addmm`` over a pattern sorted by user, unless
    the item table is larger than ``cached_bytes``: then in blocks of
    ``user_block`` consecutive user rows (16 MiB of a 256-wide table), item-major
    inside a block, one ``sampled_addmm`` per block reading the item rows in
    order and the block's user rows from the cache. Hard-negative candidates
    are uniform items, so the user-major order reads one random 1 KiB item row
    per score at memory latency once the table has left the cache (ten times
    the original size: 1.9 against 2.3 CPU s per step); below that the sort it
    takes costs more than it saves. Both give the same products, bit for bit.
    """
    batch, m = items.shape
    if batch * m > user_table.shape[0] * item_table.shape[0]:  # toy sizes
        with torch.no_grad():
            return (item_table[items] * user_table[users].unsqueeze(1)).sum(-1)
    if item_table.numel() * item_table.element_size() <= cached_bytes:
        return _user_major_scores(user_table, item_table, users, items)
    # one sort on (user block, item, user in block) gives the order and, from
    # the sorted keys themselves, the rows and columns (no gathers by the order)
    n_rows = item_table.shape[0]
    key = (users // user_block * n_rows).unsqueeze(1) + items
    key = key.mul_(user_block).add_((users % user_block).unsqueeze(1)).view(-1)
    key, order = torch.sort(key)
    local_user = key % user_block
    block_item = key // user_block
    by_item = block_item % n_rows
    bounds = [0, *torch.cumsum(torch.bincount(block_item // n_rows), 0).tolist()]
    scores = item_table.new_empty(batch * m)
    with torch.no_grad():
        for block, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            if lo == hi:
                continue
            first = block * user_block
            block_users = user_table[first : first + user_block].detach()
            pattern = _pattern(
                by_item[lo:hi],
                local_user[lo:hi],
                item_table.new_ones(hi - lo),
                (n_rows, block_users.shape[0]),
            )
            scores[order[lo:hi]] = torch.sparse.sampled_addmm(
                pattern, item_table.detach(), block_users.t(), beta=0.0
            ).values()
    return scores.view(batch, m)


def _user_major_scores(
    user_table: torch.Tensor,
    item_table: torch.Tensor,
    users: torch.Tensor,
    items: torch.Tensor,
) -> torch.Tensor:
    """:func:`pair_scores` by one ``sampled_addmm`` over a user-sorted pattern."""
    batch, m = items.shape
    order = torch.argsort(users)
    rows = users[order].repeat_interleave(m)
    pattern = _pattern(
        rows,
        items[order].reshape(-1),
        user_table.new_ones(rows.numel()),
        (user_table.shape[0], item_table.shape[0]),
    )
    with torch.no_grad():
        sorted_scores = torch.sparse.sampled_addmm(
            pattern, user_table.detach(), item_table.detach().t(), beta=0.0
        ).values()
    scores = torch.empty_like(sorted_scores).view(batch, m)
    scores[order] = sorted_scores.view(batch, m)
    return scores


class _SparseBPR(torch.autograd.Function):
    """Loss and table gradients of BPR with sparse kernels, no (B, k+1, D) gather.

    The B (k+1) scored pairs form a sparse pattern P over users x items. Scores
    are ``sampled_addmm(P, U, I^T)`` (only the needed dot products); with C the
    matrix of d loss / d score on the same pattern, the table gradients are
    ``C @ I`` and ``C^T @ U`` (CSR times dense). Gathering rows instead moves
    every (k+1) x D block through memory about ten times and was 2-3x slower on
    one CPU thread. The gradient is computed in the forward pass; ``backward``
    only scales it.
    """

    @staticmethod
    def forward(ctx, user_table, item_table, users, positives, negatives, scores):
        # the arguments of bpr_loss
        batch, k = negatives.shape
        n_users, n_items = user_table.shape[0], item_table.shape[0]
        order = torch.argsort(users)  # loss is order-free; CSR rows need sorting
        rows = users[order].repeat_interleave(k + 1)
        cols = torch.cat([positives[order].unsqueeze(1), negatives[order]], 1).view(-1)
        if scores is not None:
            scores = scores[order]
        else:
            pattern = _pattern(
                rows, cols, user_table.new_ones(rows.numel()), (n_users, n_items)
            )
            scores = (
                torch.sparse.sampled_addmm(
                    pattern, user_table.detach(), item_table.detach().t(), beta=0.0
                )
                .values()
                .view(batch, k + 1)
            )
        diff = scores[:, 1:] - scores[:, :1]  # s_uj - s_ui, (B, k)
        scale = 1.0 / (batch * k)
        loss = F.softplus(diff).sum() * scale
        sig = torch.sigmoid(diff).mul_(scale)  # d loss / d s_uj
        coef = torch.cat([-sig.sum(1, keepdim=True), sig], 1).view(-1)  # (B (k+1),)
        by_item = torch.argsort(cols)
        if user_table is item_table:
            ctx.save_for_backward(
                _one_table_gradient(rows, cols, coef, by_item, user_table)
            )
            return loss
        grad_user = sparse_dense_mm(
            _pattern(rows, cols, coef, (n_users, n_items)), item_table.detach()
        )
        grad_item = sparse_dense_mm(
            _pattern(cols[by_item], rows[by_item], coef[by_item], (n_items, n_users)),
            user_table.detach(),
        )
        ctx.save_for_backward(grad_user, grad_item)
        return loss

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        grads = [
            g if float(grad_output) == 1.0 else g * grad_output  # skip a (N, D) pass
            for g in ctx.saved_tensors
        ]
        if len(grads) == 1:  # one table: its whole gradient is the first's
            return grads[0], None, None, None, None, None
        return grads[0], grads[1], None, None, None, None


def _one_table_gradient(
    rows: torch.Tensor,
    cols: torch.Tensor,
    coef: torch.Tensor,
    by_col: torch.Tensor,
    table: torch.Tensor,
) -> torch.Tensor:
    """``(C + C^T) @ T`` for users and items that are rows of one table T.

    C holds ``coef`` at (rows, cols), rows sorted and ``cols[by_col]`` sorted.
    One CSR product instead of two, and no (N, D) sum of the two gradients.
    When every column follows every row (items stored after users) the two
    sorted halves are already in order; otherwise they are sorted together.
    """
    both_rows = torch.cat([rows, cols[by_col]])
    both_cols = torch.cat([cols, rows[by_col]])
    both_coef = torch.cat([coef, coef[by_col]])
    if rows.numel() and int(rows[-1]) > int(cols[by_col[0]]):
        order = torch.argsort(both_rows, stable=True)
        both_rows, both_cols, both_coef = (
            both_rows[order],
            both_cols[order],
            both_coef[order],
        )
    n = table.shape[0]
    return sparse_dense_mm(
        _pattern(both_rows, both_cols, both_coef, (n, n)), table.detach()
    )


def bpr_loss(
    user_table: torch.Tensor,
    item_table: torch.Tensor,
    users: torch.Tensor,
    positives: torch.Tensor,
    negatives: torch.Tensor,
    scores: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean BPR loss of a batch, from the full user and item embedding tables.

    With ``s_ui = <e_u, e_i>``, for each positive pair (u, i) of the batch and each
    of its k sampled negatives j:

        loss = 1/(B k) * sum_{(u,i)} sum_j softplus(s_uj - s_ui)
             = -mean log sigmoid(s_ui - s_uj)

    so d loss / d s_uj = sigmoid(s_uj - s_ui) / (B k) and d loss / d s_ui = minus
    the sum of those over j. Same value and gradients as
    :func:`bpr_loss_reference`, computed with sparse kernels (:class:`_SparseBPR`).

    Args:
        user_table: (n_users, D) final user embeddings.
        item_table: (n_items, D) final item embeddings.
        users, positives: (B,) int64 indices; negatives: (B, k) int64.
        scores: (B, 1 + k) the current ``s_ui`` then ``s_uj`` of each pair, when
            the caller has already computed them (the hard-negative draw does):
            they are then not computed again. Never differentiated through.
    """
    if (
        users.numel() * (negatives.shape[1] + 1)
        > user_table.shape[0] * item_table.shape[0]
    ):
        # sampled_addmm rejects patterns with more entries than the dense matrix
        # (possible only for toy sizes); gathering is cheap there anyway.
        pairs = torch.cat([positives.unsqueeze(1), negatives], dim=1)
        return bpr_loss_reference(user_table[users], item_table[pairs])
    if scores is not None:
        scores = scores.detach()
    return _SparseBPR.apply(user_table, item_table, users, positives, negatives, scores)


def bpr_loss_reference(users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
    """:func:`bpr_loss` by plain autograd on gathered rows: ``users`` (B, D) are
    the batch's user embeddings, ``items`` (B, 1 + k, D) each user's positive
    item and then its k negatives. Used for toy sizes and as the tests' reference.
    """
    scores = (items * users.unsqueeze(1)).sum(-1)  # (B, 1 + k)
    return F.softplus(scores[:, 1:] - scores[:, :1]).mean()
