from dataclasses import replace

import numpy as np
import pytest
import torch

from pytorch_models.checkpoint import load_checkpoint
from pytorch_models.data import Interactions, align_to_train, split_per_user
from pytorch_models.graph import build_normalized_adjacency
from pytorch_models.ngcf import NGCFConfig
from pytorch_models.records import TrainConfig
from pytorch_models.sampling import NegativeSampler
from pytorch_models.training import (
    EpochReport,
    _draw_negatives,
    epoch_batch_size,
    save_training_curve,
    train_ngcf,
    validation_sample,
)
from tests.worlds import parity_split, small_config

METRIC_KEYS = {"recall@10", "recall@20", "ndcg@10", "ndcg@20", "hit@10", "precision@10"}


def clustered(n_users=60, n_items=80, per_user=12, seed=0):
    """Users in 4 groups, each group drawing its items mostly from its own quarter."""
    rng = np.random.default_rng(seed)
    users, items = [], []
    for u in range(n_users):
        group = u % 4
        own = np.arange(group * 20, group * 20 + 20)
        chosen = rng.choice(own, size=per_user - 2, replace=False).tolist()
        chosen += rng.choice(n_items, size=2, replace=False).tolist()
        for i in dict.fromkeys(chosen):
            users.append(u)
            items.append(i)
    return Interactions.from_pairs(users, items)


