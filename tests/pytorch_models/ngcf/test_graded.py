"""Graded signals, own negatives and the dial in the parity world (even visitors
like even movie ids, odd visitors odd ids)."""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytorch_models.ngcf.predictor import FinetuneConfig, NgcfPredictor
from pytorch_models.ngcf.signals import GradedSignals, recency_weights, signed_weights

STARS = GradedSignals(star_weights=((4.0, 1.0), (3.0, 0.5), (0.0, -1.0)))
GRADED = FinetuneConfig(
    learning_rate=0.03,
    signals=STARS,
    own_negative_weight=3.0,
    neighbour_weight=4.0,
    centring=0.8,
)
EVENS = [2, 4, 6, 8, 10]


@pytest.fixture(scope="module")
def graded(parity_checkpoint):
    return NgcfPredictor.load(parity_checkpoint, GRADED)


def test_stars_map_to_weights_and_not_interested_wins():
    w = signed_weights(
        [1, 2, 3, 4],
        STARS,
        ratings={1: 5.0, 2: 3.0, 3: 1.0, 4: 5.0},
        negative_ids=frozenset({4}),
        weights={1: 0.5},
    )
    assert w.tolist() == [0.5, 0.5, -1.0, -1.0]


def test_recency_halves_every_half_life_events():
    assert recency_weights(3, 1.0).tolist() == [1.0, 0.5, 0.25]
    assert recency_weights(2, float("inf")).tolist() == [1.0, 1.0]


def test_liked_evens_and_a_one_star_odd_keep_odd_movies_away(graded):
    """The known answer: a visitor who liked the even movies and rated one odd
    movie one star gets no odd movie in the top five."""
    ratings = {m: 5.0 for m in EVENS} | {3: 1.0}
    recs = graded.recommend([*EVENS, 3], k=5, ratings=ratings)
    assert recs.positive_ids == EVENS and recs.negative_ids == [3]
    assert [r.movie_id % 2 for r in recs] == [0] * 5
    assert all(set(r.because) <= set(EVENS) for r in recs)


def test_not_interested_movies_are_never_recommended(graded):
    everything = graded.recommend(EVENS, k=20)
    shown = [r.movie_id for r in everything]
    recs = graded.recommend(EVENS, k=20, negative_ids=shown[:3])
    assert not set(shown[:3]) & {r.movie_id for r in recs}
    assert len(recs) == 20 - len(EVENS) - 3


def test_only_negatives_give_popular_movies_without_them(graded):
    recs = graded.recommend([], k=5, negative_ids=[1, 2])
    assert recs and recs.positive_ids == []
    assert not {1, 2} & {r.movie_id for r in recs}


def test_the_old_call_treats_every_movie_as_a_click(parity_checkpoint):
    predictor = NgcfPredictor.load(parity_checkpoint)
    old = predictor.recommend([1, 3, 5], k=5)
    as_clicks = predictor.recommend([1, 3, 5], k=5, ratings={}, weights=None)
    assert [r.movie_id for r in old] == [r.movie_id for r in as_clicks]
    assert [r.score for r in old] == [r.score for r in as_clicks]


def test_the_dial_moves_the_ranking_and_is_checked(graded):
    popular = graded.recommend(EVENS, k=10, centring=0.0)
    niche = graded.recommend(EVENS, k=10, centring=1.0)
    assert [r.score for r in popular] != [r.score for r in niche]
    with pytest.raises(ValueError):
        graded.recommend(EVENS, centring=1.5)
    with pytest.raises(ValueError):
        replace(GRADED, centring=-0.1)


def test_fine_tuning_with_own_negatives_pushes_them_down(graded):
    """Ten epochs with a disliked movie lower its score relative to zero epochs."""
    feedback, _, _ = graded.feedback(
        [2, 4, 6, 3], ratings={2: 5.0, 4: 5.0, 6: 5.0, 3: 1.0}
    )
    row = list(graded.item_ids).index(3)

    def margin(epochs):
        f = graded.visitor_vector(feedback, epochs, np.random.default_rng(0))
        scores = graded.model.item_final @ f
        return scores[feedback.rows].mean() - scores[row]

    assert margin(10) > margin(0)


@settings(max_examples=30, deadline=None)
@given(
    st.one_of(st.just(0.0), st.just(-1.0), st.just(float("nan")), st.just(float("inf")))
)
def test_bad_weights_are_refused(graded, bad):
    with pytest.raises(ValueError):
        graded.recommend(EVENS, weights={2: bad})


def test_the_visitor_centring_is_fitted_only_in_the_epochs(parity_checkpoint, graded):
    fitted = NgcfPredictor.load(parity_checkpoint, replace(GRADED, centring_epochs=10))
    ratings = {m: 5.0 for m in EVENS}
    same = fitted.recommend(EVENS, k=5, epochs=0, ratings=ratings)
    assert [r.score for r in same] == [
        r.score for r in graded.recommend(EVENS, k=5, epochs=0, ratings=ratings)
    ]
    tuned = fitted.recommend(EVENS, k=5, ratings=ratings)
    assert [r.movie_id % 2 for r in tuned] == [0] * 5


def test_the_neighbour_weight_is_fitted_only_in_the_epochs(parity_checkpoint, graded):
    """Zero epochs serve the configured weight (the zero-epoch arm is the same
    method); ten epochs fit it and keep the parity answer."""
    config = replace(GRADED, neighbour_weight_learning_rate=0.3)
    fitted = NgcfPredictor.load(parity_checkpoint, config)
    ratings = {m: 5.0 for m in EVENS}
    same = fitted.recommend(EVENS, k=5, epochs=0, ratings=ratings)
    assert [r.score for r in same] == [
        r.score for r in graded.recommend(EVENS, k=5, epochs=0, ratings=ratings)
    ]
    tuned = fitted.recommend(EVENS, k=5, ratings=ratings)
    assert [r.score for r in tuned] != [
        r.score for r in graded.recommend(EVENS, k=5, ratings=ratings)
    ]
    assert [r.movie_id % 2 for r in tuned] == [0] * 5
