"""The per-visitor fold-in: fitting a new user node's E0 row inside the request."""

from __future__ import annotations

import numpy as np

from pytorch_models.ngcf.frozen import FrozenNgcf

__all__ = ["finetune_visitor", "sample_unclicked"]

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


def sample_unclicked(
    clicked: np.ndarray, count: int, rng: np.random.Generator
) -> np.ndarray:
    """``count`` item rows drawn uniformly, redrawn until none is ``clicked``
    (a (n_items,) bool mask)."""
    neg = rng.integers(0, clicked.size, size=count)
    bad = clicked[neg]
    while bad.any():
        neg[bad] = rng.integers(0, clicked.size, size=int(bad.sum()))
        bad = clicked[neg]
    return neg


def finetune_visitor(
    model: FrozenNgcf,
    rows: np.ndarray,
    epochs: int,
    rng: np.random.Generator,
    *,
    learning_rate: float,
    num_negatives: int,
    l2_weight: float,
) -> np.ndarray:
    """The visitor's final embedding f (D,) after ``epochs`` Adam steps.

    e_0 starts at the mean of E_0[N(u)] and is fitted on the BPR loss

        L = -mean_k log sigmoid(<f, F_pos_k - F_neg_k>) + lambda ||e_0||^2

    over every clicked item with ``num_negatives`` sampled unclicked items each,
    with F the cached final item embeddings and every pretrained weight frozen.
    The gradient comes from the frozen model's hand-written backward pass.
    """
    sides = model.sides(rows)
    e0 = model.warm_start(rows)
    if epochs <= 0:
        return model.forward(e0, sides)[0]
    n = len(rows)
    clicked = np.zeros(model.n_items, dtype=bool)
    clicked[rows] = True
    pos = model.item_final[rows]  # (n, D)
    # every epoch's negatives drawn and gathered at once: (epochs, n * k, D)
    neg = sample_unclicked(clicked, epochs * n * num_negatives, rng)
    neg_final = model.item_final[neg].reshape(epochs, n * num_negatives, -1)
    beta1, beta2 = ADAM_BETAS
    m = np.zeros_like(e0)
    v = np.zeros_like(e0)
    for step in range(1, epochs + 1):
        f, cache = model.forward(e0, sides)
        negs = neg_final[step - 1]
        # pair j = (positive j // k, negative j): x_j = <f, F_pos - F_neg>
        x = np.repeat(pos @ f, num_negatives) - negs @ f
        w = _sigmoid(-x)  # d/dx of -log sigmoid(x) is -sigmoid(-x)
        grad_f = (w @ negs - w.reshape(n, num_negatives).sum(axis=1) @ pos) / len(x)
        grad = model.backward(grad_f, cache) + 2.0 * l2_weight * e0
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad * grad
        m_hat = m / (1 - beta1**step)
        v_hat = v / (1 - beta2**step)
        e0 = e0 - learning_rate * m_hat / (np.sqrt(v_hat) + ADAM_EPS)
    return model.forward(e0, sides)[0]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))
