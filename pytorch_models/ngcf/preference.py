"""A visitor's own popularity preference: the dial's centring fitted per visitor.

The served score with centring c is

    s_i(c) = <f + w g0, F_i> - c q_i,    q_i = w m <mu, F_i>,

g0 = sum_j a_j G_j, m = sum_j a_j s_j (``NgcfPredictor``). c_v is fitted by BPR
on the visitor's own positives against negatives drawn in proportion to item
degree (so the loss asks whether this visitor's movies are less or more popular
than what everyone watches), each positive j scored with its own neighbour term
left out (g_{-j}, m_{-j}: otherwise every positive matches itself), starting from
and pulled towards the dial's c0:

    L(c) = -mean log sigmoid(s_j(c) - s_n(c)) + prior (c - c0)^2,  c in [0, 1].
"""

from __future__ import annotations

import numpy as np

from pytorch_models.ngcf.finetune import ADAM_BETAS, ADAM_EPS

__all__ = ["fit_centring"]


def fit_centring(
    *,
    f: np.ndarray,
    rows: np.ndarray,
    shares: np.ndarray,
    items: np.ndarray,
    neighbours: np.ndarray,
    scale: np.ndarray,
    popularity_direction: np.ndarray,
    sampling: np.ndarray,
    neighbour_weight: float,
    c0: float,
    epochs: int,
    learning_rate: float,
    prior: float,
    num_negatives: int,
    rng: np.random.Generator,
) -> float:
    """The visitor's centring c_v after ``epochs`` Adam steps (c0 without any).

    ``popularity_direction`` (n_items,) is <mu, F_i>; ``sampling`` (n_items,) the
    negatives' probabilities (degree-proportional, the visitor's movies at 0).
    """
    n = len(rows)
    if epochs <= 0 or n < 2:
        return c0
    w = neighbour_weight
    g_rows = neighbours[rows]  # (n, D)
    g0 = shares @ g_rows
    m = float(shares @ scale[rows])
    keep = 1.0 - shares  # (n,) weight left when positive j is left out
    # positive j: <f + w g_{-j}, F_j> and its popularity feature with m_{-j}
    pos_items = items[rows]
    g_loo = (g0[None, :] - shares[:, None] * g_rows) / keep[:, None]
    pos_base = pos_items @ f + w * np.einsum("nd,nd->n", g_loo, pos_items)
    m_loo = (m - shares * scale[rows]) / keep
    pos_q = w * m_loo * popularity_direction[rows]
    neg = rng.choice(items.shape[0], size=(epochs, n * num_negatives), p=sampling)
    neg_base_all = items @ (f + w * g0)  # (n_items,)
    neg_q_all = w * m * popularity_direction
    c, mom, vel = c0, 0.0, 0.0
    beta1, beta2 = ADAM_BETAS
    for step in range(1, epochs + 1):
        negs = neg[step - 1]
        x = np.repeat(pos_base - c * pos_q, num_negatives) - (
            neg_base_all[negs] - c * neg_q_all[negs]
        )
        sig = 0.5 * (1.0 - np.tanh(0.5 * x))  # sigmoid(-x)
        grad = float(sig @ (np.repeat(pos_q, num_negatives) - neg_q_all[negs]))
        grad = grad / len(x) + 2.0 * prior * (c - c0)
        mom = beta1 * mom + (1 - beta1) * grad
        vel = beta2 * vel + (1 - beta2) * grad * grad
        step_size = (mom / (1 - beta1**step)) / (
            np.sqrt(vel / (1 - beta2**step)) + ADAM_EPS
        )
        c = float(np.clip(c - learning_rate * step_size, 0.0, 1.0))
    return c