def test_short_end_to_end_training(tmp_path):
    split, _ = split_per_user(clustered(), seed=0)
    reports: list[EpochReport] = []
    config = TrainConfig(
        model=NGCFConfig(embedding_dim=16, layer_sizes=(16, 16)),
        learning_rate=0.01,
        batch_size=64,
        max_epochs=25,
        patience=5,
    )
    result = train_ngcf(
        split.train, split.valid, split.test, config, progress=reports.append
    )
    m = result.metrics
    assert set(m.valid) >= METRIC_KEYS
    assert set(m.test) >= METRIC_KEYS
    assert m.train_seconds_per_epoch > 0 and m.train_seconds >= m.selection_seconds
    assert result.checkpoint.train_config == config
    assert result.checkpoint.metrics == m
    selection = [r for r in reports if r.phase == "select"]
    refit = [r for r in reports if r.phase == "refit"]
    assert reports == selection + refit
    assert [r.epoch for r in selection] == list(range(1, m.epochs + 1))
    assert all(r.seconds > 0 and r.valid_recall_at_20 is not None for r in selection)
    # the refit trains train + valid from scratch for the best epoch count
    assert [r.epoch for r in refit] == list(range(1, m.best_epoch + 1))
    assert m.refit_epochs == m.best_epoch
    assert all(r.valid_recall_at_20 is None for r in refit)
    assert m.n_graph_edges == len(split.train) + len(split.valid)
    degree = result.checkpoint.item_degree
    assert int(degree.sum()) == m.n_graph_edges
    reports = selection
    best = max(r.valid_recall_at_20 for r in reports)
    assert m.valid["recall@20"] == pytest.approx(best)
    assert reports[m.best_epoch - 1].valid_recall_at_20 == pytest.approx(best)
    # early stopping: stopped `patience` evaluations after the best one, or at the cap
    assert m.epochs in (m.best_epoch + config.patience, config.max_epochs)
    assert reports[-1].loss < reports[0].loss
    assert refit[-1].loss < refit[0].loss
    # well above the random-ranking level (20 of 80 items -> recall@20 ~ 0.25)
    assert m.test["recall@20"] > 0.5
    png = save_training_curve(result.history, tmp_path / "curve.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_validation_data_the_last_epoch_is_kept():
    split, _ = split_per_user(clustered(), seed=0)
    empty = Interactions.from_pairs([], [])
    config = TrainConfig(
        model=NGCFConfig(embedding_dim=8, layer_sizes=(8,)),
        batch_size=64,
        max_epochs=4,
        patience=1,
    )
    result = train_ngcf(split.train, empty, split.test, config)
    assert result.metrics.epochs == 4
    assert result.metrics.best_epoch == 4
    assert result.metrics.refit_epochs == 0  # nothing to add to the graph
    assert result.metrics.test["recall@20"] > 0


def test_hard_negatives_are_the_best_scored_unseen_candidates():
    # 2 users, 6 items; user 0 knows items 0 and 1
    users_known = torch.tensor([0, 0, 1])
    items_known = torch.tensor([0, 1, 2])
    sampler = NegativeSampler(users_known, items_known, 6)
    user_final = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # item j scores j for user 0 and -j for user 1
    item_final = torch.stack([torch.arange(6.0), -torch.arange(6.0)], 1)
    users = torch.tensor([0, 1] * 200)
    config = TrainConfig(num_negatives=3, negative_pool=4)
    generator = torch.Generator().manual_seed(0)
    positives = torch.tensor([0, 2] * 200)
    negatives, scores = _draw_negatives(
        sampler, user_final, item_final, users, positives, config, generator
    )
    assert negatives.shape == (400, 3)
    assert not sampler.is_known(users.unsqueeze(1), negatives).any()
    # the hardest unseen item is among 4 uniform candidates with probability
    # 1 - (3/4)^4 = 0.68 for user 0 (4 unseen items) and 1 - (4/5)^4 = 0.59 for
    # user 1 (5 unseen items); a uniform draw is it 1/4 or 1/5 of the time
    assert (negatives[0::2] == 5).float().mean() > 0.6  # user 0: highest id
    assert (negatives[1::2] == 0).float().mean() > 0.5  # user 1: lowest id
    # the scores of each positive, then of its chosen negatives
    pairs = torch.cat([positives.unsqueeze(1), negatives], 1)
    expected = (item_final[pairs] * user_final[users].unsqueeze(1)).sum(-1)
    torch.testing.assert_close(scores, expected)
    uniform, no_scores = _draw_negatives(
        sampler,
        user_final,
        item_final,
        users,
        positives,
        TrainConfig(num_negatives=3, negative_pool=1),
        torch.Generator().manual_seed(0),
    )
    assert no_scores is None
    assert (uniform[0::2] == 5).float().mean() < 0.4


TINY = TrainConfig(model=NGCFConfig(embedding_dim=8, layer_sizes=(8,)), batch_size=64)


def test_without_refit_the_best_epoch_weights_are_the_result():
    split, _ = split_per_user(clustered(), seed=0)
    config = replace(TINY, max_epochs=6, patience=2, refit=False)
    reports: list[EpochReport] = []
    result = train_ngcf(
        split.train, split.valid, split.test, config, progress=reports.append
    )
    assert result.metrics.refit_epochs == 0
    assert all(r.phase == "select" for r in reports)
    assert int(result.checkpoint.item_degree.sum()) == len(split.train)


SMALL = small_config(16, batch_size=16, max_epochs=40, num_negatives=2, seed=0)


@pytest.mark.parametrize(
    ("steps_per_epoch", "hub_order"), [(6, True), (1, True), (6, False)]
)
def test_checkerboard_withheld_item_ranks_first(steps_per_epoch, hub_order):
    """48 training pairs: batches of 16 (3 steps per epoch), and the same world
    with the step cap at 1 (one batch of all 48 pairs per epoch); trained in
    the hub order and in id order, the result's rows are the original ids'."""
    train, valid, test = parity_split(12, 12, n_train=4)
    config = replace(SMALL, steps_per_epoch=steps_per_epoch, hub_order=hub_order)
    assert epoch_batch_size(len(train), config) == (16 if steps_per_epoch == 6 else 48)
    result = train_ngcf(train, valid, test, config)
    model = result.model
    adj = build_normalized_adjacency(
        torch.from_numpy(train.users), torch.from_numpy(train.items), 12, 12
    )
    with torch.no_grad():
        user_emb, item_emb = model(adj)
    scores = user_emb @ item_emb.t()
    for pairs in (train, valid):
        scores[torch.from_numpy(pairs.users), torch.from_numpy(pairs.items)] = -1e9
    top = scores.argmax(1)
    assert top.tolist() == test.items.tolist()
    # one held-out item per user: NDCG@10 = 1 only if it ranks first for everyone
    assert result.metrics.test["ndcg@10"] == 1.0


def test_same_seed_same_result_and_other_seed_differs():
    train, valid, test = parity_split(12, 12, n_train=4)
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
    c = train_ngcf(train, valid, test, replace(config, seed=1))
    for key, value in a.checkpoint.state_dict.items():
        assert torch.equal(value, b.checkpoint.state_dict[key])
    assert [r.loss for r in a.history] == [r.loss for r in b.history]
    assert not torch.equal(
        a.checkpoint.state_dict["user_embedding"],
        c.checkpoint.state_dict["user_embedding"],
    )


def test_refit_runs_the_best_epoch_count_without_validation():
    """The refit runs the best epoch count, without validation."""
    split, _ = split_per_user(clustered(), seed=0)
    config = TrainConfig(
        model=NGCFConfig(embedding_dim=8, layer_sizes=(8,)),
        batch_size=64,
        max_epochs=5,
        patience=5,
    )
    reports: list[EpochReport] = []
    train_ngcf(split.train, split.valid, split.test, config, progress=reports.append)
    selection = [r for r in reports if r.phase == "select"]
    refit = [r for r in reports if r.phase == "refit"]
    assert len(refit) == refit[0].best_epoch == selection[-1].best_epoch
    assert [r.epoch for r in refit] == list(range(1, len(refit) + 1))
    assert all(r.valid is None for r in refit)


def test_batches_grow_so_steps_per_epoch_stay_capped():
    config = TrainConfig(batch_size=100, steps_per_epoch=4)
    assert epoch_batch_size(250, config) == 100  # 3 steps, under the cap
    assert epoch_batch_size(400, config) == 100  # exactly 4 steps
    assert epoch_batch_size(401, config) == 101  # 4 steps of up to 101
    assert epoch_batch_size(10_000_000, config) == 2_500_000
    # ml-100k: 4 selection steps of 20,000 and 4 refit steps of 22,500
    default = TrainConfig()
    assert epoch_batch_size(80_000, default) == 20_000
    assert epoch_batch_size(90_000, default) == 22_500
    assert epoch_batch_size(40_000, default) == 16_384  # 3 steps: the minimum
    with pytest.raises(ValueError, match="steps_per_epoch"):
        TrainConfig(steps_per_epoch=0)


def test_validation_sample_is_fixed_by_its_seed():
    users = torch.arange(500).repeat_interleave(3)
    items = torch.arange(1500) % 97
    a = validation_sample(users, items, size=50, seed=7)
    b = validation_sample(users, items, size=50, seed=7)
    c = validation_sample(users, items, size=50, seed=8)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert torch.unique(a[0]).numel() == 50
    assert not torch.equal(a[0], c[0])
    # every pair of a chosen user is kept, and only pairs that were there
    assert a[0].numel() == 150
    kept = set(zip(a[0].tolist(), a[1].tolist(), strict=True))
    assert kept <= set(zip(users.tolist(), items.tolist(), strict=True))
    # at most `size` users: the whole set, unchanged
    whole = validation_sample(users, items, size=500, seed=7)
    assert torch.equal(whole[0], users) and torch.equal(whole[1], items)


def test_training_validates_on_the_sample():
    split, _ = split_per_user(clustered(), seed=0)
    config = replace(TINY, max_epochs=2, refit=False, valid_users=10)
    reports: list[EpochReport] = []
    result = train_ngcf(
        split.train, split.valid, split.test, config, progress=reports.append
    )
    assert result.metrics.n_valid_users == 10
    assert result.metrics.n_test_users == 60  # the test ranks everyone
    assert all(0 < r.valid_seconds < r.seconds for r in reports)


def skewed(n_users=40, n_items=50, seed=0):
    """Users of 2 groups with 3 to 14 items each, item popularity falling with
    the id inside a group, so that the hub order is far from the id order."""
    rng = np.random.default_rng(seed)
    users, items = [], []
    for u in rng.permutation(n_users):
        own = np.arange(u % 2, n_items, 2)
        weight = 1.0 / np.arange(1, own.size + 1)
        size = 3 + int(u) % 12
        chosen = rng.choice(own, size=size, replace=False, p=weight / weight.sum())
        users += [int(u)] * size
        items += chosen.tolist()
    return Interactions.from_pairs(users, items)


def _relabel(part: Interactions, users: dict, items: dict) -> Interactions:
    return Interactions.from_pairs(
        [users[u] for u in part.users.tolist()], [items[i] for i in part.items.tolist()]
    )


def test_hub_order_is_training_on_ids_relabelled_by_degree(tmp_path):
    """Training in the hub order gives, row for row of the original ids, the
    model of training in id order on ids renumbered by descending degree: the
    saved rows mean the original ids, and only the numbering changed."""
    split, _ = split_per_user(skewed(), seed=0)
    parts = (split.train, *align_to_train(split.train, split.valid, split.test)[:2])
    config = replace(TINY, max_epochs=4, patience=4, edge_dropout=0.2)
    hub = train_ngcf(*parts, config).checkpoint
    hub = load_checkpoint(hub.save(tmp_path / "hub.pt"))  # as the site reads it
    # the relabelling: rank by descending train degree, ties by id
    pairs = np.unique(np.stack([split.train.users, split.train.items]), axis=1)
    relabel = {}
    for kind, ids in (("users", pairs[0]), ("items", pairs[1])):
        raw, degree = np.unique(ids, return_counts=True)
        by_degree = raw[np.argsort(-degree, kind="stable")]
        relabel[kind] = {int(r): 1000 + rank for rank, r in enumerate(by_degree)}
    assert list(relabel["users"]) != sorted(relabel["users"])  # not the id order
    assert list(relabel["items"]) != sorted(relabel["items"])
    train, valid, test = (
        _relabel(part, relabel["users"], relabel["items"]) for part in parts
    )
    plain = train_ngcf(train, valid, test, replace(config, hub_order=False)).checkpoint
    # the hub-trained checkpoint is in the original (sorted) ids
    assert hub.user_ids.tolist() == sorted(relabel["users"])
    assert hub.item_ids.tolist() == sorted(relabel["items"])
    user_rows = [relabel["users"][u] - 1000 for u in hub.user_ids.tolist()]
    item_rows = [relabel["items"][i] - 1000 for i in hub.item_ids.tolist()]
    state, other = hub.state_dict, plain.state_dict
    torch.testing.assert_close(
        state["user_embedding"], other["user_embedding"][user_rows]
    )
    torch.testing.assert_close(
        state["item_embedding"], other["item_embedding"][item_rows]
    )
    for key in state.keys() - {"user_embedding", "item_embedding"}:
        torch.testing.assert_close(state[key], other[key])
    for mine, theirs in zip(
        hub.item_layer_embeddings, plain.item_layer_embeddings, strict=True
    ):
        torch.testing.assert_close(mine, theirs[item_rows])
    torch.testing.assert_close(
        hub.item_neighbour_embeddings, plain.item_neighbour_embeddings[item_rows]
    )
    assert torch.equal(hub.item_degree, plain.item_degree[item_rows])
    assert hub.metrics.test == pytest.approx(plain.metrics.test)
