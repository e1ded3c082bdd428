"""A visitor's feedback as signed weights: what the fine-tuning and the warm start
learn from.

A click is a positive of weight ``click_weight``; a rating maps its stars to a
weight through ``star_weights`` (the first threshold the stars reach, from the
top); a movie marked "not interested" weighs ``not_interested_weight``. A
negative weight makes the movie one of the visitor's own negatives. Recency
multiplies each weight by ``0.5 ** (age / half_life)``, age counted in events
back from the newest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["GradedSignals", "recency_weights", "signed_weights"]


@dataclass(frozen=True)
class GradedSignals:
    """How a visitor's events become signed weights."""

    click_weight: float = 1.0  # a click: a weak positive
    # ((min stars, weight), ...) from the highest threshold down; stars below the
    # last threshold take the last weight. The default makes every rating a click,
    # as the predictor always did; the site's settings grade them.
    star_weights: tuple[tuple[float, float], ...] = ((0.0, 1.0),)
    not_interested_weight: float = -1.0  # an explicit negative

    def __post_init__(self) -> None:
        if not self.star_weights:
            raise ValueError("star_weights needs at least one (stars, weight)")
        thresholds = [lo for lo, _ in self.star_weights]
        if thresholds != sorted(thresholds, reverse=True):
            raise ValueError("star_weights thresholds must go from high to low")
        if self.click_weight <= 0 or self.not_interested_weight >= 0:
            raise ValueError("clicks weigh > 0 and not-interested < 0")

    def for_stars(self, stars: float) -> float:
        for lo, weight in self.star_weights:
            if stars >= lo:
                return weight
        return self.star_weights[-1][1]


def recency_weights(count: int, half_life: float) -> np.ndarray:
    """(count,) weights of events given newest first: 1 for the newest, halved
    every ``half_life`` events back (all 1 for an infinite half-life)."""
    if half_life <= 0:
        raise ValueError("half_life must be > 0")
    age = np.arange(count, dtype=np.float64)
    if math.isinf(half_life):
        return np.ones(count)
    return 0.5 ** (age / half_life)


def signed_weights(
    movie_ids: Sequence[int],
    signals: GradedSignals,
    *,
    ratings: Mapping[int, float] | None = None,
    negative_ids: frozenset[int] = frozenset(),
    weights: Mapping[int, float] | None = None,
) -> np.ndarray:
    """(len(movie_ids),) signed weight of each movie: not interested, else its
    rating's weight, else a click; times its ``weights`` entry (default 1)."""
    ratings = ratings or {}
    weights = weights or {}
    out = np.empty(len(movie_ids))
    for k, movie in enumerate(movie_ids):
        if movie in negative_ids:
            base = signals.not_interested_weight
        elif movie in ratings:
            base = signals.for_stars(float(ratings[movie]))
        else:
            base = signals.click_weight
        out[k] = base * float(weights.get(movie, 1.0))
    return out
