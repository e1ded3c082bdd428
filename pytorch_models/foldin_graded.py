"""The graded fold-in protocol: do stars, dislikes and recency make the
in-request recommendations better, and do the ten epochs earn their place?

Held-out users (as in :mod:`pytorch_models.foldin`) reveal their first
``revealed`` events by time *with their stars*; relevant are their later movies
rated ``relevant_stars`` or more. Per split seed, one pretraining, then:

(a) ``today``: the ``today`` config, every revealed movie a positive;
(b) ``graded``: the ``graded`` config, fed the stars and recency weights;
(c) ``graded_zero``: (b) with zero fine-tuning epochs;
(d) ``popular``: interaction counts of the pretraining data plus the reveals;
(e) ``ease``: EASE on the same signed, recency-weighted input as (b).

The ungraded protocol (every later movie relevant, every reveal a click) is run
beside it for ``today`` and ``served`` (the graded config on clicks, the site's
default dial), with the beyond-accuracy metrics of every method's top 10.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from pytorch_models.beyond_accuracy import BeyondAccuracy, beyond_accuracy
from pytorch_models.data import Interactions
from pytorch_models.foldin import (
    FoldinConfig,
    HeldOut,
    Quality,
    Ranked,
    pretraining_split,
    rank_ease,
    rank_popular,
    ranking_quality,
    split_heldout_users,
)
from pytorch_models.ngcf.predictor import FinetuneConfig, NgcfPredictor
from pytorch_models.ngcf.signals import recency_weights, signed_weights
from pytorch_models.training import train_ngcf

logger = logging.getLogger(__name__)

__all__ = [
    "GRADED_METHODS",
    "GradedFoldinConfig",
    "GradedReport",
    "evaluate_foldin_graded",
    "graded_heldout",
    "graded_signals",
    "pretrain_split",
    "rank_graded",
    "score_split",
]

GRADED_METHODS = {
    "today": "(a) today: every revealed movie a positive",
    "graded": "(b) graded method",
    "graded_zero": "(c) graded method, zero epochs",
    "popular": "(d) popularity",
    "ease": "(e) EASE on the graded input",
}
UNGRADED_METHODS = {
    "today": "today (ungraded protocol)",
    "served": "served method, default dial (ungraded protocol)",
}


@dataclass(frozen=True)
class GradedFoldinConfig:
    """The graded protocol and the two methods it compares."""

    protocol: FoldinConfig = field(default_factory=FoldinConfig)  # seed ignored
    seeds: tuple[int, ...] = (0, 1, 2)  # fold-in split seeds
    today: FinetuneConfig = field(default_factory=FinetuneConfig)  # (a)
    graded: FinetuneConfig = field(default_factory=FinetuneConfig)  # (b), (c)
    half_life: float = float("inf")  # recency half-life of (b), (c), (e), in events
    relevant_stars: float = 4.0  # later movies rated this or more are relevant
    top: int = 10  # list length of the beyond-accuracy metrics


@dataclass(frozen=True)
class SeedResult:
    seed: int
    visitors: int  # graded protocol (users with a relevant later movie)
    graded: dict[str, Quality]  # by GRADED_METHODS name
    ungraded: dict[str, Quality]  # by UNGRADED_METHODS name
    beyond: dict[str, BeyondAccuracy]  # "graded:<name>" and "ungraded:<name>"


@dataclass(frozen=True)
class GradedReport:
    config: GradedFoldinConfig
    seeds: list[SeedResult]

    def to_dict(self) -> dict[str, object]:
        """Plain-Python form for JSON."""
        return {
            "seeds": [asdict(r) for r in self.seeds],
            "half_life": self.config.half_life,
            "graded_config": asdict(self.config.graded),
            "today_config": asdict(self.config.today),
        }

    def markdown(self) -> str:
        k = self.config.protocol.k
        head = f"| method | Recall@{k} | NDCG@{k} | top-{self.config.top} coverage"
        lines = []
        for result in self.seeds:
            lines += [
                f"seed {result.seed}: {result.visitors} visitors (graded protocol)",
                head + " | median pop rank | mean pop rank | Gini | long-tail share |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            ]
            for part, names in (
                ("graded", GRADED_METHODS),
                ("ungraded", UNGRADED_METHODS),
            ):
                for name, label in names.items():
                    q = getattr(result, part)[name]
                    b = result.beyond[f"{part}:{name}"]
                    lines.append(
                        f"| {label} | {q.recall:.4f} | {q.ndcg:.4f} | {b.coverage} |"
                        f" {b.median_popularity_rank:.0f} |"
                        f" {b.mean_popularity_rank:.1f} | {b.gini:.3f} |"
                        f" {b.long_tail_share:.3f} |"
                    )
            lines.append("")
        lines += self._spread(k)
        return "\n".join(lines) + "\n"

    def _spread(self, k: int) -> list[str]:
        seeds = ", ".join(str(r.seed) for r in self.seeds)
        lines = [
            f"mean +- std over seeds {seeds}:",
            f"| method | Recall@{k} | NDCG@{k} |",
            "| --- | ---: | ---: |",
        ]
        for part, names in (("graded", GRADED_METHODS), ("ungraded", UNGRADED_METHODS)):
            for name, label in names.items():
                qs = [getattr(r, part)[name] for r in self.seeds]
                lines.append(
                    f"| {label} | {_spread([q.recall for q in qs])} |"
                    f" {_spread([q.ndcg for q in qs])} |"
                )
        for a, b in (("graded", "today"), ("graded", "graded_zero")):
            ratios = [r.graded[a].over(r.graded[b]) for r in self.seeds]
            per_seed = ", ".join(
                f"seed {r.seed}: NDCG {q.ndcg - 1:+.1%}, Recall {q.recall - 1:+.1%}"
                for r, q in zip(self.seeds, ratios, strict=True)
            )
            lines.append(f"\n({a} / {b}) {per_seed}")
        return lines


def _spread(values: list[float]) -> str:
    x = np.asarray(values)
    std = x.std(ddof=1) if x.size > 1 else 0.0
    return f"{x.mean():.4f} +- {std:.4f}"


def graded_heldout(heldout: HeldOut, stars: np.ndarray, relevant: float) -> HeldOut:
    """The held-out users whose later movies include one rated ``relevant`` or
    more, with only those as targets."""
    revealed, targets, rows = {}, {}, {}
    for u in heldout.users:
        later = heldout.target_rows[u]
        keep = stars[later] >= relevant
        if keep.any():
            revealed[u] = heldout.revealed[u]
            targets[u] = heldout.targets[u][keep]
            rows[u] = heldout.revealed_rows[u]
    return HeldOut(revealed, targets, rows, {})


def graded_signals(
    heldout: HeldOut, stars: np.ndarray, half_life: float
) -> dict[int, tuple[dict[int, float], dict[int, float]]]:
    """Per user: the revealed movies' stars and recency weights (newest 1)."""
    out = {}
    for u in heldout.users:
        items = heldout.revealed[u].tolist()  # oldest first
        recency = recency_weights(len(items), half_life)[::-1]
        ratings = dict(
            zip(items, stars[heldout.revealed_rows[u]].tolist(), strict=True)
        )
        out[u] = (ratings, dict(zip(items, recency.tolist(), strict=True)))
    return out


