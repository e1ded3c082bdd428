"""End-to-end click pipeline on the real stack: HTTP POST /api/events (gunicorn) ->
outbox -> Kafka -> consume_clicks -> DynamoDB, in clicks per second.

    DJANGO_ENV_FILE=.env.stack python -m benchmarks.click_pipeline --clicks 1000

(`make bench-clicks` starts the local servers and runs this.) It starts gunicorn and
a `consume_clicks` process with a topic and consumer group of the run's own, posts
clicks over HTTP from client threads (each visitor with its own session and CSRF
cookie), and waits until every click is in the DynamoDB click log.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

import django

from benchmarks.servers import ROOT, gunicorn, stop

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pseudorec.settings")
django.setup()

from django.conf import settings  # noqa: E402  (needs django.setup())

from movie.clicklog import get_clicklog_store  # noqa: E402
from movie.models import Movie  # noqa: E402


@dataclass(frozen=True)
class BenchConfig:
    clicks: int
    visitors: int
    client_threads: int
    web_workers: int
    web_threads: int
    consumer_workers: int


@dataclass(frozen=True)
class BenchResult:
    config: BenchConfig
    http_seconds: float
    e2e_seconds: float
    latencies_ms: list[float]

    def lines(self) -> list[str]:
        c = self.config
        lat = sorted(self.latencies_ms)
        p95 = lat[int(len(lat) * 0.95) - 1]
        return [
            f"clicks={c.clicks} visitors={c.visitors} "
            f"client_threads={c.client_threads} "
            f"gunicorn={c.web_workers} workers x {c.web_threads} threads "
            f"consumer=1 process x {c.consumer_workers} store threads",
            f"HTTP accepted: {c.clicks / self.http_seconds:.0f} clicks/s "
            f"(POST p50 {statistics.median(lat):.1f} ms, p95 {p95:.1f} ms)",
            f"end to end (HTTP -> DynamoDB, all stored): "
            f"{c.clicks / self.e2e_seconds:.0f} clicks/s "
            f"({self.e2e_seconds:.1f} s for {c.clicks})",
        ]


class Visitor:
    def __init__(self, base: str) -> None:
        address = urlsplit(base)
        self.conn = http.client.HTTPConnection(
            address.hostname, address.port, timeout=30
        )
        self.cookies: dict[str, str] = {}
        self.request("GET", "/")  # the session and the CSRF cookie
        self.user_key = self.request("GET", "/api/history?limit=1")[1]
        self.event_ids: list[str] = []

    def request(self, method: str, path: str, body: dict | None = None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        payload = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            for key, morsel in SimpleCookie(header).items():
                self.cookies[key] = morsel.value
        return response.status, payload

    def click(self, movie_id: int) -> float:
        started = time.perf_counter()
        status, payload = self.request(
            "POST", "/api/events", {"movie_id": movie_id, "kind": "click"}
        )
        if status != 201:
            raise RuntimeError(f"POST /api/events answered {status}: {payload[:200]}")
        event = json.loads(payload)
        self.user_key = event["user_key"]
        self.event_ids.append(event["event_id"])
        return (time.perf_counter() - started) * 1000


def clicks_benchmark(*, config: BenchConfig, log: Callable[[str], None]) -> BenchResult:
    if settings.EVENT_BUS != "kafka" or settings.CLICKLOG_BACKEND != "dynamodb":
        raise RuntimeError(
            "this benchmark measures the real stack: run it with "
            "DJANGO_ENV_FILE=.env.stack (EVENT_BUS=kafka, CLICKLOG_BACKEND=dynamodb)"
        )
    movie_ids = list(Movie.objects.values_list("id", flat=True)[:50])
    if not movie_ids:
        raise RuntimeError("no movies: run manage.py import_movielens first")
    run = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "KAFKA_TOPIC": f"bench-{run}",
        "KAFKA_CONSUMER_GROUP": f"bench-{run}",
        "LOG_LEVEL": "WARNING",
    }
    consumer = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "consume_clicks",
            "--workers",
            str(config.consumer_workers),
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        with gunicorn(
            workers=config.web_workers, threads=config.web_threads, env=env
        ) as (_, base):
            visitors = [Visitor(base) for _ in range(config.visitors)]
            log(f"{config.visitors} visitors; posting {config.clicks} clicks")
            started = time.perf_counter()
            latencies = _post_clicks(visitors, movie_ids, config)
            http_seconds = time.perf_counter() - started
            log(f"posted in {http_seconds:.1f} s; waiting for DynamoDB")
            _wait_stored(visitors)
            e2e_seconds = time.perf_counter() - started
        return BenchResult(config, http_seconds, e2e_seconds, latencies)
    finally:
        stop(consumer)


def _post_clicks(
    visitors: list[Visitor], movie_ids: list[int], config: BenchConfig
) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()
    per_thread = [
        visitors[i :: config.client_threads] for i in range(config.client_threads)
    ]

    def client(mine: list[Visitor], count: int) -> None:
        for i in range(count):
            ms = mine[i % len(mine)].click(movie_ids[i % len(movie_ids)])
            with lock:
                latencies.append(ms)

    counts = [config.clicks // config.client_threads] * config.client_threads
    counts[0] += config.clicks - sum(counts)
    threads = [
        threading.Thread(target=client, args=(mine, n))
        for mine, n in zip(per_thread, counts, strict=True)
        if mine
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if len(latencies) != config.clicks:
        raise RuntimeError(f"only {len(latencies)} of {config.clicks} posted")
    return latencies


def _wait_stored(visitors: list[Visitor]) -> None:
    """Until every posted click is in the store; then check none is missing or extra."""
    store = get_clicklog_store()
    waiting = list(visitors)
    deadline = time.perf_counter() + 600
    while waiting:
        if time.perf_counter() > deadline:
            raise RuntimeError("not every click reached DynamoDB in 10 minutes")
        waiting = [
            v for v in waiting if len(store.history(v.user_key)) < len(v.event_ids)
        ]
        if waiting:
            time.sleep(0.05)
    for v in visitors:
        stored = {str(e.event_id) for e in store.history(v.user_key)}
        if stored != set(v.event_ids):
            raise RuntimeError(f"{v.user_key}: stored events differ from posted")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=2000)
    parser.add_argument("--visitors", type=int, default=20)
    parser.add_argument("--client-threads", type=int, default=4)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=4)
    parser.add_argument("--consumer-workers", type=int, default=4)
    args = parser.parse_args()
    config = BenchConfig(**vars(args))
    try:
        result = clicks_benchmark(config=config, log=print)
    except RuntimeError as exc:
        sys.exit(f"click pipeline benchmark: {exc}")
    for line in result.lines():
        print(line)


if __name__ == "__main__":
    main()
