"""A visitor's own neighbour weight: how much of the score the neighbour term
carries, fitted per visitor inside the request.

The served score vector is v = f + w g with g = sum_j a_j G^c_j over the
visitor's positives (``NgcfPredictor.visitor_vector``). After the node's
fine-tuning, the weight becomes w exp(b), b fitted by leave-one-out BPR: each
positive j is scored by the vector built from the *other* positives' neighbour
embeddings, g_{-j} = (g - a_j G^c_j) / (1 - a_j), against sampled unseen items n:

    x_jn = <f + w exp(b) g_{-j}, F_j - F_n>
    L(b) = sum_j r_j mean_n softplus(-t x_jn) / sum_j r_j,   r_j = a_j n,

from b = 0, so zero steps serve w as configured. t is a temperature: |v| is about
20, so the raw margins sit where the sigmoid is flat and the loss would not move.
Because the score's scale is free in the loss, b trades the node against the
neighbours and sharpens or softens the visitor's scores at once; the ranking
sees only the first. Chosen on the graded fold-in tuning seeds
(docs/BENCHMARKS.md).
"""

from __future__ import annotations

import math

import numpy as np

from pytorch_models.ngcf.finetune import ADAM_BETAS, ADAM_EPS

__all__ = ["fit_neighbour_weight"]


def fit_neighbour_weight(
    *,
    f: np.ndarray,
    neighbours: np.ndarray,
    shares: np.ndarray,
    positives: np.ndarray,
    negatives: np.ndarray,
    neighbour_weight: float,
    learning_rate: float,
    temperature: float,
) -> float:
    """The visitor's neighbour weight w exp(b) after one Adam step per epoch.

    ``f`` (D,) is the fine-tuned node's final embedding, ``neighbours`` (n, D)
    the positives' centred neighbour embeddings G^c_j, ``shares`` (n,) their
    a_j, ``positives`` (n, D) their final item embeddings F_j and ``negatives``
    (epochs, n, k, D) each step's sampled unseen items for each positive. With
    fewer than two positives (no leave-one-out) or no epochs, w as it is.
    """
    n = len(shares)
    epochs = negatives.shape[0]
    if n < 2 or epochs == 0 or learning_rate == 0:
        return neighbour_weight
    g = shares @ neighbours  # (D,)
    others = (g[None, :] - shares[:, None] * neighbours) / (1.0 - shares)[:, None]
    f_pos = positives @ f  # (n,)
    g_pos = np.einsum("nd,nd->n", others, positives)  # (n,) <g_{-j}, F_j>
    relative = shares / shares.sum()  # r_j / sum r
    # every step's margins at once, (epochs, n, k): the node's and g_{-j}'s, in
    # the item matrix's float32 (float64 operands would copy all the rows)
    dtype = negatives.dtype
    node_margin = f_pos[:, None] - negatives @ f.astype(dtype)
    neighbour_margin = (
        g_pos[:, None] - (negatives @ others.astype(dtype)[:, :, None])[..., 0]
    )
    b, mom, vel = 0.0, 0.0, 0.0
    beta1, beta2 = ADAM_BETAS
    for step in range(1, epochs + 1):
        a, c = node_margin[step - 1], neighbour_margin[step - 1]  # (n, k)
        s = neighbour_weight * math.exp(b)
        x = temperature * (a + s * c)
        sig = 0.5 * (1.0 - np.tanh(0.5 * x))  # sigmoid(-x): -d softplus(-x)/dx
        grad = -float(relative @ (sig * c).mean(axis=1)) * temperature * s
        mom = beta1 * mom + (1 - beta1) * grad
        vel = beta2 * vel + (1 - beta2) * grad * grad
        b -= (
            learning_rate
            * (mom / (1 - beta1**step))
            / (math.sqrt(vel / (1 - beta2**step)) + ADAM_EPS)
        )
    return neighbour_weight * math.exp(b)