def rank_graded(
    predictor: NgcfPredictor,
    heldout: HeldOut,
    signals: dict | None,
    *,
    k: int,
    epochs: int,
    seed: int,
) -> Ranked:
    """Each visitor served by ``predictor``, with its stars and recency weights
    when ``signals`` is given, as clicks otherwise."""
    ranked = {}
    for u in heldout.users:
        ratings, weights = signals[u] if signals else (None, None)
        recs = predictor.recommend(
            heldout.revealed[u].tolist(),
            k=k,
            epochs=epochs,
            seed=seed,
            ratings=ratings,
            weights=weights,
        )
        ranked[u] = [r.movie_id for r in recs]
    return ranked


def evaluate_foldin_graded(
    data: Interactions,
    stars: np.ndarray,
    config: GradedFoldinConfig | None = None,
    say: Callable[[str], None] = logger.info,
) -> GradedReport:
    """Run both protocols on every seed of ``config.seeds``; ``stars`` are the
    ratings of ``data``'s rows."""
    config = config or GradedFoldinConfig()
    if stars.shape != data.users.shape:
        raise ValueError("stars must hold one rating per interaction")
    return GradedReport(
        config, [_one_seed(data, stars, config, s, say) for s in config.seeds]
    )


@dataclass(frozen=True)
class Pretrained:
    """One split seed's protocol, held-out users and pretrained checkpoint."""

    seed: int
    protocol: FoldinConfig
    pretraining: Interactions
    heldout: HeldOut
    checkpoint: object  # pytorch_models.checkpoint.Checkpoint


