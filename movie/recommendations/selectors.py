"""Reads for the recommender side: a visitor's recommendations, similar movies,
and what the About-NGCF page shows about the served checkpoint."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import logging
import os
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from django.conf import settings
from django.core.cache import caches
from django.utils.translation import gettext as _

from movie import telemetry
from movie.events import Event
from movie.impressions import POPULAR_VERSION
from movie.models import ModelVersion, Movie
from movie.recommendations.predictor import get_predictor
from movie.recommendations.versions import champion_history
from movie.selectors import (
    VisitorHistory,
    VisitorSignals,
    events_for,
    movie_list_popular,
    movies_by_id,
    movies_in_order,
    signals_from,
)
from pytorch_models.checkpoint import key_digest
from pytorch_models.ngcf.signals import recency_weights

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecommendedMovie:
    rank: int
    movie: Movie
    score: float | None  # None for the popularity fallback
    because: list[Movie]  # the visitor's movies nearest to it
    rating: float | None  # the visitor's own rating, if any
    liked: bool = False  # every movie in `because` was rated as a strong positive

    @property
    def shown(self) -> str:
        """All the page shows of this item but the language (the movies' titles
        too), for keeping its HTML as a fragment."""
        because = ",".join(f"{m.pk}:{m.display_title}" for m in self.because)
        movie = f"{self.movie.pk}:{self.movie.display_title}"
        return f"{self.rank}|{movie}|{self.rating}|{self.liked}|{because}"


@dataclass(frozen=True)
class Recommendations:
    items: list[RecommendedMovie]
    source: str  # "ngcf" or "popular"
    message: str  # why the fallback was used, or ""
    used_ids: list[int]  # history movie ids the model used
    unknown_ids: list[int]  # history movie ids the model does not know
    not_interested_ids: list[int] = ()  # never shown to this visitor
    model_version: str = POPULAR_VERSION  # the model version that ranked them
    # how the visitor's node was made: "fold-in", "trained" (their node in the
    # served model), "trained+finetuned" (it, fine-tuned on newer events); ""
    # for popular movies
    served_from: str = ""


@dataclass(frozen=True)
class VisitorEvents:
    """Who asks, with their whole history: what finds their trained node."""

    user_key: str
    events: list[Event]  # newest first


@dataclass(frozen=True)
class SimilarMovies:
    movies: list[Movie]
    model_version: str  # the model version that found them ("" without one)


def recommendations_for_movies(
    *,
    movie_ids: list[int],
    k: int = 10,
    ratings: dict[int, float] | None = None,
    not_interested: list[int] = (),
    centring: float | None = None,
    visitor: VisitorEvents | None = None,
    keep: bool = False,
) -> Recommendations:
    """NGCF recommendations for a history of movie ids (most recent first, with
    the visitor's current ratings and "not interested" movies), or popular movies
    with the reason when NGCF cannot answer. Not-interested movies never appear.
    A ``visitor`` who is a user node of the served model starts from that node
    (`_trained_node`); without one, or anyone else, is folded in. With ``keep``
    the model's answer is kept ("kept_lists", one cache for every process of
    the host) and an identical input is answered from it without fine-tuning
    again."""
    ratings = ratings or {}
    hidden = list(not_interested)
    if not movie_ids and not hidden:
        return _popular(
            k,
            [],
            ratings,
            _(
                "You have no history yet: here are the most popular movies. "
                "Click posters to get your own."
            ),
        )
    state = get_predictor()
    if state.predictor is None:
        message = _(
            "Recommendations are unavailable (%(problem)s): here are the most "
            "popular movies."
        ) % {"problem": state.problem}
        return _popular(k, [*movie_ids, *hidden], ratings, message, reason="no model")
    trained, newer = _trained_node(state.predictor, visitor)
    call = {
        "k": k,
        "epochs": settings.NGCF_FINETUNE_EPOCHS,
        "ratings": ratings,
        "negative_ids": hidden,
        "centring": centring,
        "trained": trained,
        "newer_ids": newer,
    }
    if keep:
        key = _kept_list_key(state.identity, movie_ids, call, visitor)
        result = _kept("get", key)
        telemetry.KEPT_LISTS.labels(outcome="miss" if result is None else "hit").inc()
        if result is None:
            result = _fine_tuned(state.predictor, movie_ids, call)
            _kept("set", key, result)
    else:
        result = _fine_tuned(state.predictor, movie_ids, call)
    if not result or not result.positive_ids:
        message = _(
            "None of the movies you liked or clicked is known to the model "
            "yet: here are the most popular movies."
        )
        return _popular(
            k,
            [*movie_ids, *hidden],
            ratings,
            message,
            unknown_ids=result.unknown_ids,
            reason="unknown history",
        )
    telemetry.VISITOR_NODES.labels(path=result.served_from).inc()
    return _ngcf_items(result, ratings, hidden, state.version)


def _kept(operation: str, key: str, *args: Any) -> Any:
    """``get`` or ``set`` on the host's kept lists. Whatever goes wrong there
    (the folder unwritable, the disk full, a value that no longer loads) is a
    miss, logged, and the page fine-tunes as without the cache; a value that
    cannot be read is dropped."""
    try:
        # made on first use in each thread: a folder that cannot be made or
        # opened fails here, and is a miss like any other failure
        cache = caches["kept_lists"]
        return getattr(cache, operation)(key, *args)
    except Exception as exc:  # a cache must never fail the page
        logger.warning("kept For-you rows unavailable (%s): %r", operation, exc)
        if operation == "get":
            with contextlib.suppress(Exception):
                caches["kept_lists"].delete(key)
        return None


def _fine_tuned(predictor, movie_ids: list[int], call: dict):
    """The predictor's list for the history, fine-tuned now (the model work)."""
    recency = recency_weights(len(movie_ids), settings.NGCF_HALF_LIFE_EVENTS)
    with telemetry.MODEL_SECONDS.time():
        return predictor.recommend(
            movie_ids,
            seed=zlib.crc32(",".join(map(str, sorted(movie_ids))).encode()),
            weights=dict(zip(movie_ids, recency.tolist(), strict=True)),
            **call,
        )


