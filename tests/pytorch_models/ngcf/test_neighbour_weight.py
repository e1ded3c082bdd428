"""The visitor's own neighbour weight: known answers, and the hand-written
gradient against autograd."""

import numpy as np
import torch

from pytorch_models.ngcf.neighbour_weight import fit_neighbour_weight

D, N, K, EPOCHS = 8, 5, 4, 10


def world(neighbours_know: bool, seed: int = 0) -> dict:
    """Positives share a direction u, negatives point away from it. Either the
    neighbour embeddings carry u and the node -u, or the other way round."""
    rng = np.random.default_rng(seed)
    u = np.zeros(D)
    u[0] = 1.0
    positives = u + 0.1 * rng.normal(size=(N, D))
    negatives = -u + 0.1 * rng.normal(size=(EPOCHS, N, K, D))
    sign = 1.0 if neighbours_know else -1.0
    return dict(
        f=-sign * u,
        neighbours=sign * u + 0.1 * rng.normal(size=(N, D)),
        shares=np.full(N, 1.0 / N),
        positives=positives,
        negatives=negatives,
    )


def fitted(neighbours_know: bool, lr: float = 0.3, epochs: int = EPOCHS) -> float:
    w = world(neighbours_know)
    w["negatives"] = w["negatives"][:epochs]
    return fit_neighbour_weight(
        **w, neighbour_weight=4.0, learning_rate=lr, temperature=0.2
    )


def test_neighbours_that_rank_the_others_well_get_more_weight():
    assert fitted(neighbours_know=True) > 4.0 > fitted(neighbours_know=False)


def test_no_epochs_no_step_or_one_positive_keep_the_weight():
    assert fitted(True, epochs=0) == 4.0
    assert fitted(True, lr=0.0) == 4.0
    w = world(True)
    alone = dict(
        f=w["f"],
        neighbours=w["neighbours"][:1],
        shares=np.ones(1),
        positives=w["positives"][:1],
        negatives=w["negatives"][:, :1],
    )
    kept = fit_neighbour_weight(
        **alone, neighbour_weight=4.0, learning_rate=0.3, temperature=0.2
    )
    assert kept == 4.0


def reference(w: dict, lr: float, t: float, weight: float) -> float:
    """The same fit by torch autograd and torch.optim.Adam."""
    f = torch.as_tensor(w["f"])
    g_rows = torch.as_tensor(w["neighbours"])
    shares = torch.as_tensor(w["shares"])
    pos = torch.as_tensor(w["positives"])
    n = len(shares)
    others = (1 - torch.eye(n, dtype=torch.float64)) * shares[None, :]
    g_others = (others / others.sum(1, keepdim=True)) @ g_rows
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([b], lr=lr)
    for negs in torch.as_tensor(w["negatives"]):
        opt.zero_grad()
        c = f + weight * torch.exp(b) * g_others  # (n, D)
        x = (c * pos).sum(1)[:, None] - torch.einsum("nd,nkd->nk", c, negs)
        per = torch.nn.functional.softplus(-t * x).mean(1)
        ((shares * n * per).sum() / (shares * n).sum()).backward()
        opt.step()
    return weight * float(torch.exp(b.detach()))


def test_the_hand_written_gradient_matches_autograd():
    rng = np.random.default_rng(3)
    w = dict(
        f=rng.normal(size=D),
        neighbours=rng.normal(size=(N, D)),
        shares=rng.dirichlet(np.ones(N)),
        positives=rng.normal(size=(N, D)),
        negatives=rng.normal(size=(EPOCHS, N, K, D)),
    )
    mine = fit_neighbour_weight(
        **w, neighbour_weight=4.0, learning_rate=0.3, temperature=0.2
    )
    assert mine != 4.0
    assert np.isclose(mine, reference(w, 0.3, 0.2, 4.0), rtol=1e-6)
