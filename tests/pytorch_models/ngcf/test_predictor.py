"""The per-request predictor: a new visitor folded into a frozen, trained NGCF."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from pytorch_models.checkpoint import load_checkpoint
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
    assert set(ids) <= set(predictor.item_ids.tolist())
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
    serial, threaded = _serial_and_threaded(predictor, histories, k=5)
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


def test_similar_movies_share_parity(predictor):
    similar = predictor.similar(1, k=4)
    assert len(similar) == 4 and 1 not in [m for m, _ in similar]
    assert all(m % 2 == 1 for m, _ in similar)
    assert predictor.similar(99999) == []


def test_visitor_vector_adds_the_weighted_neighbour_term(parity_checkpoint):
    from dataclasses import replace

    from pytorch_models.ngcf.finetune import VisitorFeedback
    from pytorch_models.ngcf.predictor import FinetuneConfig

    base = FinetuneConfig()
    alone = NgcfPredictor.load(parity_checkpoint, replace(base, neighbour_weight=0))
    mixed = NgcfPredictor.load(parity_checkpoint, replace(base, neighbour_weight=2))
    rows = np.array([list(mixed.item_ids).index(m) for m in (1, 3, 5)])
    neighbours = load_checkpoint(parity_checkpoint).item_neighbour_embeddings
    g = neighbours.numpy()[rows].mean(axis=0)
    feedback = VisitorFeedback(rows)
    f_alone = alone.visitor_vector(feedback, 10, np.random.default_rng(0))
    f_mixed = mixed.visitor_vector(feedback, 10, np.random.default_rng(0))
    np.testing.assert_allclose(f_mixed, f_alone + 2 * g, rtol=1e-5, atol=1e-6)
    # the neighbours of odd movies are odd visitors: the term keeps the parity
    recs = NgcfPredictor.load(
        parity_checkpoint, replace(base, neighbour_weight=50)
    ).recommend([1, 3, 5], k=5)
    assert all(r.movie_id % 2 == 1 for r in recs)


def test_version_1_checkpoint_ranks_without_the_neighbour_term(
    tmp_path, parity_checkpoint
):
    old = torch.load(parity_checkpoint, weights_only=True)
    old["format_version"] = 1
    del old["item_neighbour_embeddings"]
    path = tmp_path / "v1.pt"
    torch.save(old, path)
    predictor = NgcfPredictor.load(path)
    assert predictor.neighbours is None
    recs = predictor.recommend([1, 3, 5, 7], k=5)
    assert len(recs) == 5 and all(r.movie_id % 2 == 1 for r in recs)


def test_large_catalogue_ranks_from_the_candidate_index(tmp_path, parity_checkpoint):
    """Above exact_ranking_limit the top k come from the index's candidates,
    ranked exactly: the same list as the exact scan whenever the candidates hold
    it (here they hold the whole catalogue), and the index is cached on disk."""
    import shutil
    from dataclasses import replace

    from pytorch_models.ngcf.predictor import FinetuneConfig

    path = shutil.copy(parity_checkpoint, tmp_path / "ngcf.pt")
    exact = NgcfPredictor.load(path)
    assert exact.candidates is None
    config = replace(
        FinetuneConfig(),
        exact_ranking_limit=5,
        candidate_count=N_ITEMS,
        popularity_weight=1,
    )
    indexed = NgcfPredictor.load(path, config)
    assert indexed.candidates is not None
    caches = list(tmp_path.glob("ngcf.pt.*.faiss"))
    assert len(caches) == 1
    exact = NgcfPredictor.load(path, replace(config, exact_ranking_limit=10**6))
    for history in ([1, 3, 5], [2], [4, 6, 7, 11]):
        a = exact.recommend(history, k=6, seed=1)
        b = indexed.recommend(history, k=6, seed=1)
        assert [r.movie_id for r in a] == [r.movie_id for r in b]
        np.testing.assert_allclose(
            [r.score for r in a], [r.score for r in b], rtol=1e-5
        )
        assert not {r.movie_id for r in b} & set(history)
    # searching the index from many threads gives the serial answers
    histories = [[1 + (j % N_ITEMS), 1 + ((7 * j) % N_ITEMS)] for j in range(24)]
    serial, threaded = _serial_and_threaded(indexed, histories, k=4)
    assert threaded == serial
    # a second load reads the cached index instead of building it
    mtime = caches[0].stat().st_mtime_ns
    again = NgcfPredictor.load(path, config)
    assert caches[0].stat().st_mtime_ns == mtime
    assert again.recommend([1, 3], k=3) == indexed.recommend([1, 3], k=3)


@pytest.mark.parametrize("popularity_weight", [0.0, 1.0])
def test_recommendations_match_an_independent_autograd_implementation(
    parity_checkpoint, popularity_weight
):
    from dataclasses import replace

    from pytorch_models.ngcf.predictor import FinetuneConfig
    from tests.pytorch_models.ngcf.reference_predictor import reference_recommend

    config = replace(FinetuneConfig(), popularity_weight=popularity_weight)
    predictor = NgcfPredictor.load(parity_checkpoint, config)
    for seed, history in enumerate(([1, 3, 5], [2], [4, 6, 7, 11, 20], [9, 2, 13])):
        for epochs in (0, 10):
            got = predictor.recommend(history, k=10, epochs=epochs, seed=seed)
            want = reference_recommend(
                parity_checkpoint, history, 10, epochs, seed, config
            )
            assert [r.movie_id for r in got] == [m for m, _, _ in want]
            assert [r.because for r in got] == [b for _, _, b in want]
            np.testing.assert_allclose(
                [r.score for r in got], [s for _, s, _ in want], rtol=1e-4, atol=1e-5
            )


def test_shared_state_is_not_mutated(predictor):
    items = predictor.model.item_final.copy()
    weights = [layer.w.copy() for layer in predictor.model.layers]
    predictor.recommend([1, 2, 3], k=5, epochs=10)
    predictor.similar(4)
    assert np.array_equal(items, predictor.model.item_final)
    for before, layer in zip(weights, predictor.model.layers, strict=True):
        assert np.array_equal(before, layer.w)


def test_one_item_matrix_is_kept(predictor):
    """Every (n_items, D) array the predictor holds is the frozen model's matrix
    or the neighbour embeddings, not a copy of either."""
    wide = [
        value
        for value in vars(predictor).values()
        if isinstance(value, np.ndarray) and value.ndim == 2
    ]
    assert [id(a) for a in wide] == [id(predictor.neighbours)]
    assert predictor.model.item_final.flags.c_contiguous


def _serial_and_threaded(predictor, histories, k):
    """The same requests (history j with seed j) made one by one and from 8
    threads at once."""
    serial = [predictor.recommend(h, k=k, seed=j) for j, h in enumerate(histories)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(
            pool.map(
                lambda a: predictor.recommend(a[1], k=k, seed=a[0]),
                enumerate(histories),
            )
        )
    return serial, threaded