def _source_digest() -> str:
    """The code that fine-tunes, as this process imported it: kept answers
    outlive the process that made them (they are on disk), so a deploy that
    changes the model code, this package or the numerical libraries must not be
    answered from the old code's rows. Read when this module is imported (in
    gunicorn's master, before it forks: a worker forked again after a
    `git pull` still runs the code the master imported). Files that cannot be
    read give a digest of this process alone."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"numpy {np.__version__} torch {torch.__version__}".encode())
    # the candidate index of large catalogues (pytorch_models.ngcf.candidates)
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        digest.update(f"faiss {importlib.metadata.version('faiss-cpu')}".encode())
    root = Path(__file__).resolve().parent.parent.parent
    try:
        for folder, pattern in (
            (root / "pytorch_models", "**/*.py"),
            (Path(__file__).resolve().parent, "*.py"),
        ):
            for path in sorted(folder.glob(pattern)):
                digest.update(path.read_bytes())
    except OSError as exc:
        logger.warning("fine-tuning code unreadable, rows kept per process: %r", exc)
        digest.update(f"{os.getpid()} {time.time()}".encode())
    return digest.hexdigest()


SOURCE_DIGEST = _source_digest()


def _kept_list_key(
    identity: tuple, movie_ids: list[int], call: dict, visitor: VisitorEvents | None
) -> str:
    """Everything `_fine_tuned` depends on, for keeping its answer: the loaded
    model and its settings (`PredictorState.identity`), the code, the recency
    half-life, the history with its stars and "not interested" movies, the
    dial, and for a visitor served from their trained node, who they are and
    their newer movies (the seed and the recency weights follow from the
    history)."""
    trained = call["trained"]
    whose = None if trained is None else key_digest(visitor.user_key)
    described = (
        identity,
        SOURCE_DIGEST,
        settings.NGCF_HALF_LIFE_EVENTS,
        call["k"],
        call["epochs"],
        call["centring"],
        movie_ids,
        sorted(call["ratings"].items()),
        call["negative_ids"],
        whose,
        call["newer_ids"],
    )
    return hashlib.blake2b(repr(described).encode(), digest_size=16).hexdigest()


def _trained_node(predictor, visitor: VisitorEvents | None) -> tuple[Any, list[int]]:
    """The visitor's trained node in the served model, and their movies with
    events its training did not see (newer than the snapshot, or late into the
    store); (None, []) folds the visitor in. So does a trained movie of theirs
    without an event up to the snapshot any more: they deleted it since, and a
    deleted click must not keep steering their list, so their node is made
    afresh from what they have now."""
    if visitor is None:
        return None, []
    node = predictor.trained_node(key_digest(visitor.user_key))
    if node is None:
        return None, []
    until = node.trained_until
    seen = {e.movie_id for e in visitor.events if until is None or e.ts <= until}
    if not node.movie_ids <= seen:
        telemetry.VISITOR_NODES.labels(path="changed").inc()
        return None, []
    newer = (
        e.movie_id
        for e in visitor.events
        if e.movie_id not in node.movie_ids or (until is not None and e.ts > until)
    )
    return node, list(dict.fromkeys(newer))


def _ngcf_items(
    result, ratings: dict[int, float], hidden: list[int], version: str
) -> Recommendations:
    wanted = {r.movie_id for r in result} | {m for r in result for m in r.because}
    movies = movies_by_id(wanted)
    liked = settings.NGCF_LIKED_STARS
    items = [
        RecommendedMovie(
            rank=rank,
            movie=movies[r.movie_id],
            score=r.score,
            because=[movies[m] for m in r.because if m in movies],
            rating=ratings.get(r.movie_id),
            liked=bool(r.because)
            and all(ratings.get(m, 0) >= liked for m in r.because),
        )
        for rank, r in enumerate((r for r in result if r.movie_id in movies), start=1)
    ]
    return Recommendations(
        items,
        "ngcf",
        "",
        result.used_ids,
        result.unknown_ids,
        hidden,
        version,
        result.served_from,
    )


def _popular(
    k: int,
    exclude: list[int],
    ratings: dict[int, float],
    message: str,
    unknown_ids: list[int] | None = None,
    reason: str | None = None,
) -> Recommendations:
    """Popular movies instead of NGCF; `reason` counts it as an operator-visible
    fallback (a visitor without history is not one)."""
    if reason is not None:
        telemetry.FALLBACKS.labels(reason=reason).inc()
    movies = movie_list_popular().exclude(pk__in=exclude)[:k]
    items = [
        RecommendedMovie(rank, movie, None, [], ratings.get(movie.pk))
        for rank, movie in enumerate(movies, start=1)
    ]
    return Recommendations(items, "popular", message, [], unknown_ids or [])


def recommendations_for(
    *, user_key: str | None, k: int = 10, centring: float | None = None
) -> Recommendations:
    """Recommendations for the visitor's own history at the dial's ``centring``
    (None: default); pages that read the history already call
    `recommendations_for_history`."""
    events = events_for(user_key=user_key)
    return _for_visitor(user_key, events, signals_from(events), k, centring)


def recommendations_for_history(
    history: VisitorHistory,
    *,
    k: int = 10,
    centring: float | None = None,
    keep: bool = False,
) -> Recommendations:
    """`recommendations_for` from the history the page read already."""
    return _for_visitor(
        history.user_key, history.events, history.signals, k, centring, keep
    )


def _for_visitor(
    user_key: str | None,
    events: list[Event],
    signals: VisitorSignals,
    k: int,
    centring: float | None,
    keep: bool = False,
) -> Recommendations:
    """The visitor's list; with a key, from their trained node when they are one."""
    return recommendations_for_signals(
        signals=signals,
        k=k,
        centring=centring,
        visitor=None if user_key is None else VisitorEvents(user_key, events),
        keep=keep,
    )


