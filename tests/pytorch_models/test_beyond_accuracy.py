import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytorch_models.beyond_accuracy import beyond_accuracy, popularity_ranks

# item 0 is the most rated, then 1, 2, 3
DEGREE = np.array([50, 30, 15, 5])


def test_popularity_ranks_start_at_one_for_the_most_rated():
    assert popularity_ranks(np.array([5, 50, 15])).tolist() == [3, 1, 2]


def test_hand_computed_lists():
    m = beyond_accuracy([[0, 1], [0, 2]], DEGREE, head_share=0.5)
    assert m.lists == 2 and m.coverage == 3
    # ranks shown: 1, 2, 1, 3
    assert m.median_popularity_rank == 1.5
    assert m.mean_popularity_rank == pytest.approx(7 / 4)
    # exposure sorted (0, 1, 1, 2) over 4 items: sum (2i - n - 1) x_i / (n sum x)
    assert m.gini == pytest.approx((-3 * 0 - 1 * 1 + 1 * 1 + 3 * 2) / (4 * 4))
    # head carrying half of the 100 ratings: item 0 alone -> ranks 2 and 3 are tail
    assert m.long_tail_share == pytest.approx(2 / 4)


def test_equal_exposure_has_zero_gini():
    assert beyond_accuracy([[0, 1], [2, 3]], DEGREE).gini == pytest.approx(0.0)


def test_no_lists_give_zeros():
    assert beyond_accuracy([], DEGREE).coverage == 0


@given(st.lists(st.lists(st.integers(0, 3), min_size=1, max_size=4), min_size=1))
def test_bounds_hold_for_any_lists(lists):
    m = beyond_accuracy(lists, DEGREE)
    assert 1 <= m.coverage <= 4
    assert 0.0 <= m.gini < 1.0 and 0.0 <= m.long_tail_share <= 1.0
    assert 1 <= m.median_popularity_rank <= 4


def test_bad_head_share_is_refused():
    with pytest.raises(ValueError):
        beyond_accuracy([[0]], DEGREE, head_share=1.5)
