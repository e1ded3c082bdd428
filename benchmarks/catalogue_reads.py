"""CPU of the catalogue reads a web process makes, with genres prefetched into
movie instances (Django's `prefetch_related`) against genres given from the pairs
the process keeps (`selectors.genres_by_movie`), interleaved in one process, on
the database of the settings (SQLite by default; DJANGO_ENV_FILE=.env.stack for
MariaDB). Needs `make data` (the imported catalogue).

    python -m benchmarks.catalogue_reads [--reads 300] [--rounds 5]

- one movie a page names for the first time in this process (the one just
  clicked, in the history sidebar), a different movie each read;
- what an event checks its movie against: the catalogue's ids, or the kept
  catalogue (the ids with every movie's genres), read once per
  CATALOGUE_CACHE_SECONDS;
- the posters' table: every movie with its genres, read once per
  CATALOGUE_CACHE_SECONDS.

Each round times every read and prints CPU milliseconds (`time.thread_time`);
the medians over the rounds last, after the machine's reading.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time
from collections.abc import Callable

import django

from benchmarks.machine import speed_line

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pseudorec.settings")
django.setup()

from movie import poster_cache, selectors  # noqa: E402  (needs django.setup())
from movie.models import Movie  # noqa: E402


def _one_movie_prefetched(movie_id: int) -> None:
    Movie.objects.prefetch_related("genres").in_bulk([movie_id])


_KEPT_GENRES: dict[int, list] = {}  # the process's kept genres, read once in main()


def _one_movie_kept_genres(movie_id: int) -> None:
    selectors.with_genres(Movie.objects.in_bulk([movie_id]).values(), _KEPT_GENRES)


def _ids(_movie_id: int) -> None:
    frozenset(Movie.objects.values_list("id", flat=True))


def _kept_catalogue(_movie_id: int) -> None:
    selectors.genres_by_movie()


def _posters_prefetched(_movie_id: int) -> None:
    movies = Movie.objects.prefetch_related("genres")
    {m.pk: poster_cache.poster_inputs(m) for m in movies}


def _posters_kept_genres(_movie_id: int) -> None:
    poster_cache._table_read()


READS: dict[str, tuple[Callable[[int], None], int]] = {
    # name: (read, how many times per round, as a share of --reads)
    "one movie, genres prefetched": (_one_movie_prefetched, 1),
    "one movie, genres from the kept pairs": (_one_movie_kept_genres, 1),
    "the catalogue's ids": (_ids, 10),
    "the kept catalogue (ids, genres, pairs)": (_kept_catalogue, 10),
    "posters' table, genres prefetched": (_posters_prefetched, 100),
    "posters' table, genres from the pairs": (_posters_kept_genres, 100),
}


def per_read_ms(read: Callable[[int], None], movie_ids, reads: int) -> float:
    started = time.thread_time()
    for _ in range(reads):
        read(next(movie_ids))
    return (time.thread_time() - started) * 1000 / reads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=300, help="of one movie")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(speed_line())
    ids = list(Movie.objects.order_by("id").values_list("id", flat=True))
    if not ids:
        raise SystemExit("no catalogue: run `make data` first")
    _KEPT_GENRES.update(selectors.genres_by_movie())
    print(f"catalogue: {len(ids)} movies; --reads {args.reads}, {args.rounds} rounds")
    movie_ids = itertools.cycle(ids)
    results: dict[str, list[float]] = {name: [] for name in READS}
    for read, _share in READS.values():  # warm each
        read(ids[0])
    for _ in range(args.rounds):
        for name, (read, share) in READS.items():
            reads = max(1, args.reads // share)
            results[name].append(per_read_ms(read, movie_ids, reads))
    print("| read | CPU ms, median | rounds |")
    print("| --- | ---: | --- |")
    for name, values in results.items():
        rounds = ", ".join(f"{v:.2f}" for v in values)
        print(f"| {name} | {statistics.median(values):.2f} | {rounds} |")


if __name__ == "__main__":
    main()
