import numpy as np
import pytest

from pytorch_models.checkpoint import load_checkpoint
from pytorch_models.ngcf.finetune import (
    VisitorFeedback,
    finetune_visitor,
    sample_unclicked,
)
from pytorch_models.ngcf.frozen import FrozenNgcf


@pytest.fixture(scope="module")
def frozen(parity_checkpoint):
    return FrozenNgcf.from_checkpoint(load_checkpoint(parity_checkpoint))


def test_fine_tuning_moves_towards_the_clicks(frozen):
    """Ten BPR steps must raise the clicked items' mean score margin."""
    rows = np.array([0, 2, 4])

    def margin(epochs):
        f = finetune_visitor(
            frozen,
            VisitorFeedback(rows),
            epochs,
            np.random.default_rng(0),
            learning_rate=2e-3,
            num_negatives=4,
            l2_weight=1e-5,
        )
        scores = frozen.item_final @ f
        clicked = np.zeros(frozen.n_items, dtype=bool)
        clicked[rows] = True
        return scores[clicked].mean() - scores[~clicked].mean()

    assert margin(10) > margin(0)


def test_without_epochs_the_node_is_its_warm_start(frozen):
    rows = np.array([1, 5])
    f = finetune_visitor(
        frozen,
        VisitorFeedback(rows),
        0,
        None,
        learning_rate=1.0,
        num_negatives=1,
        l2_weight=0.0,
    )
    width = frozen.slices[0].stop
    np.testing.assert_allclose(f[:width], frozen.item_final[rows, :width].mean(0))


def test_negatives_are_never_clicked():
    clicked = np.zeros(10, dtype=bool)
    clicked[[0, 1, 2, 3, 4, 5, 6, 7]] = True
    drawn = sample_unclicked(clicked, 500, np.random.default_rng(0))
    assert set(drawn.tolist()) == {8, 9}
