"""Reads: the catalogue and the visitor's click log (recommendations are in
movie.recommendations.selectors)."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet

from movie.clicklog import get_clicklog_store
from movie.event_labels import MovieMark, history_label, marks_from
from movie.events import Event
from movie.models import Genre, Movie, natural_title
from movie.title_search import Title, titles_ranked


@dataclass(frozen=True)
class HistoryEntry:
    event: Event
    movie: Movie | None  # None when the movie left the catalogue

    @property
    def css(self) -> str:
        return history_label(self.event)[0]

    @property
    def label(self) -> str:
        """What the entry was: "clicked", "rated 4.5"."""
        return history_label(self.event)[1]


def movie_list_popular() -> QuerySet[Movie]:
    """Movies, most interacted-with first."""
    return Movie.objects.order_by("-popularity", "id").prefetch_related("genres")


@functools.lru_cache(maxsize=2)
def _titles(rows: tuple[tuple[int, str, int], ...]) -> tuple[Title, ...]:
    return tuple(Title(pk, natural_title(title), n) for pk, title, n in rows)


def movie_search(*, query: str, limit: int | None = None) -> list[int]:
    """Ids of the movies whose titles match the query, best match first; it
    forgives typos, missing spaces and articles (movie.title_search).

    The titles are read on every search, so a changed catalogue is searched at
    once; what is derived from them is cached per process for the same rows.
    """
    rows = tuple(Movie.objects.values_list("id", "title", "popularity"))
    return titles_ranked(query, _titles(rows), limit=limit)


def movies_in_order(*, movie_ids: list[int]) -> list[Movie]:
    """The movies of `movie_ids` in that order, with their genres."""
    movies = Movie.objects.prefetch_related("genres").in_bulk(movie_ids)
    return [movies[pk] for pk in movie_ids if pk in movies]


def genre_list() -> QuerySet[Genre]:
    return Genre.objects.all()


def movies_in_genre(*, genre: Genre) -> QuerySet[Movie]:
    return genre.movies.order_by("-popularity", "id").prefetch_related("genres")


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


def marks_for(*, user_key: str | None) -> dict[int, MovieMark]:
    """How grids mark the movies the visitor clicked or rated (by movie id)."""
    return marks_from(_events(user_key))


def rating_for(*, user_key: str | None, movie_id: int) -> float | None:
    return ratings_for(user_key=user_key).get(movie_id)


def interacted_movie_ids(*, user_key: str | None) -> list[int]:
    """Movies the visitor clicked or rated, most recent first, each once."""
    return movie_ids_from(_events(user_key))
