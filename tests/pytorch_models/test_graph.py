import torch

from pytorch_models.graph import (
    build_normalized_adjacency,
    edge_dropout,
    symmetric_spmm,
    undirected_edge_ids,
)


def test_adjacency_is_symmetric_normalised():
    # user 0: items 0, 1; user 1: item 1. Degrees: u0 2, u1 1, i0 1, i1 2.
    adj = build_normalized_adjacency(
        torch.tensor([0, 0, 1]), torch.tensor([0, 1, 1]), n_users=2, n_items=3
    ).to_dense()
    expected = torch.zeros(5, 5)
    for u, i, value in [(0, 0, 2**-0.5), (0, 1, 0.5), (1, 1, 2**-0.5)]:
        expected[u, 2 + i] = expected[2 + i, u] = value
    torch.testing.assert_close(adj, expected)  # item 2 has degree 0: a zero row


def test_edge_dropout_stays_symmetric():
    g = torch.Generator().manual_seed(0)
    users = torch.randint(20, (200,))
    items = torch.randint(30, (200,))
    keys = torch.unique(users * 30 + items)
    adj = build_normalized_adjacency(keys // 30, keys % 30, 20, 30)
    dropped = edge_dropout(adj, undirected_edge_ids(adj), 0.5, g).to_dense()
    torch.testing.assert_close(dropped, dropped.t())
    kept = (dropped != 0).sum().item()
    assert 0 < kept < adj.values().numel()


def test_symmetric_spmm_gradient_is_the_dense_one():
    adj = build_normalized_adjacency(
        torch.tensor([0, 0, 1]), torch.tensor([0, 1, 1]), n_users=2, n_items=2
    )
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
    fast = x.clone().requires_grad_()
    dense = x.clone().requires_grad_()
    (symmetric_spmm(adj, fast) ** 2).sum().backward()
    ((adj.to_dense() @ dense) ** 2).sum().backward()
    torch.testing.assert_close(fast.grad, dense.grad)
