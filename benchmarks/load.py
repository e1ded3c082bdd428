"""Load test with locust: visitor journeys (benchmarks/locustfile.py) against the
site under gunicorn, then requests/s, p50, p95, p99 and errors per endpoint.

    python -m benchmarks.load --users 8 --run-time 30s            # journeys
    python -m benchmarks.load --users 8 --journey ngcf --think 0  # the NGCF page
    python -m benchmarks.load --url http://127.0.0.1:8000         # a running `make run`

Without --url it starts the site as `make run` serves it (gunicorn.conf.py, the
same workers and threads, the For-you warmer beside it) on a free port, on a
copy of the database, so the visitors' clicks never land in the site's own
click log. Needs `make model`.
Locust runs in its own process on the same machine: its CPU is the clients'.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.http_visitor import Visitor
from benchmarks.servers import ROOT, for_you_warmer, gunicorn, served_concurrency

JOURNEYS = {"visitor": "Visitor", "ngcf": "NgcfReader"}


def _locust(base: str, args: argparse.Namespace, prefix: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "benchmarks" / "locustfile.py"),
        "--headless",
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--users",
        str(args.users),
        "--spawn-rate",
        str(args.users),
        "--run-time",
        args.run_time,
        "--host",
        base,
        "--csv",
        str(prefix),
        JOURNEYS[args.journey],
    ]
    env = {**os.environ, "LOAD_THINK_SECONDS": str(args.think)}
    done = subprocess.run(command, env=env, check=False, capture_output=True)
    # locust exits 1 when a request failed: the table says which.
    if done.returncode not in (0, 1):
        sys.exit(f"locust failed ({done.returncode}):\n{done.stderr.decode()}")


def _table(stats_csv: Path) -> None:
    print("| endpoint | requests | requests/s | p50 ms | p95 ms | p99 ms | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    with stats_csv.open() as rows:
        for row in csv.DictReader(rows):
            name = row["Name"] if row["Type"] else "all"
            if row["Name"] == "Aggregated":
                name = "**all**"
            print(
                f"| {row['Type']} {name} | {row['Request Count']} | "
                f"{float(row['Requests/s']):.1f} | {row['50%']} | {row['95%']} | "
                f"{row['99%']} | {row['Failure Count']} |"
            )


@contextlib.contextmanager
def _site(args: argparse.Namespace, tmp: Path):
    if args.url:
        yield args.url.rstrip("/")
        return
    database = tmp / "db.sqlite3"
    shutil.copyfile(ROOT / "db.sqlite3", database)
    env = {"DATABASE_URL": f"sqlite:///{database}"}
    with (
        gunicorn(workers=args.workers, threads=args.threads, env=env) as (_, base),
        for_you_warmer(env=env),
    ):
        _warm(base, args.workers)
        yield base


def _warm(base: str, workers: int) -> None:
    """Every worker renders each page once (templates compiled, model touched)."""
    visitor = Visitor(base)
    for movie_id in (50, 100, 181):
        visitor.click(movie_id)
    for _ in range(3 * workers):
        visitor.reconnect()  # any worker
        for path in ("/", "/movie/ngcf/", "/movie/50/", "/genre/drama/"):
            visitor.request("GET", path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=8, help="concurrent visitors")
    parser.add_argument("--run-time", default="30s")
    parser.add_argument("--journey", choices=JOURNEYS, default="visitor")
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean seconds between pages"
    )
    parser.add_argument("--url", help="a running site instead of starting one")
    workers, threads = served_concurrency()  # `make run`'s
    parser.add_argument("--workers", type=int, default=workers)
    parser.add_argument("--threads", type=int, default=threads, help="per worker")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, _site(args, Path(tmp)) as base:
        prefix = Path(tmp) / "locust"
        _locust(base, args, prefix)
        where = args.url or f"gunicorn {args.workers} workers x {args.threads} threads"
        print(
            f"{where}; locust {args.users} users, journey {args.journey}, "
            f"think {args.think} s, {args.run_time}, on the same machine"
        )
        _table(Path(f"{prefix}_stats.csv"))


if __name__ == "__main__":
    main()
