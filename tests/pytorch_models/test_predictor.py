"""The per-request predictor: a new visitor folded into a frozen, trained NGCF."""

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from pytorch_models.ngcf.predictor import NgcfPredictor

N_ITEMS = 20


@pytest.fixture(scope="module")
def predictor(parity_checkpoint):
    """The parity world of tests/conftest.py: odd visitors like odd movie ids."""
    return NgcfPredictor.load(parity_checkpoint)


def test_known_answer_even_history_gets_even_movies(predictor):
    history = [1, 3, 5, 7]
    recs = predictor.recommend(history, k=5)
    assert len(recs) == 5
    assert all(r.movie_id % 2 == 1 for r in recs), [r.movie_id for r in recs]
    recs = predictor.recommend([2, 4, 6], k=5)
    assert all(r.movie_id % 2 == 0 for r in recs), [r.movie_id for r in recs]


def test_excludes_seen_and_returns_k_distinct_known_ids_in_score_order(predictor):
    history = [1, 3, 5, 2]
    recs = predictor.recommend(history, k=10)
    ids = [r.movie_id for r in recs]
    assert len(ids) == 10 == len(set(ids))
    assert not set(ids) & set(history)
    assert all(predictor.knows(m) for m in ids)
    scores = [r.score for r in recs]
    assert scores == sorted(scores, reverse=True)
    for rec in recs:
        assert rec.because and set(rec.because) <= set(history)


def test_k_larger_than_catalogue(predictor):
    recs = predictor.recommend([1], k=1000)
    assert len(recs) == N_ITEMS - 1


def test_deterministic_for_a_seed(predictor):
    a = predictor.recommend([1, 3, 8], k=8, seed=7)
    b = predictor.recommend([1, 3, 8], k=8, seed=7)
    assert a == b


def test_threads_match_serial_calls(predictor):
    histories = [[1 + (j % N_ITEMS), 1 + ((3 * j) % N_ITEMS)] for j in range(40)]
    serial = [predictor.recommend(h, k=5, seed=j) for j, h in enumerate(histories)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(
            pool.map(
                lambda a: predictor.recommend(a[1], k=5, seed=a[0]),
                enumerate(histories),
            )
        )
    assert threaded == serial


def test_unknown_ids_are_reported_and_skipped(predictor):
    recs = predictor.recommend([1, 99999, 3, -5, 1], k=5)
    assert recs.unknown_ids == [99999, -5]
    assert recs.used_ids == [1, 3]
    assert len(recs) == 5
    assert predictor.recommend([4242], k=5) == []


def test_empty_history(predictor):
    recs = predictor.recommend([], k=10)
    assert recs == [] and recs.unknown_ids == []


def test_shared_state_is_not_mutated(predictor):
    before = predictor.item_final_t.clone()
    layers = [layer.w.copy() for layer in predictor.layers]
    predictor.recommend([1, 2, 3], k=5, epochs=10)
    assert torch.equal(before, predictor.item_final_t)
    assert all(
        np.array_equal(a, b.w) for a, b in zip(layers, predictor.layers, strict=True)
    )


def test_fine_tuning_moves_towards_the_clicks(predictor):
    """Ten BPR steps must raise the clicked items' mean score margin."""
    rows = np.array([predictor._index[m] for m in (1, 3, 5)])
    rng = np.random.default_rng(0)
    items = torch.from_numpy(predictor.item_final_np)

    def margin(epochs):
        f = torch.from_numpy(predictor.user_embedding(rows, epochs, rng))
        scores = items @ f
        mask = torch.zeros(N_ITEMS, dtype=torch.bool)
        mask[rows] = True
        return float(scores[mask].mean() - scores[~mask].mean())

    assert margin(10) > margin(0)


def test_hand_written_backward_matches_autograd(predictor):
    rng = np.random.default_rng(3)
    rows = np.array([predictor._index[m] for m in (1, 4, 9)])
    n = len(rows)
    weights = predictor.inv_sqrt_degree[rows] / math.sqrt(n)
    sides = [weights @ layer[rows] for layer in predictor.item_layers[:-1]]
    e0 = rng.normal(size=predictor.widths[0]).astype(np.float32)
    grad_f = rng.normal(size=sum(predictor.widths)).astype(np.float32)
    _, cache = predictor._forward(e0, sides)
    manual = predictor._backward(grad_f, cache)

    # the reference is the trained model's own layers, run by autograd
    model = predictor.checkpoint.build_model()
    e = torch.tensor(e0, requires_grad=True)
    outs, cur = [e], e
    for w1, w2, side in zip(model.w1, model.w2, sides, strict=True):
        s = torch.from_numpy(side)
        h = torch.nn.functional.leaky_relu(w1(s + cur) + w2(s * cur), predictor.slope)
        cur = h / h.norm()
        outs.append(cur)
    (torch.cat(outs) @ torch.from_numpy(grad_f)).backward()
    np.testing.assert_allclose(manual, e.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_similar_movies_share_parity(predictor):
    similar = predictor.similar(1, k=4)
    assert len(similar) == 4 and 1 not in [m for m, _ in similar]
    assert all(m % 2 == 1 for m, _ in similar)
    assert predictor.similar(99999) == []
