"""Reads: the catalogue and the visitor's click log (recommendations are in
movie.recommendations.selectors)."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

from movie.clicklog import get_clicklog_store
from movie.event_labels import EFFECT_WORDS, MovieMark, history_label, marks_from
from movie.events import Event
from movie.models import Genre, Movie, natural_title, specific_first
from movie.title_search import Title, titles_ranked


@dataclass(frozen=True)
class HistoryEntry:
    event: Event
    movie: Movie | None  # None when the movie left the catalogue
    # what the event does for recommendations now: liked, clicked, rated,
    # disliked, not interested, or superseded by a newer judgement of the movie
    effect: str = ""

    @functools.cached_property
    def _label(self) -> tuple[str, str]:
        return history_label(self.event)

    @property
    def css(self) -> str:
        return self._label[0]

    @property
    def label(self) -> str:
        """What the entry was: "clicked", "rated 4.5"."""
        return self._label[1]

    @property
    def effect_words(self) -> str:
        """The effect, when it says more than the label ("liked", "superseded")."""
        if self.effect in ("", "clicked", "not interested"):
            return ""
        return EFFECT_WORDS[self.effect]()


def movie_list_popular(*, not_interested: Sequence[int] = ()) -> QuerySet[Movie]:
    """Movies, most interacted-with first, without those the visitor marked not
    interested (`VisitorSignals.not_interested`)."""
    movies = Movie.objects.order_by("-popularity", "id").prefetch_related("genres")
    if not_interested:
        movies = movies.exclude(pk__in=not_interested)
    return movies


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
    movies = movies_by_id(movie_ids)
    return [movies[pk] for pk in movie_ids if pk in movies]


# What every visitor sees alike, per process: {key: (read at, value)}; the
# catalogue, the shared lists, and movies read one by one.
_KEPT: dict[tuple, tuple[float, object]] = {}
# The shared lists asked for since they were last read, with how to read them.
_ASKED: dict[tuple, Callable[[], object]] = {}
_ABSENT = object()  # a kept answer "no such movie"
_CATALOGUE = ("catalogue",)
# Bumped by every clear: a read begun before a clear (a save) is not kept.
_GENERATION = [0]
_READING_AHEAD = threading.Lock()  # one read-ahead at a time per process


def _fresh(key: tuple, now: float) -> object:
    """The value kept under `key` if it is younger than CATALOGUE_CACHE_SECONDS,
    else _ABSENT."""
    hit = _KEPT.get(key)
    if hit is not None and now - hit[0] < settings.CATALOGUE_CACHE_SECONDS:
        return hit[1]
    return _ABSENT


def _keep(key: tuple, read_at: float, value: object, generation: int) -> None:
    """Keep `value`, read from `read_at` on, unless the catalogue was cleared
    since that read began (a save: the value may be older than it) or nothing
    is kept (CATALOGUE_CACHE_SECONDS <= 0)."""
    if generation == _GENERATION[0] and settings.CATALOGUE_CACHE_SECONDS > 0:
        _KEPT[key] = (read_at, value)


def _kept(key: tuple, make: Callable[[], object]) -> object:
    """`make()`, kept in this process for CATALOGUE_CACHE_SECONDS; asked for
    again after that read, it is read again after a response (`read_ahead`)."""
    now, generation = time.monotonic(), _GENERATION[0]
    value = _fresh(key, now)
    if value is _ABSENT:
        value = make()
        _keep(key, now, value, generation)
    else:
        _ASKED[key] = make
    return value


def shared_page(name: str, movies: QuerySet[Movie], number) -> Page:
    """Page `number` of a catalogue list that is the same for every visitor (the
    popular list of a visitor who marked nothing not interested, a genre): the
    page of the list's ids, which each process keeps (all of them, a few
    thousand integers: no count query) for CATALOGUE_CACHE_SECONDS; a number
    that is not one of its pages raises InvalidPage."""
    ids = _kept(
        ("list", name),
        lambda: list(movies.prefetch_related(None).values_list("pk", flat=True)),
    )
    return Paginator(ids, settings.MOVIES_PER_PAGE).page(number)


@dataclass(frozen=True)
class Catalogue:
    """Every movie of the catalogue with its genres, and the genres."""

    movies: dict[int, Movie]  # each with its genres, the most specific first
    genres: list[Genre]  # in their order (by name)

    @functools.cached_property
    def genres_shown(self) -> str:
        """All the genre bar shows of the genres, for its fragment's key."""
        return "\n".join(f"{g.pk}:{g.slug}:{g.name}" for g in self.genres)


