"""The graded fold-in protocol as a library function, on a small parity world
whose visitors also disliked a few movies of the other parity."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from pytorch_models.data import Interactions
from pytorch_models.foldin import FoldinConfig, HeldOut
from pytorch_models.foldin_graded import (
    GRADED_METHODS,
    UNGRADED_METHODS,
    GradedFoldinConfig,
    evaluate_foldin_graded,
    graded_heldout,
)
from pytorch_models.ngcf.predictor import FinetuneConfig
from pytorch_models.ngcf.signals import GradedSignals
from tests.worlds import parity_timeline, small_config

DISLIKES = 3  # one-star movies of the other parity, each user's first events

SMALL = GradedFoldinConfig(
    protocol=FoldinConfig(train=small_config(8, batch_size=64, max_epochs=15)),
    seeds=(0, 1),
    # four stars or more a like, anything less a dislike
    graded=FinetuneConfig(signals=GradedSignals(star_weights=((4.0, 1.0), (0, -1)))),
)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """One torch thread: these tiny models run faster alone, and the machine's
    other cores stay free."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def graded_world() -> tuple[Interactions, np.ndarray]:
    """The parity timeline rated 4 or 5 stars, after three one-star movies of the
    other parity per user (revealed first, so never a target)."""
    rows = [(u, m, ts, 5.0 if m % 3 else 4.0) for u, m, ts in parity_timeline()]
    for u in range(1, 31):
        others = [m for m in range(1, 41) if m % 2 != u % 2]
        disliked = others[u % 5 :: 5][:DISLIKES]
        rows += [(u, m, 900 + j, 1.0) for j, m in enumerate(disliked)]
    users, items, stamps, stars = (np.array(c) for c in zip(*rows, strict=True))
    return Interactions(users, items, stamps.astype(np.float64)), stars


@pytest.fixture(scope="module")
def report(_one_thread):
    data, stars = graded_world()
    return evaluate_foldin_graded(data, stars, SMALL, say=lambda _: None)


def test_only_later_movies_rated_relevant_are_targets():
    heldout = HeldOut(
        revealed={1: np.array([9]), 2: np.array([8])},
        targets={1: np.array([5, 6, 7]), 2: np.array([4])},
        revealed_rows={1: np.array([0]), 2: np.array([4])},
        target_rows={1: np.array([1, 2, 3]), 2: np.array([5])},
    )
    stars = np.array([5.0, 4.0, 2.0, 4.5, 3.0, 3.5])
    graded = graded_heldout(heldout, stars, relevant=4.0)
    assert graded.users == [1]  # user 2's one later movie has 3.5 stars
    assert graded.targets[1].tolist() == [5, 7]
    assert graded.revealed[1].tolist() == [9]


def test_every_method_of_both_protocols_on_every_seed(report):
    assert [r.seed for r in report.seeds] == [0, 1]
    for result in report.seeds:
        # every later movie of the world is a like: each held-out user counts
        assert result.visitors == 6
        assert set(result.graded) == set(GRADED_METHODS)
        assert set(result.ungraded) == set(UNGRADED_METHODS)
        assert set(result.beyond) == {f"graded:{m}" for m in GRADED_METHODS} | {
            f"ungraded:{m}" for m in UNGRADED_METHODS
        }
        for quality in (*result.graded.values(), *result.ungraded.values()):
            assert 0 <= quality.recall <= 1 and 0 <= quality.ndcg <= 1


def test_the_graded_method_finds_the_visitors_parity_and_popularity_cannot(report):
    # the later likes are all of the visitor's parity; popularity ranks both
    # parities alike
    for result in report.seeds:
        graded, popular = result.graded["graded"], result.graded["popular"]
        assert graded.ndcg > popular.ndcg + 0.2
        assert graded.recall > popular.recall


def test_the_report_holds_each_method_and_its_json(report):
    markdown = report.markdown()
    for label in (*GRADED_METHODS.values(), *UNGRADED_METHODS.values()):
        # one row per seed and one in the mean +- std table
        assert markdown.count(f"| {label} |") == len(report.seeds) + 1
    graded = report.seeds[0].graded["graded"]
    assert f"| {GRADED_METHODS['graded']} | {graded.recall:.4f} |" in markdown
    assert "mean +- std over seeds 0, 1:" in markdown
    assert "(graded / today) seed 0:" in markdown
    data = report.to_dict()
    assert data["seeds"][0]["graded"]["graded"]["ndcg"] == graded.ndcg
    assert data["graded_config"]["signals"]["star_weights"] == ((4.0, 1.0), (0, -1))
    assert data["today_config"]["signals"]["star_weights"] == ((0.0, 1.0),)


def test_a_seed_gives_the_same_result_alone_or_after_another(report):
    data, stars = graded_world()
    again = evaluate_foldin_graded(
        data, stars, replace(SMALL, seeds=(1,)), say=lambda _: None
    )
    assert again.seeds == report.seeds[1:]
    # another seed holds out other users
    assert report.seeds[0].ungraded != report.seeds[1].ungraded


def test_stars_must_match_the_interactions():
    data, stars = graded_world()
    with pytest.raises(ValueError, match="one rating per interaction"):
        evaluate_foldin_graded(data, stars[1:], SMALL)
