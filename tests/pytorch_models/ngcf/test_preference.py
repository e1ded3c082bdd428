import numpy as np

from pytorch_models.ngcf.preference import fit_centring

D, N_ITEMS = 4, 40


def fitted(niche_visitor: bool, epochs: int = 10, prior: float = 0.0) -> float:
    """Items 0..19 are popular (large <mu, F_i>, high degree), 20..39 niche;
    the visitor's positives are from one half."""
    rng = np.random.default_rng(0)
    items = rng.normal(size=(N_ITEMS, D)).astype(np.float32) * 0.1
    direction = np.where(np.arange(N_ITEMS) < 20, 1.0, -1.0)
    degree = np.where(np.arange(N_ITEMS) < 20, 100.0, 1.0)
    rows = np.arange(20, 25) if niche_visitor else np.arange(0, 5)
    sampling = degree.copy()
    sampling[rows] = 0
    return fit_centring(
        f=np.zeros(D, np.float32),
        rows=rows,
        shares=np.full(5, 0.2, np.float32),
        items=items,
        neighbours=np.zeros((N_ITEMS, D), np.float32),
        scale=np.ones(N_ITEMS, np.float32),
        popularity_direction=direction,
        sampling=sampling / sampling.sum(),
        neighbour_weight=1.0,
        c0=0.5,
        epochs=epochs,
        learning_rate=0.05,
        prior=prior,
        num_negatives=4,
        rng=np.random.default_rng(1),
    )


def test_a_niche_visitor_gets_more_centring_a_mainstream_one_less():
    assert fitted(niche_visitor=True) > 0.5 > fitted(niche_visitor=False)


def test_zero_epochs_keep_the_dial_and_the_prior_holds_it_back():
    assert fitted(True, epochs=0) == 0.5
    assert fitted(True, prior=100.0) < fitted(True, prior=0.0)