def _genres_of(
    movie_ids: Iterable[int], genres: dict[int, Genre]
) -> dict[int, list[Genre]]:
    """The genres of each of `movie_ids`, the most specific first, from the
    pairs of movie and genre read now in one lean query. A movie whose pairs
    name a genre not in `genres` (read before them: a change between the reads)
    is left out, and so read on its own by whoever needs it."""
    found: dict[int, list[Genre]] = {pk: [] for pk in movie_ids}
    torn: set[int] = set()
    pairs = Movie.genres.through.objects.values_list("movie_id", "genre_id")
    for movie_id, genre_id in pairs.order_by():
        if genre_id in genres and movie_id in found:
            found[movie_id].append(genres[genre_id])
        else:
            torn.add(movie_id)
    return {pk: specific_first(g) for pk, g in found.items() if pk not in torn}


def catalogue_read() -> Catalogue:
    """The whole catalogue, read now in three lean queries (the genres, the
    movies, the pairs): about 10 ms of CPU for MovieLens-100k's 1,682 movies.
    Giving the movies their genres from the pairs costs no query per movie,
    where prefetching builds one."""
    genres = list(Genre.objects.all())
    movies = Movie.objects.order_by().in_bulk()
    found = _genres_of(movies, {g.pk: g for g in genres})
    for pk, movie_genres in found.items():  # each list the movie's own
        movies[pk].genres_specific_first = movie_genres
    return Catalogue({pk: movies[pk] for pk in found}, genres)


def _catalogue(now: float) -> Catalogue | None:
    """The catalogue this process keeps, if younger than CATALOGUE_CACHE_SECONDS.
    Only `read_ahead` reads it, after a response: no request waits for it."""
    catalogue = _fresh(_CATALOGUE, now)
    return None if catalogue is _ABSENT else catalogue


def movies_by_id(movie_ids: Iterable[int]) -> dict[int, Movie]:
    """Those of `movie_ids` in the catalogue, with their genres: from the
    catalogue this process keeps, with no query. One it does not hold (a movie
    added since, an unknown id, or every id before the catalogue is first read
    or once it is older than CATALOGUE_CACHE_SECONDS) is read in one query of
    rows and one of genres for all such ids, and kept for that time, as is the
    absence of an id. Shared between threads: callers only read them."""
    now, generation = time.monotonic(), _GENERATION[0]
    catalogue = _catalogue(now)
    held = catalogue.movies if catalogue is not None else {}
    found: dict[int, object] = {
        pk: held[pk] if pk in held else _fresh(("movie", pk), now) for pk in movie_ids
    }
    missing = [pk for pk, movie in found.items() if movie is _ABSENT]
    if missing:
        read = Movie.objects.prefetch_related("genres").in_bulk(missing)
        for pk in missing:
            found[pk] = read.get(pk, None)
            _keep(("movie", pk), now, found[pk], generation)
    return {pk: movie for pk, movie in found.items() if movie is not None}


def movie_in_catalogue(movie_id: int) -> bool:
    """Whether the catalogue holds this movie, for an event about it: no query
    while the process keeps the catalogue; an id it does not hold is looked up
    (a movie added since) and its answer kept like a page's movies."""
    return bool(movies_by_id([movie_id]))


def genre_bar() -> Catalogue:
    """The catalogue whose genres the genre bar shows (`genres`, and
    `genres_shown` for its fragment's key): the kept one, else the genres read
    now."""
    catalogue = _catalogue(time.monotonic())
    return catalogue or Catalogue({}, list(Genre.objects.all()))


def read_ahead() -> None:
    """Read again, after a response (request_finished), what this process keeps
    that is older than half of CATALOGUE_CACHE_SECONDS: the catalogue, and the
    shared lists asked for since their last read; the rest expires. So a process
    that serves a request at least every half of that time never makes one wait
    for them (one that served none meanwhile reads a page's movies one by one)."""
    limit = settings.CATALOGUE_CACHE_SECONDS
    if limit <= 0 or not _READING_AHEAD.acquire(blocking=False):
        return  # nothing kept, or another thread of the process is at it
    try:
        now = time.monotonic()
        for key, make in [(_CATALOGUE, catalogue_read), *_ASKED.items()]:
            read_at = _KEPT.get(key, (float("-inf"),))[0]
            if now - read_at >= limit / 2:
                _ASKED.pop(key, None)
                began, generation = time.monotonic(), _GENERATION[0]
                _keep(key, began, make(), generation)
        for key, (read_at, _value) in list(_KEPT.items()):
            if now - read_at >= limit:  # expired: movies and lists not asked for
                _KEPT.pop(key, None)
    finally:
        _READING_AHEAD.release()


