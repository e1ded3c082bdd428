import numpy as np

from pytorch_models.ngcf.ranking import explain, most_similar, rank_exact, top_k

ITEMS = np.array(
    [[1.0, 0.0], [0.0, 1.0], [2.0, 0.1], [-1.0, 0.0], [0.6, 0.8]], dtype=np.float32
)


def test_top_k_is_largest_first_and_handles_k_beyond_size():
    scores = np.array([0.1, 3.0, -1.0, 2.0], dtype=np.float32)
    rows, values = top_k(scores, 2)
    assert rows.tolist() == [1, 3] and values.tolist() == [3.0, 2.0]
    assert top_k(scores, 10)[0].tolist() == [1, 3, 0, 2]
    assert top_k(scores, 0)[0].tolist() == []


def test_rank_exact_adds_the_prior_and_excludes_clicks():
    visitor = np.array([1.0, 0.0], dtype=np.float32)
    rows, values = rank_exact(ITEMS, visitor, None, np.array([2]), 10)
    assert rows.tolist() == [0, 4, 1, 3]  # item 2 (the best) was clicked
    prior = np.array([0, 5, 0, 0, 0], dtype=np.float32)
    rows, values = rank_exact(ITEMS, visitor, prior, np.array([2]), 2)
    assert rows.tolist() == [1, 0] and values.tolist() == [5.0, 1.0]


def test_explanations_are_the_most_similar_clicks():
    because = explain(ITEMS, np.array([0, 1]), np.array([3, 2, 4]), 2)
    # item 0 is nearest to 2 (position 1), then 4; item 1 to 4, then 2
    assert because.tolist() == [[1, 2], [2, 1]]


def test_most_similar_by_cosine():
    norms = np.linalg.norm(ITEMS, axis=1)
    rows, cosines = most_similar(ITEMS, norms, 0, 3)
    assert rows.tolist() == [2, 4, 1]
    np.testing.assert_allclose(cosines, [2 / np.hypot(2, 0.1), 0.6, 0.0], rtol=1e-6)
