"""Reads: the catalogue and the visitor's click log."""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import Q, QuerySet

from movie.clicklog import get_clicklog_store
from movie.events import Event
from movie.models import Genre, Movie

LEADING_ARTICLES = ("the ", "a ", "an ")


@dataclass(frozen=True)
class HistoryEntry:
    event: Event
    movie: Movie | None  # None when the movie left the catalogue


def movie_list_popular() -> QuerySet[Movie]:
    """Movies, most interacted-with first."""
    return Movie.objects.order_by("-popularity", "id")


def movie_search(*, query: str) -> QuerySet[Movie]:
    """Movies whose title contains the query, case-insensitively.

    MovieLens writes "Usual Suspects, The", so a leading article in the query is
    also tried without the article.
    """
    query = " ".join(query.split())
    if not query:
        return Movie.objects.none()
    condition = Q(title__icontains=query)
    lowered = query.lower()
    for article in LEADING_ARTICLES:
        if lowered.startswith(article) and len(query) > len(article):
            condition |= Q(title__icontains=query[len(article) :])
    return Movie.objects.filter(condition).order_by("-popularity", "id")


def genre_list() -> QuerySet[Genre]:
    return Genre.objects.all()


def movies_in_genre(*, genre: Genre) -> QuerySet[Movie]:
    return genre.movies.order_by("-popularity", "id")


def _events(user_key: str | None, limit: int | None = None) -> list[Event]:
    """The visitor's events, newest first; none for a visitor without a key yet."""
    if user_key is None:
        return []
    return get_clicklog_store().history(user_key, limit=limit)


def history_for(
    *, user_key: str | None, limit: int | None = None
) -> list[HistoryEntry]:
    """The visitor's events, newest first, with their movies."""
    events = _events(user_key, limit=limit)
    movies = Movie.objects.in_bulk({e.movie_id for e in events})
    return [HistoryEntry(event=e, movie=movies.get(e.movie_id)) for e in events]


def history_sidebar(*, user_key: str | None) -> list[HistoryEntry]:
    return history_for(user_key=user_key, limit=settings.HISTORY_SIDEBAR_LENGTH)


def history_event(*, user_key: str | None, event_id: uuid.UUID) -> Event | None:
    if user_key is None:
        return None
    return get_clicklog_store().get(user_key, event_id)


def _ratings(events: list[Event]) -> dict[int, float]:
    """The newest rating of each movie, from events given newest first."""
    ratings: dict[int, float] = {}
    for event in events:
        if event.kind == "rating" and event.movie_id not in ratings:
            ratings[event.movie_id] = event.rating
    return ratings


def _movie_ids(events: list[Event]) -> list[int]:
    """Movies clicked or rated, most recent first, each once."""
    return list(dict.fromkeys(event.movie_id for event in events))


def ratings_for(*, user_key: str | None) -> dict[int, float]:
    """The visitor's current rating of each movie they rated (the newest one)."""
    return _ratings(_events(user_key))


def rating_for(*, user_key: str | None, movie_id: int) -> float | None:
    return ratings_for(user_key=user_key).get(movie_id)


def interacted_movie_ids(*, user_key: str | None) -> list[int]:
    """Movies the visitor clicked or rated, most recent first, each once."""
    return _movie_ids(_events(user_key))


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


def recommendations_for_movies(
    *, movie_ids: list[int], k: int = 10, ratings: dict[int, float] | None = None
) -> Recommendations:
    """NGCF recommendations for a history of movie ids (most recent first), or
    popular movies with the reason when NGCF cannot answer."""
    from movie.recommender import get_predictor

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
        return _popular(
            k,
            movie_ids,
            ratings,
            f"Recommendations are unavailable "
            f"({state.problem}): here are the most popular movies.",
        )
    result = state.predictor.recommend(
        movie_ids,
        k=k,
        epochs=settings.NGCF_FINETUNE_EPOCHS,
        seed=zlib.crc32(",".join(map(str, sorted(movie_ids))).encode()),
    )
    if not result:
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
    return Recommendations(items, "ngcf", "", result.used_ids, result.unknown_ids)


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
        movie_ids=_movie_ids(events), k=k, ratings=_ratings(events)
    )


def similar_movies(*, movie_id: int, k: int = 8) -> list[Movie]:
    """Movies nearest to this one in the NGCF item embeddings ([] without model)."""
    from movie.recommender import get_predictor

    predictor = get_predictor().predictor
    if predictor is None:
        return []
    ids = [m for m, _ in predictor.similar(movie_id, k)]
    movies = Movie.objects.in_bulk(ids)
    return [movies[m] for m in ids if m in movies]


def training_curve_path() -> Path | None:
    """The training-curve PNG written beside the checkpoint, if there is one."""
    path = Path(settings.NGCF_CHECKPOINT).with_suffix(".png")
    return path if path.is_file() else None


def model_card() -> dict:
    """What the About-NGCF page shows about the current checkpoint."""
    from movie.recommender import get_predictor

    state = get_predictor()
    metrics = state.predictor.metrics if state.predictor else {}
    return {
        "available": state.predictor is not None,
        "problem": state.problem,
        "metrics": metrics,
        "test": metrics.get("test", {}),
        "valid": metrics.get("valid", {}),
        "has_curve": training_curve_path() is not None,
        "finetune_epochs": settings.NGCF_FINETUNE_EPOCHS,
    }
