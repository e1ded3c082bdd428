import torch

from pytorch_models.bpr import bpr_loss, bpr_loss_reference
from pytorch_models.data import Interactions
from pytorch_models.graph import (
    build_normalized_adjacency,
    edge_dropout,
    undirected_edge_ids,
)
from pytorch_models.ngcf import NGCFConfig
from pytorch_models.sampling import NegativeSampler
from pytorch_models.training import TrainConfig, train_ngcf


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


def test_sparse_bpr_matches_autograd_reference():
    g = torch.Generator().manual_seed(1)
    users_t = torch.randn(7, 5, generator=g, requires_grad=True)
    items_t = torch.randn(9, 5, generator=g, requires_grad=True)
    users = torch.randint(7, (40,), generator=g)
    pos = torch.randint(9, (40,), generator=g)
    neg = torch.randint(9, (40, 3), generator=g)
    # 13 * 4 scored pairs fit in the 7 x 9 matrix: the sparse path; 40 x 4 don't.
    for n in (13, 40):
        fast = bpr_loss(users_t, items_t, users[:n], pos[:n], neg[:n])
        slow = bpr_loss_reference(users_t, items_t, users[:n], pos[:n], neg[:n])
        torch.testing.assert_close(fast, slow)
        grads_fast = torch.autograd.grad(fast * 3, [users_t, items_t])
        grads_slow = torch.autograd.grad(slow * 3, [users_t, items_t])
        for a, b in zip(grads_fast, grads_slow, strict=True):
            torch.testing.assert_close(a, b)


def test_sampler_never_returns_known_items():
    users = torch.tensor([0, 0, 0, 1])
    items = torch.tensor([0, 1, 2, 3])
    for dense_limit in (0, 1 << 20):  # searchsorted path and bitmap path
        sampler = NegativeSampler(users, items, n_items=5, dense_limit=dense_limit)
        g = torch.Generator().manual_seed(0)
        neg = sampler.sample(torch.tensor([0, 1] * 50), 4, g)
        assert neg.shape == (100, 4)
        assert set(neg[0::2].flatten().tolist()) == {3, 4}
        assert 3 not in set(neg[1::2].flatten().tolist())


def checkerboard(n_users=12, n_items=12, per_user=6):
    """Even users like even items, odd users like odd items.

    Each user's liked items (same parity) are split: the last one is test, the one
    before is valid, the rest train. Withheld items rotate with the user id.
    """
    train, valid, test = [], [], []
    for u in range(n_users):
        liked = [i for i in range(n_items) if i % 2 == u % 2]
        shift = (u // 2) % len(liked)
        liked = liked[shift:] + liked[:shift]
        train += [(u, i) for i in liked[: per_user - 2]]
        valid.append((u, liked[per_user - 2]))
        test.append((u, liked[per_user - 1]))

    def pack(pairs):
        return Interactions.from_pairs([p[0] for p in pairs], [p[1] for p in pairs])

    return pack(train), pack(valid), pack(test)


SMALL = TrainConfig(
    model=NGCFConfig(embedding_dim=16, layer_sizes=(16, 16), message_dropout=0.0),
    learning_rate=0.05,
    batch_size=16,
    num_negatives=2,
    max_epochs=40,
    patience=40,
    seed=0,
)


def test_checkerboard_withheld_item_ranks_first():
    train, valid, test = checkerboard()
    result = train_ngcf(train, valid, test, SMALL)
    model = result.model
    from pytorch_models.graph import build_normalized_adjacency as build

    adj = build(torch.from_numpy(train.users), torch.from_numpy(train.items), 12, 12)
    with torch.no_grad():
        user_emb, item_emb = model(adj)
    scores = user_emb @ item_emb.t()
    for pairs in (train, valid):
        scores[torch.from_numpy(pairs.users), torch.from_numpy(pairs.items)] = -1e9
    top = scores.argmax(1)
    assert top.tolist() == test.items.tolist()
    # one held-out item per user: NDCG@10 = 1 only if it ranks first for everyone
    assert result.metrics["test"]["ndcg@10"] == 1.0


def test_same_seed_same_result_and_other_seed_differs():
    train, valid, test = checkerboard()
    config = TrainConfig(
        model=NGCFConfig(embedding_dim=8, layer_sizes=(8,), message_dropout=0.2),
        batch_size=8,
        max_epochs=3,
        patience=5,
        edge_dropout=0.2,
    )
    torch.manual_seed(123)
    a = train_ngcf(train, valid, test, config)
    after_training = torch.rand(3)
    torch.manual_seed(123)
    assert torch.equal(torch.rand(3), after_training)  # caller's RNG untouched
    b = train_ngcf(train, valid, test, config)
    c = train_ngcf(train, valid, test, TrainConfig(**{**config.__dict__, "seed": 1}))
    for key, value in a.checkpoint["state_dict"].items():
        assert torch.equal(value, b.checkpoint["state_dict"][key])
    assert [r.loss for r in a.history] == [r.loss for r in b.history]
    assert not torch.equal(
        a.checkpoint["state_dict"]["user_embedding"],
        c.checkpoint["state_dict"]["user_embedding"],
    )


def test_message_dropout_rate_and_scale():
    from pytorch_models.ngcf import message_dropout

    torch.manual_seed(0)
    out = message_dropout(torch.ones(1000, 64), 0.3)
    zero_share = (out == 0).float().mean().item()
    assert abs(zero_share - 0.3) < 0.01
    torch.testing.assert_close(out[out != 0], torch.full_like(out[out != 0], 1 / 0.7))
