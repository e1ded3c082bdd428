"""Reads: the catalogue and the visitor's click log (recommendations are in
movie.recommendations.selectors)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

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


def ratings_from(events: list[Event]) -> dict[int, float]:
    """The newest rating of each movie, from events given newest first."""
    ratings: dict[int, float] = {}
    for event in events:
        if event.kind == "rating" and event.movie_id not in ratings:
            ratings[event.movie_id] = event.rating
    return ratings


def movie_ids_from(events: list[Event]) -> list[int]:
    """Movies clicked or rated, most recent first, each once."""
    return list(dict.fromkeys(event.movie_id for event in events))


def ratings_for(*, user_key: str | None) -> dict[int, float]:
    """The visitor's current rating of each movie they rated (the newest one)."""
    return ratings_from(_events(user_key))


def rating_for(*, user_key: str | None, movie_id: int) -> float | None:
    return ratings_for(user_key=user_key).get(movie_id)


def interacted_movie_ids(*, user_key: str | None) -> list[int]:
    """Movies the visitor clicked or rated, most recent first, each once."""
    return movie_ids_from(_events(user_key))
