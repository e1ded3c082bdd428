"""Posters without the database or the per-visitor middleware.

A poster is a pure function of the movie's id, title, year and genres
(movie.posters), so each process reads those for the whole catalogue in one go
(three lean queries), renders a poster once per movie and language, and answers from
memory. `PosterMiddleware` answers a known poster before the session, CSRF,
authentication and language middleware run; an unknown movie id goes on to the
poster view, which reads the database and answers 404 (or the poster of a movie
newer than the table).

The table is read again CATALOGUE_CACHE_SECONDS after it was read, and at once in
the process that saves a movie or a genre (movie.signals), so a changed catalogue
reaches every process's posters within that time; browsers keep a poster for a
week (Cache-Control) in any case.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.translation import gettext

from movie.models import Movie
from movie.posters import poster_svg
from movie.selectors import catalogue_read

POSTER_MAX_AGE = 7 * 24 * 3600


@dataclass(frozen=True)
class PosterInputs:
    """What a poster shows of a movie."""

    movie_id: int
    title: str  # the natural title ("The Godfather")
    year: int | None
    display_title: str  # with the year ("The Godfather (1972)")
    genres: tuple[str, ...]  # MovieLens genre names, the rarest first


@dataclass(frozen=True)
class Poster:
    svg: bytes
    etag: str


def poster_inputs(movie: Movie) -> PosterInputs:
    """A movie's poster inputs (its genres prefetched, or one query)."""
    return PosterInputs(
        movie_id=movie.pk,
        title=movie.natural_title,
        year=movie.year,
        display_title=movie.display_title,
        genres=tuple(g.name for g in movie.genres_specific_first),
    )


def poster_render(inputs: PosterInputs, *, language: str) -> Poster:
    """The poster in `language` (genre names and label translated, colours from
    the names)."""
    with translation.override(language):
        svg = poster_svg(
            movie_id=inputs.movie_id,
            title=inputs.title,
            year=inputs.year,
            genres=list(inputs.genres),
            genre_labels=[gettext(name) for name in inputs.genres],
            label=gettext("Poster of %(title)s") % {"title": inputs.display_title},
        ).encode()
    return Poster(svg, '"' + hashlib.sha256(svg).hexdigest()[:32] + '"')


def poster_language(request: HttpRequest) -> str:
    """`?lang=` of a poster URL (pages add the page's language), so a cached
    poster is never one of another language; anything else is the default."""
    wanted = request.GET.get("lang", "")
    known = {code for code, _name in settings.LANGUAGES}
    return wanted if wanted in known else settings.LANGUAGE_CODE


def poster_response(request: HttpRequest, poster: Poster) -> HttpResponse:
    """The poster, or 304 when the browser's copy is this one; public, a week."""
    if request.headers.get("If-None-Match") == poster.etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(poster.svg, content_type="image/svg+xml")
    response["ETag"] = poster.etag
    response["Cache-Control"] = f"public, max-age={POSTER_MAX_AGE}"
    return response


class PosterCache:
    """The catalogue's poster inputs and the posters rendered from them, per
    process; safe to share between a worker's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._table: dict[int, PosterInputs] | None = None
        self._read_at = 0.0
        self._posters: dict[tuple[int, str], Poster] = {}
        self._generation = 0  # bumped by `clear`: a read begun before is stale
        self._refreshing = False

    def clear(self) -> None:
        with self._lock:
            self._table = None
            self._posters = {}
            self._generation += 1

    def get(self, movie_id: int, language: str) -> Poster | None:
        """The poster, or None for a movie the table does not know."""
        table = self._current_table()
        poster = self._posters.get((movie_id, language))
        if poster is None and movie_id in table:
            poster = poster_render(table[movie_id], language=language)
            self._posters[(movie_id, language)] = poster
        return poster

    def _current_table(self) -> dict[int, PosterInputs]:
        """The table; the first read blocks (there is nothing to answer from),
        a stale one is read again by one request while the others go on with
        the old table (a read is about 17 ms of CPU for the catalogue)."""
        with self._lock:
            if self._table is None:
                self._install(_table_read())
                return self._table
            stale = time.monotonic() - self._read_at > settings.CATALOGUE_CACHE_SECONDS
            if not stale or self._refreshing:
                return self._table
            self._refreshing, generation = True, self._generation
        try:
            table = _table_read()
        finally:
            with self._lock:
                self._refreshing = False
        with self._lock:
            if generation == self._generation and self._table is not None:
                self._install(table)
            return self._table if self._table is not None else table

    def _install(self, table: dict[int, PosterInputs]) -> None:
        """Serve `table` (the lock held); posters of unchanged movies are kept."""
        old = self._table or {}
        self._posters = {
            key: poster
            for key, poster in self._posters.items()
            if old.get(key[0]) == table.get(key[0])
        }
        self._table, self._read_at = table, time.monotonic()


def _table_read() -> dict[int, PosterInputs]:
    """Every movie's poster inputs: the catalogue read now (not the one pages
    keep, which may be older than this table's life); a movie it leaves out
    goes to the poster view."""
    return {pk: poster_inputs(m) for pk, m in catalogue_read().movies.items()}


POSTERS = PosterCache()


class PosterMiddleware:
    """Answers GET/HEAD of a known movie's poster from `POSTERS`, before the
    session, CSRF, authentication and language middleware: a poster needs none
    of them, and a page's 24 posters are 24 requests."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("GET", "HEAD") and request.path_info.endswith(
            "/poster.svg"
        ):
            poster = self._poster(request)
            if poster is not None:
                return poster_response(request, poster)
        return self.get_response(request)

    @staticmethod
    def _poster(request: HttpRequest) -> Poster | None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return None
        if match.view_name != "movie:poster":
            return None
        request.resolver_match = match  # the request metrics name the view
        return POSTERS.get(match.kwargs["movie_id"], poster_language(request))
