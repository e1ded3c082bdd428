"""Other in-request fine-tunings against zero epochs, on the tuning seeds only.

    python -m benchmarks.finetune_objectives --seeds 1 3 4

The served score is v = f + w g (``NgcfPredictor.visitor_vector``): f the visitor
node's final embedding, g the share-weighted centred neighbour term, w = 4. The
node's fine-tuning moves only its E0 row. This script fits other parts of v for
ten Adam steps, each from the zero-epoch vector v0 (or from the vector after the
E0 epochs, ``node_epochs``), so "0 steps" of every variant is the graded method
with zero epochs, arm (c). The site's choice (the neighbour weight after the E0
epochs, ``ngcf/neighbour_weight.py``) is the last variant and is also served:

- ``score``: an offset d on the whole vector, v = v0 + d;
- ``history``: softmax weights p = softmax(log a + l) over the visitor's own
  positives, v = f + w sum_j p_j G_j (l = 0 is the warm start);
- ``scale``: a per-visitor neighbour weight, v = f + w exp(b) g;
- ``ratio``: the same b with every context vector rescaled to |v0|, so only
  the ratio of f and g is fitted (the ranking does not depend on the scale);
- ``node``: an offset on E0 fitted leave-one-out through the frozen layers;
- ``centring``: the dial's c per visitor, v = f + w (g - dc m mu).

Each positive j is a target scored by a context vector built from: every
positive (``all``), the other positives (``others``: leave-one-out; for
``ratio`` and ``node`` f is rebuilt without j too, no leak), or the earlier ones
(``earlier``: time-ordered). The loss over sampled unseen items n (and, with
``own`` > 0, the visitor's own negatives o) is BPR on t (s_j - s_n) or a sampled
softmax over t s; t is a temperature: |v0| is about 20, so the raw margins sit
where the sigmoid is flat. Research code (torch autograd), not served.
Pretrains once per split seed; prints per seed and the mean over seeds of each
variant's NDCG@20 and Recall@20 relative to zero epochs on the graded protocol.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as nnf

from benchmarks.graded_sweep import tuning_data


@dataclass(frozen=True)
class Variant:
    """One in-request fine-tuning of the served score vector."""

    trained: str  # score, history, scale, ratio, node or centring
    context: str = "all"  # all, others (leave-one-out) or earlier (time-ordered)
    loss: str = "bpr"  # bpr or softmax
    learning_rate: float = 0.1  # Adam step size
    temperature: float = 0.1  # t: scores are multiplied by it in the loss
    own_weight: float = 3.0  # weight of (positive, own negative) pairs; 0: none
    num_negatives: int = 4  # sampled unseen items per positive and step
    # the node's served E0 fine-tuning runs first for this many epochs (then f is
    # the fine-tuned node's); 0: f is the warm start's
    node_epochs: int = 0

    @property
    def name(self) -> str:
        name = (
            f"{self.trained}, {self.context}, {self.loss} t {self.temperature:g},"
            f" lr {self.learning_rate:g}, own {self.own_weight:g}"
        )
        if self.num_negatives != 4:
            name += f", {self.num_negatives} negatives"
        return name + (", after the E0 epochs" if self.node_epochs else "")


EPOCHS = 10

# what was tried, in the order of the tracker's ideas (score vector, history
# weights with own negatives, time order, softmax), then what came out of them
VARIANTS = [
    Variant("score", learning_rate=0.1, temperature=1.0),
    Variant("score", learning_rate=0.01),
    Variant("score", learning_rate=0.01, own_weight=0.0),
    Variant("score", loss="softmax", learning_rate=0.03),
    Variant("history", "others"),
    Variant("history", "earlier"),
    Variant("centring", "others", learning_rate=0.05),
    Variant("scale", "others"),
    Variant("scale", "others", own_weight=0.0, learning_rate=0.3),
    Variant("scale", "others", own_weight=0.0, learning_rate=1.0),
    Variant("scale", "others", own_weight=0.0, learning_rate=0.3, num_negatives=16),
    Variant("scale", "others", loss="softmax", own_weight=0.0, learning_rate=0.3),
    Variant("scale", "earlier", own_weight=0.0, learning_rate=0.3),
    Variant("scale", "others", own_weight=0.0, learning_rate=0.3, temperature=0.2),
    Variant("scale", "others", own_weight=0.0, learning_rate=0.3, temperature=0.3),
    Variant("scale", "others", own_weight=0.0, learning_rate=0.3, node_epochs=EPOCHS),
    Variant(
        "scale",
        "others",
        own_weight=0.0,
        learning_rate=0.3,
        temperature=0.2,
        node_epochs=EPOCHS,
    ),
    Variant("ratio", "others", own_weight=0.0),
    Variant("node", "others", own_weight=0.0, learning_rate=0.03),
]


def context_weights(n: int, context: str) -> torch.Tensor:
    """(n, n) M[j, i] = 1 where positive i builds target j's context vector."""
    if context == "all":
        return torch.ones(n, n)
    if context == "others":
        return 1.0 - torch.eye(n)
    if context == "earlier":  # positives are in time order, oldest first
        return torch.tril(torch.ones(n, n), -1)
    raise ValueError(f"unknown context {context!r}")