def shared_pages_clear() -> None:
    """Forget the catalogue, the shared lists and the kept movies (a movie or
    genre was saved)."""
    _GENERATION[0] += 1
    _KEPT.clear()
    _ASKED.clear()


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
    return history_entries(_events(user_key, limit=limit))


def history_entries(events: list[Event]) -> list[HistoryEntry]:
    """Events given newest first, with their movies and what each does now (judged
    among `events` alone: a limited history is judged as the store's first
    `limit` events)."""
    movies = movies_by_id({e.movie_id for e in events})
    # supersession depends only on newer events, all of which are in `events`
    signals = signals_from(events)
    return [
        HistoryEntry(event=e, movie=movies.get(e.movie_id), effect=signals.effect(e))
        for e in events
    ]


class VisitorHistory:
    """One read of the visitor's click log for everything a page shows: the
    grid marks, the signals, the sidebar and the recommendations' input."""

    def __init__(self, *, user_key: str | None) -> None:
        self.user_key = user_key
        self.events = _events(user_key)  # newest first

    @functools.cached_property
    def signals(self) -> VisitorSignals:
        return signals_from(self.events)

    @functools.cached_property
    def marks(self) -> dict[int, MovieMark]:
        return marks_from(self.events)

    def entries(self, limit: int | None = None) -> list[HistoryEntry]:
        """What `history_for(limit=limit)` answers, from the events already read."""
        return history_entries(self.events if limit is None else self.events[:limit])

    def sidebar(self) -> list[HistoryEntry]:
        return self.entries(limit=settings.HISTORY_SIDEBAR_LENGTH)


def movie_ids_from(events: list[Event]) -> list[int]:
    """Movies clicked or rated, most recent first, each once."""
    return list(dict.fromkeys(event.movie_id for event in events))


@dataclass(frozen=True)
class VisitorSignals:
    """What the visitor's events say about each movie, after supersession.

    A movie's judgement is its newest rating or "not interested"; a later one
    replaces an earlier one, and a click never replaces a judgement (a click after
    a one-star rating does not make the movie a like). A movie with clicks only
    is a click. Its place in ``movie_ids`` is its newest event of any kind.
    """

    movie_ids: list[int]  # every movie with an event, most recent first
    ratings: dict[int, float]  # movies whose judgement is a rating
    not_interested: list[int]  # movies whose judgement is "not interested"

    @property
    def positive_ids(self) -> list[int]:
        """Movies that are not marked not interested, most recent first."""
        hidden = set(self.not_interested)
        return [m for m in self.movie_ids if m not in hidden]

    def effect(self, event: Event) -> str:
        """What ``event`` does now: "liked", "clicked", "disliked",
        "not interested", or "superseded" when a newer judgement replaced it."""
        movie = event.movie_id
        if movie in self.not_interested:
            judged = event.kind == "not_interested"
        elif movie in self.ratings:
            judged = event.kind == "rating" and event.rating == self.ratings[movie]
        else:
            return "clicked" if event.kind == "click" else "superseded"
        if not judged:
            return "superseded"
        if event.kind == "not_interested":
            return "not interested"
        if event.rating >= settings.NGCF_LIKED_STARS:
            return "liked"
        weight = next(
            (w for lo, w in settings.NGCF_STAR_WEIGHTS if event.rating >= lo),
            settings.NGCF_STAR_WEIGHTS[-1][1],
        )
        return "disliked" if weight < 0 else "rated"


def signals_from(events: list[Event]) -> VisitorSignals:
    """The visitor's signals from events given newest first."""
    judgement: dict[int, Event] = {}
    for event in events:
        if event.kind in ("rating", "not_interested"):
            judgement.setdefault(event.movie_id, event)
    return VisitorSignals(
        movie_ids=movie_ids_from(events),
        ratings={m: e.rating for m, e in judgement.items() if e.kind == "rating"},
        not_interested=[m for m, e in judgement.items() if e.kind == "not_interested"],
    )


def events_for(*, user_key: str | None) -> list[Event]:
    """The visitor's events, newest first (none without a key)."""
    return _events(user_key)
