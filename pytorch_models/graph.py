"""The normalised bipartite user-item graph NGCF propagates over."""

from __future__ import annotations

import warnings

import torch

__all__ = [
    "build_normalized_adjacency",
    "edge_dropout",
    "sparse_dense_mm",
    "symmetric_spmm",
    "undirected_edge_ids",
]


def build_normalized_adjacency(
    users: torch.Tensor, items: torch.Tensor, n_users: int, n_items: int
) -> torch.Tensor:
    """Build ``A_hat = D^-1/2 A D^-1/2`` of the bipartite graph as a CSR tensor.

    Nodes are ``0..n_users-1`` (users) followed by ``n_users..n_users+n_items-1``
    (items). For each interaction (u, i) the symmetric adjacency ``A`` has
    ``A[u, n_users + i] = A[n_users + i, u] = 1``; ``D`` is the diagonal degree
    matrix with degrees clamped to >= 1 so isolated nodes give 0 rows, not NaN:

        A_hat[a, b] = 1 / sqrt(max(deg a, 1) * max(deg b, 1))   for each edge (a, b)

    Args:
        users: (n,) int64 user indices in ``[0, n_users)``; pairs must be unique.
        items: (n,) int64 item indices in ``[0, n_items)``.

    Returns:
        (N, N) float32 ``torch.sparse_csr`` tensor, N = n_users + n_items, with
        columns sorted inside each row.
    """
    n_nodes = n_users + n_items
    rows = torch.cat([users, items + n_users])
    cols = torch.cat([items + n_users, users])
    degree = torch.bincount(rows, minlength=n_nodes).clamp(min=1).to(torch.float32)
    values = degree[rows].rsqrt() * degree[cols].rsqrt()
    order = torch.argsort(rows * n_nodes + cols)
    rows, cols, values = rows[order], cols[order], values[order]
    crow = torch.zeros(n_nodes + 1, dtype=torch.int64)
    crow[1:] = torch.cumsum(torch.bincount(rows, minlength=n_nodes), 0)
    with warnings.catch_warnings():
        # torch warns once per process that sparse CSR is "beta"; it is what we want.
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support")
        return torch.sparse_csr_tensor(
            crow, cols, values, (n_nodes, n_nodes), check_invariants=False
        )


def undirected_edge_ids(adjacency: torch.Tensor) -> torch.Tensor:
    """For each stored entry of a symmetric CSR matrix, the id of its undirected edge.

    Entries (a, b) and (b, a) get the same id in ``[0, n_edges)``. Computed once
    per graph so that :func:`edge_dropout` costs one random draw per edge.
    """
    crow = adjacency.crow_indices()
    col = adjacency.col_indices()
    n = crow.numel() - 1
    row = torch.repeat_interleave(torch.arange(n), crow[1:] - crow[:-1])
    pair = torch.minimum(row, col) * n + torch.maximum(row, col)
    return torch.unique(pair, return_inverse=True)[1]


def edge_dropout(
    adjacency: torch.Tensor,
    edge_ids: torch.Tensor,
    rate: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Drop undirected edges of a symmetric CSR matrix with probability ``rate``.

    NGCF's "node dropout" (the original code drops entries of the normalised
    adjacency). Both directions of an edge share one Bernoulli draw, so the result
    stays symmetric, as :func:`symmetric_spmm` requires. Kept values are scaled by
    ``1 / (1 - rate)``; the sparsity structure is unchanged (dropped entries hold
    0), so nothing is re-indexed.

    Args:
        edge_ids: (nnz,) from :func:`undirected_edge_ids` for this matrix.
    """
    if rate <= 0:
        return adjacency
    n_edges = int(edge_ids.max()) + 1 if edge_ids.numel() else 0
    keep = torch.rand(n_edges, generator=generator) >= rate
    values = adjacency.values() * keep[edge_ids].to(adjacency.dtype) / (1.0 - rate)
    return torch.sparse_csr_tensor(
        adjacency.crow_indices(),
        adjacency.col_indices(),
        values,
        adjacency.shape,
        check_invariants=False,
    )


def sparse_dense_mm(sparse: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """``sparse @ dense`` for a CSR ``sparse``, written straight into a new tensor.

    ``sparse @ dense`` on CPU fills a zero matrix, copies it into the result
    and only then runs MKL's product with beta = 1; ``addmm`` with beta = 0 into
    an uninitialised ``out`` (which beta = 0 ignores, NaN included) skips both
    passes over the (rows, width) result, about 15% of each product.
    """
    out = dense.new_empty(sparse.shape[0], dense.shape[1])
    return torch.addmm(out, sparse, dense, beta=0, out=out)


class _SymmetricSparseMatmul(torch.autograd.Function):
    """``A @ X`` for a symmetric sparse ``A``, whose backward is ``A @ grad``.

    Since ``A^T = A``, the gradient with respect to X is ``A @ dY``: the same
    CSR kernel as the forward, about 2.5x faster than autograd's generic sparse
    backward (which transposes the CSR matrix every step).
    """

    @staticmethod
    def forward(ctx, adjacency: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        ctx.adjacency = adjacency
        return sparse_dense_mm(adjacency, x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[None, torch.Tensor]:
        return None, sparse_dense_mm(ctx.adjacency, grad)


def symmetric_spmm(adjacency: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``adjacency @ x`` for a symmetric sparse matrix, with a cheap backward."""
    return _SymmetricSparseMatmul.apply(adjacency, x)
