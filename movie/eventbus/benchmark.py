"""End-to-end click pipeline benchmark (the `bench_clicks` command).

Starts gunicorn and a `consume_clicks` process on the configured stack, with a
topic and consumer group of the run's own, posts clicks over HTTP from client
threads (each visitor with its own session and CSRF cookie), and waits until every
click is in the DynamoDB click log.
"""

from __future__ import annotations

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
from pathlib import Path

from django.conf import settings

from movie.clicklog import get_clicklog_store
from movie.models import Movie

ROOT = Path(settings.BASE_DIR)


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
    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
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


def _wait_port(port: int, process: subprocess.Popen, what: str) -> None:
    import socket

    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port}")


def clicks_benchmark(*, config: BenchConfig, log: Callable[[str], None]) -> BenchResult:
    if settings.EVENT_BUS != "kafka" or settings.CLICKLOG_BACKEND != "dynamodb":
        raise RuntimeError(
            "bench_clicks measures the real stack: run it with "
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
    port = _free_port()
    web = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "pseudorec.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(config.web_workers),
            "--threads",
            str(config.web_threads),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
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
        _wait_port(port, web, "gunicorn")
        visitors = [Visitor(port) for _ in range(config.visitors)]
        log(f"{config.visitors} visitors have sessions; posting {config.clicks} clicks")
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
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        http_seconds = time.perf_counter() - started
        if len(latencies) != config.clicks:
            raise RuntimeError(f"only {len(latencies)} of {config.clicks} posted")
        log(f"posted in {http_seconds:.1f} s; waiting for DynamoDB")
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
        e2e_seconds = time.perf_counter() - started
        for v in visitors:
            stored = {str(e.event_id) for e in store.history(v.user_key)}
            if stored != set(v.event_ids):
                raise RuntimeError(f"{v.user_key}: stored events differ from posted")
        return BenchResult(config, http_seconds, e2e_seconds, latencies)
    finally:
        for process in (web, consumer):
            process.terminate()
        for process in (web, consumer):
            process.wait(30)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
