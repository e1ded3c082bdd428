"""CPU of the catalogue reads a web process makes, interleaved in one process,
on the database of the settings (SQLite by default; DJANGO_ENV_FILE=.env.stack
for MariaDB). Needs `make data` (the imported catalogue).

    python -m benchmarks.catalogue_reads [--reads 300] [--rounds 5]

- one movie a page names (the one just clicked, in the history sidebar), a
  different movie each read: read on its own (its row, its genres prefetched,
  as a process without a fresh kept catalogue does), or from the catalogue the
  process keeps (`selectors.movies_by_id`, CATALOGUE_CACHE_SECONDS raised for
  the run so that it stays fresh);
- the kept catalogue itself (`selectors.catalogue_read`: every movie with its
  genres, and the genres), read after a response once per half of
  CATALOGUE_CACHE_SECONDS;
- the posters' table: every movie with its genres, read once per
  CATALOGUE_CACHE_SECONDS, with genres prefetched or given from the pairs.

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

from django.conf import settings  # noqa: E402  (needs django.setup())

from movie import poster_cache, selectors  # noqa: E402
from movie.models import Movie  # noqa: E402


def _one_movie_prefetched(movie_id: int) -> None:
    Movie.objects.prefetch_related("genres").in_bulk([movie_id])


def _one_movie_kept(movie_id: int) -> None:
    selectors.movies_by_id([movie_id])[movie_id].genres_specific_first  # noqa: B018


def _kept_catalogue(_movie_id: int) -> None:
    selectors.catalogue_read()


def _posters_prefetched(_movie_id: int) -> None:
    movies = Movie.objects.prefetch_related("genres")
    {m.pk: poster_cache.poster_inputs(m) for m in movies}


def _posters_kept_genres(_movie_id: int) -> None:
    poster_cache._table_read()


READS: dict[str, tuple[Callable[[int], None], int]] = {
    # name: (read, how many times per round, as a share of --reads)
    "one movie on its own, genres prefetched": (_one_movie_prefetched, 1),
    "one movie from the kept catalogue": (_one_movie_kept, 1),
    "the kept catalogue (genres, movies, pairs)": (_kept_catalogue, 100),
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
    settings.CATALOGUE_CACHE_SECONDS = 24 * 3600  # the kept catalogue stays fresh
    selectors.read_ahead()
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
        rounds = ", ".join(f"{v:.3f}" for v in values)
        print(f"| {name} | {statistics.median(values):.3f} | {rounds} |")


if __name__ == "__main__":
    main()