def pretrain_split(
    data: Interactions, config: GradedFoldinConfig, seed: int
) -> Pretrained:
    """Hold out split ``seed``'s users and pretrain without them."""
    protocol = replace(config.protocol, seed=seed)
    protocol = replace(protocol, train=replace(protocol.train, seed=seed))
    pre, heldout = split_heldout_users(data, protocol)
    train, valid, empty = pretraining_split(pre, seed)
    checkpoint = train_ngcf(train, valid, empty, protocol.train).checkpoint
    return Pretrained(seed, protocol, pre, heldout, checkpoint)


def _one_seed(data, stars, config: GradedFoldinConfig, seed: int, say) -> SeedResult:
    run = pretrain_split(data, config, seed)
    say(f"seed {seed}: pretrained, {len(run.heldout.users)} held-out users")
    return score_split(run, stars, config)


def score_split(
    run: Pretrained, stars: np.ndarray, config: GradedFoldinConfig
) -> SeedResult:
    """Every method of both protocols on one pretrained split."""
    seed, heldout, checkpoint = run.seed, run.heldout, run.checkpoint
    today = NgcfPredictor(checkpoint, config.today)
    graded = NgcfPredictor(checkpoint, config.graded)
    vis = graded_heldout(heldout, stars, config.relevant_stars)
    signals = graded_signals(vis, stars, config.half_life)
    k, epochs = run.protocol.k, run.protocol.finetune_epochs
    ease = _ease_signals(graded, vis, signals)
    ranked = {
        "today": rank_graded(today, vis, None, k=k, epochs=epochs, seed=seed),
        "graded": rank_graded(graded, vis, signals, k=k, epochs=epochs, seed=seed),
        "graded_zero": rank_graded(graded, vis, signals, k=k, epochs=0, seed=seed),
        "popular": rank_popular(run.pretraining, vis, k),
        "ease": rank_ease(run.pretraining, vis, run.protocol.ease_l2, k, ease),
    }
    plain = {
        "today": rank_graded(today, heldout, None, k=k, epochs=epochs, seed=seed),
        "served": rank_graded(graded, heldout, None, k=k, epochs=epochs, seed=seed),
    }
    index = {int(raw): i for i, raw in enumerate(checkpoint.item_ids.tolist())}
    degree = checkpoint.item_degree.numpy()

    def shown(lists: Ranked) -> BeyondAccuracy:
        top = config.top
        rows = [[index[m] for m in lists[u][:top] if m in index] for u in sorted(lists)]
        return beyond_accuracy(rows, degree)

    beyond = {f"graded:{m}": shown(r) for m, r in ranked.items()}
    beyond.update({f"ungraded:{m}": shown(r) for m, r in plain.items()})
    return SeedResult(
        seed=seed,
        visitors=len(vis.users),
        graded={m: ranking_quality(r, vis, k) for m, r in ranked.items()},
        ungraded={m: ranking_quality(r, heldout, k) for m, r in plain.items()},
        beyond=beyond,
    )


def _ease_signals(
    predictor: NgcfPredictor, heldout: HeldOut, signals: dict
) -> dict[int, np.ndarray]:
    """(e)'s input: the graded method's signed, recency-weighted signals."""
    return {
        u: signed_weights(
            heldout.revealed[u].tolist(),
            predictor.config.signals,
            ratings=signals[u][0],
            weights=signals[u][1],
        )
        for u in heldout.users
    }
