"""The per-visitor fold-in: fitting a new user node's E0 row inside the request."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pytorch_models.ngcf.frozen import FrozenNgcf

__all__ = ["VisitorFeedback", "finetune_visitor", "sample_unclicked"]

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


@dataclass(frozen=True)
class VisitorFeedback:
    """A visitor's movies as item rows with signal weights (all > 0)."""

    rows: np.ndarray  # (n,) int64 positives: clicked, liked or rated well
    weights: np.ndarray | None = None  # (n,) or None: every positive weighs 1
    # (m,) the visitor's own negatives (disliked, not interested) and |weight|s
    negative_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    negative_weights: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def shares(self) -> np.ndarray:
        """(n,) a_j = w_j / sum w: the positives' share of the warm start."""
        if self.weights is None:
            return np.full(len(self.rows), 1.0 / len(self.rows))
        return self.weights / self.weights.sum()


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


def warm_start(model: FrozenNgcf, feedback: VisitorFeedback) -> np.ndarray:
    """e_0 = sum_j a_j E_0[j] over the positives (the plain mean without weights)."""
    if feedback.weights is None:
        return model.warm_start(feedback.rows)
    shares = feedback.shares().astype(np.float32)
    return shares @ model.item_final[feedback.rows, model.slices[0]]


def finetune_visitor(
    model: FrozenNgcf,
    feedback: VisitorFeedback,
    epochs: int,
    rng: np.random.Generator,
    *,
    learning_rate: float,
    num_negatives: int,
    l2_weight: float,
    own_negative_weight: float = 1.0,
    e0: np.ndarray | None = None,
    links: np.ndarray | None = None,
) -> np.ndarray:
    """The visitor's final embedding f (D,) after ``epochs`` Adam steps.

    e_0 starts at the weighted mean of E_0 over the positives (or at ``e0``: a
    trained user's own row) and is fitted on the weighted BPR loss

        L = sum_pairs c_p (-log sigmoid(<f, F_pos - F_neg>)) / sum_pairs c_p
            + lambda ||e_0||^2

    over two kinds of pairs: every positive j against ``num_negatives`` sampled
    unseen items, c = w_j / mean w; and every positive against every one of
    the visitor's own negatives o, c = own_negative_weight * w_j / mean w * |w_o|.
    F are the cached final item embeddings, every pretrained weight is frozen,
    and the gradient comes from the frozen model's hand-written backward pass.
    The node is linked to the positives, or to ``links`` (a trained user's
    training items and its new positives); no sampled negative is one of them.
    Without positives in ``feedback`` nothing is fitted.
    """
    rows = feedback.rows
    links = rows if links is None else links
    sides = model.sides(links)
    e0 = warm_start(model, feedback) if e0 is None else e0
    if epochs <= 0 or not len(rows):
        return model.forward(e0, sides)[0]
    n = len(rows)
    seen = np.zeros(model.n_items, dtype=bool)
    seen[links] = True
    seen[rows] = True
    seen[feedback.negative_rows] = True
    # every epoch's negatives drawn and gathered at once: (epochs, n * k, D)
    neg = sample_unclicked(seen, epochs * n * num_negatives, rng)
    neg_final = model.item_final[neg].reshape(epochs, n * num_negatives, -1)
    pairs = _Pairs.of(model, feedback, num_negatives, own_negative_weight)
    beta1, beta2 = ADAM_BETAS
    m = np.zeros_like(e0)
    v = np.zeros_like(e0)
    for step in range(1, epochs + 1):
        f, cache = model.forward(e0, sides)
        grad = model.backward(pairs.gradient(f, neg_final[step - 1]), cache)
        grad = grad + 2.0 * l2_weight * e0
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad * grad
        m_hat = m / (1 - beta1**step)
        v_hat = v / (1 - beta2**step)
        e0 = e0 - learning_rate * m_hat / (np.sqrt(v_hat) + ADAM_EPS)
    return model.forward(e0, sides)[0]


@dataclass(frozen=True)
class _Pairs:
    """The fixed part of the loss: positives, their pair weights, own negatives."""

    pos: np.ndarray  # (n, D) final embeddings of the positives
    sampled_weight: np.ndarray | None  # (n * k,) or None: every pair weighs 1
    num_negatives: int
    own: np.ndarray | None  # (m, D) final embeddings of the own negatives
    own_weight: np.ndarray | None  # (n, m) weight of each (positive, own) pair

    @classmethod
    def of(
        cls, model: FrozenNgcf, fb: VisitorFeedback, k: int, own_share: float
    ) -> _Pairs:
        relative = None if fb.weights is None else fb.weights / fb.weights.mean()
        own = own_weight = None
        if len(fb.negative_rows) and own_share > 0:
            own = model.item_final[fb.negative_rows]
            base = np.ones(len(fb.rows)) if relative is None else relative
            own_weight = own_share * np.outer(base, fb.negative_weights)
        sampled = None if relative is None else np.repeat(relative, k)
        return cls(model.item_final[fb.rows], sampled, k, own, own_weight)

    def gradient(self, f: np.ndarray, negs: np.ndarray) -> np.ndarray:
        """d L / d f for sampled negatives ``negs`` (n * k, D)."""
        n, k = len(self.pos), self.num_negatives
        pos_score = self.pos @ f
        # pair j = (positive j // k, negative j): x_j = <f, F_pos - F_neg>
        x = np.repeat(pos_score, k) - negs @ f
        c = _sigmoid(-x)  # d/dx of -log sigmoid(x) is -sigmoid(-x)
        total = float(len(x))
        if self.sampled_weight is not None:
            c = c * self.sampled_weight
            total = float(self.sampled_weight.sum())
        grad_f = c @ negs
        c_pos = c.reshape(n, k).sum(axis=1)
        if self.own is not None:
            margin = pos_score[:, None] - (self.own @ f)[None, :]  # (n, m)
            co = self.own_weight * _sigmoid(-margin)
            grad_f = grad_f + co.sum(axis=0) @ self.own
            c_pos = c_pos + co.sum(axis=1)
            total += float(self.own_weight.sum())
        return (grad_f - c_pos @ self.pos) / total


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))
