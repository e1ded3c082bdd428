"""Reads for the recommender side: a visitor's recommendations, similar movies,
and what the About-NGCF page shows about the served checkpoint."""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from movie import telemetry
from movie.impressions import POPULAR_VERSION
from movie.models import Movie
from movie.recommendations.predictor import get_predictor
from movie.recommendations.versions import champion_history
from movie.selectors import (
    HistoryEntry,
    history_for,
    movie_ids_from,
    movie_list_popular,
    ratings_from,
)


@dataclass(frozen=True)
class RecommendedMovie:
    rank: int
    movie: Movie
    score: float | None  # None for the popularity fallback
    because: list[Movie]  # clicked movies that contributed most
    rating: float | None  # the visitor's own rating, if any


@dataclass(frozen=True)
class Recommendations:
    items: list[RecommendedMovie]
    source: str  # "ngcf" or "popular"
    message: str  # why the fallback was used, or ""
    used_ids: list[int]  # history movie ids the model used
    unknown_ids: list[int]  # history movie ids the model does not know
    model_version: str = POPULAR_VERSION  # the model version that ranked them


@dataclass(frozen=True)
class SimilarMovies:
    movies: list[Movie]
    model_version: str  # the model version that found them ("" without one)


def recommendations_for_movies(
    *, movie_ids: list[int], k: int = 10, ratings: dict[int, float] | None = None
) -> Recommendations:
    """NGCF recommendations for a history of movie ids (most recent first), or
    popular movies with the reason when NGCF cannot answer."""
    ratings = ratings or {}
    if not movie_ids:
        return _popular(
            k,
            movie_ids,
            ratings,
            "You have no history yet: here are "
            "the most popular movies. Click posters to get your own.",
        )
    state = get_predictor()
    if state.predictor is None:
        telemetry.FALLBACKS.labels(reason="no model").inc()
        return _popular(
            k,
            movie_ids,
            ratings,
            f"Recommendations are unavailable "
            f"({state.problem}): here are the most popular movies.",
        )
    with telemetry.MODEL_SECONDS.time():
        result = state.predictor.recommend(
            movie_ids,
            k=k,
            epochs=settings.NGCF_FINETUNE_EPOCHS,
            seed=zlib.crc32(",".join(map(str, sorted(movie_ids))).encode()),
        )
    if not result:
        telemetry.FALLBACKS.labels(reason="unknown history").inc()
        return _popular(
            k,
            movie_ids,
            ratings,
            "None of the movies in your history "
            "is known to the model yet: here are the most popular movies.",
            unknown_ids=result.unknown_ids,
        )
    wanted = {r.movie_id for r in result} | {m for r in result for m in r.because}
    movies = Movie.objects.in_bulk(wanted)
    items = [
        RecommendedMovie(
            rank=rank,
            movie=movies[r.movie_id],
            score=r.score,
            because=[movies[m] for m in r.because if m in movies],
            rating=ratings.get(r.movie_id),
        )
        for rank, r in enumerate((r for r in result if r.movie_id in movies), start=1)
    ]
    return Recommendations(
        items, "ngcf", "", result.used_ids, result.unknown_ids, state.version
    )


def _popular(
    k: int,
    exclude: list[int],
    ratings: dict[int, float],
    message: str,
    unknown_ids: list[int] | None = None,
) -> Recommendations:
    movies = movie_list_popular().exclude(pk__in=exclude)[:k]
    items = [
        RecommendedMovie(rank, movie, None, [], ratings.get(movie.pk))
        for rank, movie in enumerate(movies, start=1)
    ]
    return Recommendations(items, "popular", message, [], unknown_ids or [])


def recommendations_for(
    *, user_key: str | None, k: int = 10, history: list[HistoryEntry] | None = None
) -> Recommendations:
    """Recommendations for the visitor's own clicks and ratings (`history`, newest
    first, when the caller already read it)."""
    if history is None:
        history = history_for(user_key=user_key)
    events = [entry.event for entry in history]
    return recommendations_for_movies(
        movie_ids=movie_ids_from(events), k=k, ratings=ratings_from(events)
    )


def similar_movies(*, movie_id: int, k: int = 8) -> SimilarMovies:
    """Movies nearest to this one in the NGCF item embeddings (none without model)."""
    state = get_predictor()
    if state.predictor is None:
        return SimilarMovies([], "")
    ids = [m for m, _ in state.predictor.similar(movie_id, k)]
    movies = Movie.objects.in_bulk(ids)
    return SimilarMovies([movies[m] for m in ids if m in movies], state.version)


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
        "version": state.version,
        "history": champion_history(),
    }


def served_model() -> dict:
    """What GET /api/model answers: the version this process serves."""
    from movie.models import ModelVersion

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
