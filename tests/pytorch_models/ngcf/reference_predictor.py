"""An independent, plain-autograd implementation of what NgcfPredictor serves.

It reads the checkpoint file itself and fits the visitor with torch's own Adam
and autograd, so the predictor's numpy forward, hand-written backward, Adam,
ranking and explanations are checked against code that shares none of them.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

from pytorch_models.ngcf.predictor import FinetuneConfig


def _negatives(known: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """The predictor's sampling protocol: uniform, clicked items redrawn."""
    neg = rng.integers(0, known.size, size=count)
    while known[neg].any():
        bad = known[neg]
        neg[bad] = rng.integers(0, known.size, size=int(bad.sum()))
    return neg


def reference_recommend(
    path, history, k=10, epochs=10, seed=0, config=None
) -> list[tuple[int, float, tuple[int, ...]]]:
    """(movie id, score, because) of the top k, best first."""
    config = config or FinetuneConfig()
    data = torch.load(path, weights_only=True)
    item_ids = data["item_ids"].tolist()
    index = {raw: row for row, raw in enumerate(item_ids)}
    clicked = list(dict.fromkeys(m for m in history if m in index))
    rows = torch.tensor([index[m] for m in clicked])
    layers = [e.float() for e in data["item_layer_embeddings"]]
    items = torch.cat(layers, dim=1)  # (n_items, D)
    degree = data["item_degree"].float()
    state = data["state_dict"]
    slope = data["model_config"]["leaky_relu_slope"]
    weight = degree.clamp(min=1).rsqrt()[rows] / math.sqrt(len(rows))
    sides = [weight @ layer[rows] for layer in layers[:-1]]

    def final(e0: torch.Tensor) -> torch.Tensor:
        out, e = [e0], e0
        for depth, side in enumerate(sides):
            z = F.linear(
                side + e, state[f"w1.{depth}.weight"], state[f"w1.{depth}.bias"]
            ) + F.linear(
                side * e, state[f"w2.{depth}.weight"], state[f"w2.{depth}.bias"]
            )
            h = F.leaky_relu(z, slope)
            e = h / h.norm().clamp(min=1e-12)
            out.append(e)
        return torch.cat(out)

    e0 = layers[0][rows].mean(0).clone().requires_grad_(epochs > 0)
    known = np.zeros(len(item_ids), dtype=bool)
    known[rows.numpy()] = True
    n_neg = config.num_negatives
    rng = np.random.default_rng(seed)
    if epochs > 0:
        neg = _negatives(known, epochs * len(rows) * n_neg, rng)
        neg = torch.from_numpy(neg).view(epochs, len(rows) * n_neg)
        optimizer = torch.optim.Adam([e0], lr=config.learning_rate, eps=1e-8)
        for step in range(epochs):
            f = final(e0)
            margin = (items[rows] @ f).repeat_interleave(n_neg) - items[neg[step]] @ f
            loss = F.softplus(-margin).mean() + config.l2_weight * e0.pow(2).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        visitor = final(e0)
        if config.neighbour_weight and "item_neighbour_embeddings" in data:
            neighbours = data["item_neighbour_embeddings"].float()
            visitor = visitor + config.neighbour_weight * neighbours[rows].mean(0)
        scores = items @ visitor + config.popularity_weight * torch.log1p(degree)
        scores[rows] = -math.inf
        top = torch.argsort(scores, descending=True)[
            : min(k, len(item_ids) - len(rows))
        ]
        unit = F.normalize(items, dim=1)
        similarity = unit[top] @ unit[rows].T
        count = min(config.because_count, len(rows))
        because = torch.argsort(similarity, dim=1, descending=True)[:, :count]
    return [
        (item_ids[row], float(scores[row]), tuple(clicked[j] for j in reasons))
        for row, reasons in zip(top.tolist(), because.tolist(), strict=True)
    ]