def leave_one_out_nodes(model, rows, shares, e0_shift) -> torch.Tensor:
    """(n, D) f_{-j}: the node warm-started and linked without positive j."""
    n = len(rows)
    items = torch.as_tensor(model.item_final[rows])
    others = 1.0 - torch.eye(n)
    a = others * torch.as_tensor(shares, dtype=torch.float32)[None, :]
    e = (a / a.sum(1, keepdim=True)) @ items[:, model.slices[0]] + e0_shift
    degree = torch.as_tensor(model.inv_sqrt_degree[rows])
    sides = (others * degree[None, :]) @ items / np.sqrt(n - 1)
    out = [e]
    for layer, part in zip(model.layers, model.slices[:-1], strict=True):
        side = sides[:, part]
        z = torch.cat([side + e, side * e], 1) @ torch.as_tensor(layer.w).T
        z = z + torch.as_tensor(layer.bias)
        h = torch.where(z > 0, z, model.slope * z)
        e = h / h.norm(dim=1, keepdim=True).clamp_min(1e-12)
        out.append(e)
    return torch.cat(out, 1)


def fitted_vector(predictor, feedback, variant: Variant, rng) -> np.ndarray:
    """The score vector after ``EPOCHS`` Adam steps of ``variant`` from v0
    (``predictor`` fits no neighbour weight of its own)."""
    from pytorch_models.ngcf.finetune import sample_unclicked

    model, cfg = predictor.model, predictor.config
    rows, n = feedback.rows, len(feedback.rows)
    v0 = predictor.visitor_vector(feedback, variant.node_epochs, rng)
    v0 = v0.astype(np.float32)
    if n < 3:
        return v0
    f0 = torch.as_tensor(v0) - cfg.neighbour_weight * _g(predictor, feedback)
    shares = feedback.shares()
    g_rows = torch.as_tensor(_centred(predictor, rows))  # (n, D)
    popular = torch.as_tensor(
        predictor.neighbour_scale[rows][:, None] * predictor.user_mean[None, :]
    )
    pos = torch.as_tensor(model.item_final[rows])
    log_a = torch.log(torch.as_tensor(shares, dtype=torch.float32))
    weight = torch.as_tensor(shares * n, dtype=torch.float32)  # w_j / mean w
    mask = context_weights(n, variant.context)
    has_context = mask.sum(1) > 0
    offset = torch.zeros(v0.shape[0], requires_grad=True)
    logits = torch.zeros(n, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    dc = torch.zeros(1, requires_grad=True)
    e0_shift = torch.zeros(model.slices[0].stop, requires_grad=True)
    trained = {
        "score": offset,
        "history": logits,
        "scale": b,
        "ratio": b,
        "node": e0_shift,
        "centring": dc,
    }[variant.trained]
    opt = torch.optim.Adam([trained], lr=variant.learning_rate)
    seen = np.zeros(model.n_items, dtype=bool)
    seen[rows] = True
    seen[feedback.negative_rows] = True
    k = variant.num_negatives
    negs = sample_unclicked(seen, EPOCHS * n * k, rng)
    negs = torch.as_tensor(model.item_final[negs].reshape(EPOCHS, n, k, -1))
    own = torch.as_tensor(model.item_final[feedback.negative_rows])
    own_w = torch.as_tensor(feedback.negative_weights, dtype=torch.float32)
    use_own = variant.own_weight > 0 and len(own)
    norm0 = float(np.linalg.norm(v0))
    leak_free = variant.trained in ("ratio", "node")
    w = cfg.neighbour_weight

    def contexts() -> torch.Tensor:  # (n, D): target j's context vector
        p = torch.softmax(log_a + logits, 0)
        m = mask * p[None, :]
        m = m / m.sum(1, keepdim=True).clamp_min(1e-12)
        f = leave_one_out_nodes(model, rows, shares, e0_shift) if leak_free else f0
        c = f + offset + w * torch.exp(b) * (m @ (g_rows - dc * popular))
        if variant.trained == "ratio":
            c = c * (norm0 / c.norm(dim=1, keepdim=True))
        return c

    t = variant.temperature
    for step in range(EPOCHS):
        opt.zero_grad()
        c = contexts()
        s_pos = (c * pos).sum(1)  # (n,)
        s_neg = torch.einsum("nd,nkd->nk", c, negs[step])
        if variant.loss == "bpr":
            per = nnf.softplus(-t * (s_pos[:, None] - s_neg)).mean(1)
            if use_own:
                margin = s_pos[:, None] - c @ own.T
                per = per + variant.own_weight * (
                    own_w[None, :] * nnf.softplus(-t * margin)
                ).sum(1)
        else:
            scores = [s_pos[:, None], s_neg]
            if use_own:
                scores.append(c @ own.T + torch.log(variant.own_weight * own_w) / t)
            per = -torch.log_softmax(t * torch.cat(scores, 1), 1)[:, 0]
        keep = weight * has_context
        (keep * per).sum().div(keep.sum()).backward()
        opt.step()
    with torch.no_grad():
        p = torch.softmax(log_a + logits, 0)
        g = p @ (g_rows - dc * popular)
        f = f0
        if variant.trained == "node":
            e0 = torch.as_tensor(shares, dtype=torch.float32) @ pos[:, model.slices[0]]
            e0 = (e0 + e0_shift).numpy()
            f = torch.as_tensor(model.forward(e0, model.sides(rows))[0])
        return (f + offset + w * torch.exp(b) * g).numpy()


def _centred(predictor, rows) -> np.ndarray:
    """(n, D) G^c_j = G_j - c s_j mu of the served dial c."""
    c = predictor.config.centring
    scale = predictor.neighbour_scale[rows][:, None]
    return predictor.neighbours[rows] - c * scale * predictor.user_mean[None, :]


def _g(predictor, feedback) -> torch.Tensor:
    """(D,) the served neighbour term g = sum_j a_j G^c_j."""
    shares = feedback.shares().astype(np.float32)
    return torch.as_tensor(shares @ _centred(predictor, feedback.rows))


def rank_variant(predictor, heldout, signals, variant, *, k: int, seed: int):
    """Each visitor's top k under ``variant`` (popularity without positives)."""
    from pytorch_models.ngcf.ranking import rank_exact, top_k

    ranked = {}
    for u in heldout.users:
        ratings, weights = signals[u]
        known, _ = predictor._split_known(heldout.revealed[u].tolist())
        feedback, _, _ = predictor.feedback(known, ratings=ratings, weights=weights)
        exclude = predictor._rows(known)
        if not len(feedback.rows):
            top, _ = top_k(predictor._popularity_without(exclude), k)
        else:
            rng = np.random.default_rng(seed)
            v = fitted_vector(predictor, feedback, variant, rng).astype(np.float32)
            top, _ = rank_exact(predictor.model.item_final, v, None, exclude, k)
        ranked[u] = [int(predictor.item_ids[r]) for r in top]
    return ranked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 3, 4])
    args = parser.parse_args()
    data, stars, base = tuning_data(parser, args.seeds)
    from pytorch_models.foldin_graded import pretrain_split

    rows: dict[str, list[tuple[float, float]]] = {}
    for seed in args.seeds:
        zero, results = one_seed(pretrain_split(data, base, seed), stars, base)
        print(f"seed {seed}: zero epochs NDCG {zero.ndcg:.4f} R {zero.recall:.4f}")
        for name, q in results.items():
            ratio = q.over(zero)
            rows.setdefault(name, []).append((ratio.ndcg - 1, ratio.recall - 1))
            print(
                f"  {name}: NDCG {q.ndcg:.4f} ({ratio.ndcg - 1:+.1%})"
                f" R {q.recall:.4f} ({ratio.recall - 1:+.1%})",
                flush=True,
            )
    print(f"\nmean over seeds {args.seeds}, relative to zero epochs:")
    print("| fine-tuning | NDCG@20 | Recall@20 |\n| --- | ---: | ---: |")
    for name, values in rows.items():
        ndcg, recall = np.mean(values, axis=0)
        print(f"| {name} | {ndcg:+.1%} | {recall:+.1%} |")


