"""The fold-in protocol as a library function, on a small parity world."""

import numpy as np
import pytest

from pytorch_models.data import Interactions
from pytorch_models.foldin import (
    METHODS,
    FoldinConfig,
    HeldOut,
    Quality,
    evaluate_foldin,
    rank_ease,
    rank_popular,
    ranking_quality,
    split_heldout_users,
)
from pytorch_models.ngcf import NGCFConfig
from pytorch_models.records import TrainConfig
from tests.worlds import parity_timeline

SMALL = FoldinConfig(
    train=TrainConfig(
        model=NGCFConfig(embedding_dim=8, layer_sizes=(8, 8)),
        batch_size=64,
        learning_rate=0.02,
        max_epochs=15,
        patience=5,
    ),
)


def parity_world() -> Interactions:
    """30 users over 40 items, each liking most of its parity, with timestamps."""
    users, items, stamps = (np.array(c) for c in zip(*parity_timeline(), strict=True))
    return Interactions(users, items, stamps.astype(np.float64))


def test_held_out_users_reveal_their_first_clicks():
    data = parity_world()
    pre, heldout = split_heldout_users(data, SMALL)
    assert len(heldout.users) == 6  # 20% of 30
    assert not set(pre.users.tolist()) & set(heldout.users)
    for user in heldout.users:
        rows = data.users == user
        order = np.lexsort((data.items[rows], data.timestamps[rows]))
        mine = data.items[rows][order]
        assert heldout.revealed[user].tolist() == mine[:10].tolist()
        assert heldout.targets[user].tolist() == mine[10:].tolist()


def test_ranking_quality_by_hand():
    heldout = HeldOut(
        revealed={1: np.array([9]), 2: np.array([9])},
        targets={1: np.array([5, 6]), 2: np.array([7])},
    )
    quality = ranking_quality({1: [5, 8], 2: [8, 4]}, heldout, k=2)
    # user 1: one of two found at rank 1; user 2: nothing
    assert quality.recall == pytest.approx(0.25)
    assert quality.ndcg == pytest.approx((1 / (1 + 1 / np.log2(3))) / 2)


def test_popularity_and_ease_exclude_the_revealed_items():
    data = parity_world()
    pre, heldout = split_heldout_users(data, SMALL)
    for ranked in (rank_popular(pre, heldout, 20), rank_ease(pre, heldout, 200, 20)):
        for user in heldout.users:
            assert len(ranked[user]) == 20
            assert not set(ranked[user]) & set(heldout.revealed[user].tolist())


def test_evaluate_foldin_compares_every_method():
    report = evaluate_foldin(parity_world(), SMALL, say=lambda _: None)
    assert set(report.methods) == set(METHODS)
    assert report.heldout_users == 6
    for quality in report.methods.values():
        assert 0 <= quality.recall <= 1 and 0 <= quality.ndcg <= 1
    # the visitor's own parity is everything here: fine-tuning finds it,
    # popularity (both parities alike) cannot
    assert report.methods["foldin"].ndcg > report.methods["popular"].ndcg
    assert report.ratio("foldin", "popular") == Quality(
        report.methods["foldin"].recall / report.methods["popular"].recall,
        report.methods["foldin"].ndcg / report.methods["popular"].ndcg,
    )
    markdown = report.markdown()
    for label in METHODS.values():
        assert f"| {label} |" in markdown
    data = report.to_dict()
    assert data["methods"]["foldin"]["ndcg@20"] == report.methods["foldin"].ndcg
    assert data["config"]["seed"] == 0 and data["config"]["train"]["seed"] == 0


def test_the_protocol_needs_timestamps():
    with pytest.raises(ValueError, match="timestamps"):
        split_heldout_users(Interactions.from_pairs([1, 2], [3, 4]), SMALL)
