"""Reads: the catalogue and the visitor's click log (recommendations are in
movie.recommendations.selectors)."""

from __future__ import annotations

import functools
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


# What every visitor sees alike, per process (shared pages, movies by id):
# {key: (read at, value)}
_KEPT: dict[tuple, tuple[float, object]] = {}
_ABSENT = object()  # a kept answer "no such movie"


def _fresh_entry(key: tuple, now: float) -> tuple[float, object] | None:
    """(read at, value) kept under `key` if younger than CATALOGUE_CACHE_SECONDS."""
    hit = _KEPT.get(key)
    if hit is not None and now - hit[0] < settings.CATALOGUE_CACHE_SECONDS:
        return hit
    return None


def _fresh(key: tuple, now: float) -> object:
    """The value kept under `key` if it is younger than CATALOGUE_CACHE_SECONDS,
    else _ABSENT."""
    hit = _fresh_entry(key, now)
    return _ABSENT if hit is None else hit[1]


def _kept(key: tuple, make: Callable[[], object]) -> object:
    """`make()`, kept in this process for CATALOGUE_CACHE_SECONDS."""
    now = time.monotonic()
    value = _fresh(key, now)
    if value is _ABSENT:
        value = make()
        _KEPT[key] = (now, value)
    return value


def _counted(paginator: Paginator) -> Paginator:
    paginator.count  # noqa: B018 (a cached property: read once, kept with it)
    return paginator


def _listed(page: Page) -> Page:
    page.object_list = list(page.object_list)
    return page


def shared_page(name: str, movies: QuerySet[Movie], number) -> Page:
    """Page `number` of a catalogue list that is the same for every visitor (the
    popular list of a visitor who marked nothing not interested, a genre), read
    once per CATALOGUE_CACHE_SECONDS per process like the genre bar and the
    posters' table; a number that is not one of its pages raises InvalidPage.
    The page is shared between threads: callers only read it."""
    paginator = _kept(
        ("paginator", name),
        lambda: _counted(Paginator(movies, settings.MOVIES_PER_PAGE)),
    )
    number = paginator.validate_number(number)
    return _kept(("page", name, number), lambda: _listed(paginator.page(number)))


def genres_by_movie() -> dict[int, list[Genre]]:
    """Every movie of the catalogue with its genres, the most specific first,
    read now in three lean queries (the ids, the genres, the pairs); giving
    movies their genres from this costs no query per movie, where prefetching
    builds one. A movie whose pairs name a genre not read (a change between the
    reads) is left out, and so read on its own by whoever needs it."""
    genres = Genre.objects.in_bulk()
    found: dict[int, list[Genre]] = {
        pk: [] for pk in Movie.objects.order_by().values_list("id", flat=True)
    }
    torn: set[int] = set()
    pairs = Movie.genres.through.objects.values_list("movie_id", "genre_id")
    for movie_id, genre_id in pairs.order_by():
        if genre_id in genres and movie_id in found:
            found[movie_id].append(genres[genre_id])
        else:
            torn.add(movie_id)
    return {pk: specific_first(g) for pk, g in found.items() if pk not in torn}


def _catalogue() -> dict[int, list[Genre]]:
    """`genres_by_movie()`, kept in this process for CATALOGUE_CACHE_SECONDS:
    what events check a movie id against (and read again when it is older),
    and what movies read one by one take their genres from while it is fresh."""
    return _kept(("catalogue",), genres_by_movie)


def with_genres(movies: Iterable[Movie], genres: dict[int, list[Genre]]) -> None:
    """Give each of `movies` (read without prefetched genres) its genres from
    `genres` (of `genres_by_movie`), a list of its own, so nothing done to a
    movie's list reaches the kept ones; one it does not name reads its own
    when they are asked for."""
    for movie in movies:
        if movie.pk in genres:
            movie.genres_specific_first = list(genres[movie.pk])


def _movies_read(movie_ids: list[int], now: float) -> tuple[float, dict[int, Movie]]:
    """The movies of `movie_ids` in the catalogue with their genres, and the
    time they are as of (the kept genres' read, when older than the rows). A
    page does not read the whole catalogue for a few movies: without a fresh
    kept one (events keep it) their genres are prefetched."""
    kept = _fresh_entry(("catalogue",), now)
    if kept is None:
        return now, Movie.objects.prefetch_related("genres").in_bulk(movie_ids)
    read_at, genres = kept
    movies = Movie.objects.in_bulk(movie_ids)
    with_genres(movies.values(), genres)
    return min(now, read_at), movies


def movies_by_id(movie_ids: Iterable[int]) -> dict[int, Movie]:
    """Those of `movie_ids` in the catalogue, with their genres. Each is kept in
    this process for CATALOGUE_CACHE_SECONDS, as the shared pages are: pages name
    the same movies again and again (a visitor's history, their
    recommendations), so most pages need no query for them; so is the absence
    of an id. A movie not kept yet is one lean query of rows, its genres from
    the kept catalogue. Shared between threads: callers only read them."""
    now = time.monotonic()
    found: dict[int, object] = {pk: _fresh(("movie", pk), now) for pk in movie_ids}
    missing = [pk for pk, movie in found.items() if movie is _ABSENT]
    if missing:
        read_at, read = _movies_read(missing, now)
        for pk in missing:
            found[pk] = read.get(pk, None)
            _KEPT[("movie", pk)] = (read_at, found[pk])
    return {pk: movie for pk, movie in found.items() if movie is not None}


def movie_in_catalogue(movie_id: int) -> bool:
    """Whether the catalogue holds this movie, for an event about it. The
    catalogue is kept in this process for CATALOGUE_CACHE_SECONDS (`_catalogue`:
    a few thousand pairs of integers), so an event reads no movie's row
    whichever movie it names; an id not among them is looked up (a movie added
    since) and its answer kept like a page's movies."""
    if settings.CATALOGUE_CACHE_SECONDS <= 0:  # nothing kept: read the one row
        return bool(movies_by_id([movie_id]))
    return movie_id in _catalogue() or bool(movies_by_id([movie_id]))


def shared_pages_clear() -> None:
    """Forget the shared pages and the kept movies (a movie or genre was saved)."""
    _KEPT.clear()


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
