"""Title search on the real catalogue: the ranking alone, the whole search page
and the suggestion endpoint, p50 / p95 per request, in-process (Django's test
client, no HTTP server), one thread.

    python -m benchmarks.search_page --repeats 50

Needs the catalogue imported into the site's database (`make catalogue`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import django

QUERIES = [
    "star wars",
    "starwars",
    "godfahter",
    "terminater",
    "usual suspect",
    "raiders lost ark",
    "star",
    "love",
    "it",
    "the",
    "xyzzy",
]


def _timed(call: Callable[[], object], repeats: int) -> tuple[float, float]:
    """p50 and p95 in milliseconds over `repeats` calls, after one warm-up."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pseudorec.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    django.setup()
    from django.test import Client

    from movie import selectors
    from movie.models import Movie

    client = Client(HTTP_HOST="127.0.0.1")
    print(f"catalogue: {Movie.objects.count()} movies; {args.repeats} repeats")
    print(
        f"{'query':<18}{'hits':>6}{'rank p50/p95 ms':>18}{'page p50/p95 ms':>18}"
        f"{'suggest p50/p95 ms':>21}  first hit"
    )
    for query in QUERIES:
        ids = selectors.movie_search(query=query)
        first = selectors.movies_in_order(movie_ids=ids[:1])
        rank = _timed(lambda q=query: selectors.movie_search(query=q), args.repeats)
        page = _timed(lambda q=query: client.get("/search/", {"q": q}), args.repeats)
        suggest = _timed(
            lambda q=query: client.get("/api/suggest", {"q": q}), args.repeats
        )
        print(
            f"{query:<18}{len(ids):>6}{rank[0]:>10.1f} /{rank[1]:>5.1f}"
            f"{page[0]:>11.1f} /{page[1]:>5.1f}{suggest[0]:>14.1f} /{suggest[1]:>5.1f}"
            f"  {first[0].display_title if first else '-'}"
        )


if __name__ == "__main__":
    main()