def one_seed(run, stars, base):
    """Zero epochs' quality, and every fine-tuning's, on one pretrained split."""
    from pytorch_models.foldin import ranking_quality
    from pytorch_models.foldin_graded import graded_heldout, graded_signals, rank_graded
    from pytorch_models.ngcf.predictor import NgcfPredictor

    site = NgcfPredictor(run.checkpoint, base.graded)
    node_only = replace(base.graded, neighbour_weight_learning_rate=0.0)
    predictor = NgcfPredictor(run.checkpoint, node_only)
    vis = graded_heldout(run.heldout, stars, base.relevant_stars)
    signals = graded_signals(vis, stars, base.half_life)
    k, seed = run.protocol.k, run.seed

    def served(model, epochs: int):
        ranked = rank_graded(model, vis, signals, k=k, epochs=epochs, seed=seed)
        return ranking_quality(ranked, vis, k)

    results = {
        "E0 row alone, BPR (the site before)": served(predictor, EPOCHS),
        "E0 row, then the neighbour weight (the site)": served(site, EPOCHS),
    }
    for variant in VARIANTS:
        ranked = rank_variant(predictor, vis, signals, variant, k=k, seed=seed)
        results[variant.name] = ranking_quality(ranked, vis, k)
    return served(site, 0), results


if __name__ == "__main__":
    main()
