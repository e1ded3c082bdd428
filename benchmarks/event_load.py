"""Load check of the click log: concurrent visitors posting events over HTTP.

Each visitor gets its CSRF token from `GET /api/csrf`, posts `--events` clicks and
ratings to `POST /api/events` with event ids of its own, then reads its history
back. Printed: the events accepted per second over HTTP (201 answers, from the
first POST to the last; POST p50/p95), errors (any answer but 201), events missing
from the history, events duplicated in it (expected: 0/0/0).

    python -m benchmarks.event_load --serve            # gunicorn on the default DB
    python -m benchmarks.event_load --serve --no-warmer   # without warm_for_you
    python -m benchmarks.event_load --url http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.http_visitor import Visitor
from benchmarks.machine import speed_line
from benchmarks.servers import for_you_warmer, gunicorn

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class VisitorResult:
    sent: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stored: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    posting_s: tuple[float, float] = (0.0, 0.0)  # first POST sent, last answered


@dataclass(frozen=True)
class LoadReport:
    visitors: int
    events: int
    errors: int
    missing: int
    duplicated: int
    first_errors: list[str]
    accepted: int
    seconds: float
    latencies_ms: list[float]

    def lines(self) -> list[str]:
        lat = sorted(self.latencies_ms) or [0.0]
        return [
            f"visitors={self.visitors} (one client thread each) "
            f"events_per_visitor={self.events} posted={self.visitors * self.events}",
            f"HTTP accepted: {self.accepted / self.seconds:.0f} events/s "
            f"({self.accepted} in {self.seconds:.2f} s; POST p50 "
            f"{lat[len(lat) // 2]:.1f} ms, p95 {lat[int(len(lat) * 0.95)]:.1f} ms)",
            f"errors={self.errors} missing={self.missing} duplicated={self.duplicated}",
            *(f"  {e}" for e in self.first_errors),
        ]


def _visitor(
    base_url: str,
    movie_ids: list[int],
    events: int,
    n: int,
    ready: threading.Barrier,
) -> VisitorResult:
    result = VisitorResult()
    visitor = Visitor(base_url)
    ready.wait()  # every visitor starts posting at once
    first = time.perf_counter()
    for i in range(events):
        event_id = str(uuid.uuid4())
        movie_id = movie_ids[(n * 7 + i) % len(movie_ids)]
        body = {"movie_id": movie_id, "kind": "click", "event_id": event_id}
        if i % 5 == 4:
            body.update(kind="rating", rating=0.5 + (i % 10) / 2)
        try:
            status, payload, ms = visitor.post_event(body)
        except OSError as exc:
            result.errors.append(f"visitor {n} event {i}: {exc!r}")
            continue
        result.latencies_ms.append(ms)
        if status == 201:
            result.sent.append(event_id)
        else:
            result.errors.append(f"visitor {n}: {status} {payload[:200]!r}")
    result.posting_s = (first, time.perf_counter())
    result.stored = visitor.history_ids()
    return result


def run_load(
    base_url: str, *, visitors: int, events: int, movie_ids: list[int]
) -> LoadReport:
    """All visitors at once, each in its own thread and session."""
    ready = threading.Barrier(visitors)
    with ThreadPoolExecutor(max_workers=visitors) as pool:
        results = list(
            pool.map(
                lambda n: _visitor(base_url, movie_ids, events, n, ready),
                range(visitors),
            )
        )
    errors = [e for r in results for e in r.errors]
    missing = sum(len(set(r.sent) - set(r.stored)) for r in results)
    duplicated = sum(
        sum(c - 1 for c in Counter(r.stored).values() if c > 1)
        + len(set(r.stored) - set(r.sent))
        for r in results
    )
    seconds = max(r.posting_s[1] for r in results) - min(
        r.posting_s[0] for r in results
    )
    return LoadReport(
        visitors,
        events,
        len(errors),
        missing,
        duplicated,
        errors[:5],
        accepted=sum(len(r.sent) for r in results),
        seconds=seconds,
        latencies_ms=[ms for r in results for ms in r.latencies_ms],
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="a running site")
    where.add_argument("--serve", action="store_true", help="start gunicorn")
    parser.add_argument("--visitors", type=int, default=16)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--movies", type=int, default=100, help="ids 1..N are used")
    parser.add_argument(
        "--no-warmer",
        action="store_true",
        help="with --serve: without the For-you warmer `make run` starts beside it",
    )
    args = parser.parse_args()
    print(speed_line())
    movie_ids = list(range(1, args.movies + 1))
    with contextlib.ExitStack() as stack:
        url = args.url
        if url is None:
            url = stack.enter_context(gunicorn())[1]
            if not args.no_warmer:
                stack.enter_context(for_you_warmer())
            print(f"the For-you warmer beside it: {'no' if args.no_warmer else 'yes'}")
        report = run_load(
            url, visitors=args.visitors, events=args.events, movie_ids=movie_ids
        )
    print("\n".join(report.lines()))
    return 0 if report.errors == report.missing == report.duplicated == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