def recommendations_for_signals(
    *,
    signals: VisitorSignals,
    k: int = 10,
    centring: float | None = None,
    visitor: VisitorEvents | None = None,
    keep: bool = False,
) -> Recommendations:
    return recommendations_for_movies(
        movie_ids=signals.positive_ids,
        k=k,
        ratings=signals.ratings,
        not_interested=signals.not_interested,
        centring=centring,
        visitor=visitor,
        keep=keep,
    )


def for_you_row(
    history: VisitorHistory, *, k: int = 6, centring: float | None = None
) -> Recommendations | None:
    """Six NGCF picks for the home page; None without history or without NGCF.
    The model's answer is kept: the home page is seen again and again between a
    visitor's events, and the same input fine-tunes to the same list (the NGCF
    page fine-tunes in every request)."""
    if not history.signals.positive_ids:
        return None
    recs = recommendations_for_history(history, k=k, centring=centring, keep=True)
    return recs if recs.source == "ngcf" else None


def similar_movies(
    *, movie_id: int, k: int = 8, not_interested: Sequence[int] = ()
) -> SimilarMovies:
    """Movies nearest to this one in the NGCF item embeddings (none without model),
    without those the visitor marked not interested."""
    state = get_predictor()
    if state.predictor is None:
        return SimilarMovies([], "")
    hidden = set(not_interested)
    ids = [
        m
        for m, _score in state.predictor.similar(movie_id, k + len(hidden))
        if m not in hidden
    ]
    return SimilarMovies(movies_in_order(movie_ids=ids[:k]), state.version)


def training_curve_path() -> Path | None:
    """The training-curve PNG written beside the checkpoint, if there is one."""
    path = Path(settings.NGCF_CHECKPOINT).with_suffix(".png")
    return path if path.is_file() else None


def model_card() -> dict:
    """What the About-NGCF page shows about the current checkpoint."""
    state = get_predictor()
    metrics = state.predictor.metrics if state.predictor else None
    return {
        "available": state.predictor is not None,
        "problem": state.problem,
        "metrics": metrics,
        "test": metrics.test if metrics else {},
        "valid": metrics.valid if metrics else {},
        "has_curve": training_curve_path() is not None,
        "finetune_epochs": settings.NGCF_FINETUNE_EPOCHS,
        "beyond": served_beyond_accuracy(),
        "version": state.version,
        "history": champion_history(),
    }


def served_model() -> dict:
    """What GET /api/model answers: the version this process serves."""
    state = get_predictor()
    row = ModelVersion.objects.filter(version=state.version).first()
    return {
        "version": state.version or None,
        "created_at": state.info.get("created_at"),
        "status": row.status if row else None,
        "metrics": state.info.get("metrics", {}),
        "problem": state.problem,
        "process": os.getpid(),
    }


def served_beyond_accuracy() -> list[dict]:
    """Beyond-accuracy metrics of the served method, per fold-in seed, from the
    last `evaluate_foldin --graded` report ([] when there is none)."""
    path = settings.DATA_DIR / "reports" / "foldin-graded.json"
    try:
        seeds = json.loads(path.read_text())["seeds"]
        return [{"seed": s["seed"], **s["beyond"]["ungraded:served"]} for s in seeds]
    except (OSError, ValueError, KeyError, TypeError):
        return []
