"""End-to-end click pipeline on the real stack: HTTP POST /api/events (gunicorn) ->
outbox -> Kafka -> consume_clicks -> DynamoDB, in clicks per second.

    DJANGO_ENV_FILE=.env.stack python -m benchmarks.click_pipeline --clicks 1000

(`make bench-clicks` starts the local servers and runs this.) It starts gunicorn, a
`consume_clicks` process with a topic and consumer group of the run's own, the
outbox relay (`relay_outbox`) and the For-you warmer (`warm_for_you`, which the
consumer names the visitors it stored to; not with `--no-warmer`), as `make
run-stack` runs them, then:

0. ready: one click, and a wait until the consumer has stored it. A new consumer
   takes seconds to be given the topic's partitions (the group's join); the site's
   consumer runs all along, so this is left out of the burst, and printed;
1. burst: posts `--clicks` clicks as fast as `--client-threads` clients can (each
   visitor with its own session and CSRF cookie), and waits until every
   click is in the DynamoDB click log: clicks accepted per second over HTTP, clicks
   stored per second end to end (first POST to the consumer's commit of the last
   click: it commits an offset only once the store took every event before it),
   then the time until a poll of DynamoDB has read every item back, lost
   (accepted, never stored) and duplicated (stored more than once, or never
   accepted);
2. paced: `--paced-rate` clicks per second for `--paced-seconds`, each click's time
   from its 201 to its first appearance in the visitor's history, polled every
   `--poll-ms`: p50 / p95 / max, lost, duplicated.

It also prints the CPU each part of the run used during the burst (from /proc,
first POST to the consumer's commit of the last click), per click: the web
workers, the relay, the consumer, the warmer, the broker, moto_server, the
database server and this process (the clients and the commit wait). On 2
shared cores that sum is what bounds the rate.

"In the history" is polled by key: the 201 names the event's `user_key`, `ts` and
`event_id`, hence its item's primary key in the visitor's partition (`user_key`,
`sort_key(ts, event_id)`), and one strongly consistent BatchGetItem asks for up to
100 such items at once. An item under that key is exactly what the pages' history
Query of that partition returns. Polling with the Query itself would measure the
poll: moto_server answers every Query by sorting the whole table, so ten
visitors' queries every 50 ms kept it busy and slowed the consumer's writes.
Lost and duplicated are still counted from every visitor's whole history, read
once at the end of each phase.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import django
from botocore.exceptions import BotoCoreError, ClientError
from kafka import KafkaConsumer, TopicPartition

from benchmarks.http_visitor import Visitor
from benchmarks.machine import speed_line
from benchmarks.ngcf_http import cpu_seconds, worker_pids
from benchmarks.servers import (
    ROOT,
    for_you_warmer,
    gunicorn,
    served_concurrency,
    served_environment,
    stop,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pseudorec.settings")
django.setup()

from django.conf import settings  # noqa: E402  (needs django.setup())

from movie.clicklog.dynamodb import (  # noqa: E402
    DynamoDBClickLogStore,
    DynamoDBConfig,
    create_table,
    dynamodb_client,
    sort_key,
)
from movie.models import Movie, OutboxEvent  # noqa: E402

# How long the benchmark waits for the last clicks to be stored.
STORE_WAIT_S = 600.0
# DynamoDB's limit of keys per BatchGetItem.
READ_BATCH = 100
# An accepted click's item key in the store: {"user_key": ..., "sk": ...}.
ItemKey = dict[str, dict[str, str]]


@dataclass(frozen=True)
class BenchConfig:
    clicks: int
    visitors: int
    client_threads: int
    web_workers: int
    web_threads: int
    consumer_workers: int
    paced_rate: float
    paced_seconds: float
    poll_ms: float
    no_warmer: bool = False


@dataclass(frozen=True)
class Count:
    lost: int  # accepted (201), not in the store
    duplicated: int  # stored more than once, or stored and never accepted


@dataclass(frozen=True)
class Paced:
    sent: int
    seconds: float
    e2e_ms: list[float]  # 201 -> first seen in the history, per click
    count: Count


@dataclass(frozen=True)
class BenchResult:
    config: BenchConfig
    http_seconds: float
    e2e_seconds: float  # first POST to the consumer's commit of the last click
    read_seconds: float  # first POST to the last click read back from DynamoDB
    latencies_ms: list[float]
    burst: Count
    paced: Paced
    burst_cpu_s: dict[str, float]  # part of the run -> CPU seconds in the burst

    def lines(self) -> list[str]:
        c, paced = self.config, self.paced
        lat = sorted(self.latencies_ms)
        e2e = sorted(paced.e2e_ms) or [float("nan")]
        return [
            f"clicks={c.clicks} visitors={c.visitors} "
            f"client_threads={c.client_threads} "
            f"gunicorn={c.web_workers} workers x {c.web_threads} threads "
            f"consumer=1 process x {c.consumer_workers} store threads "
            f"warmer={'no' if c.no_warmer else 'yes'}",
            f"burst: HTTP accepted {c.clicks / self.http_seconds:.0f} clicks/s "
            f"(POST p50 {statistics.median(lat):.1f} ms, "
            f"p95 {_pct(lat, 0.95):.1f} ms)",
            f"burst: stored end to end (HTTP -> DynamoDB) "
            f"{c.clicks / self.e2e_seconds:.0f} clicks/s "
            f"({self.e2e_seconds:.1f} s for {c.clicks}, to the consumer's commit; "
            f"{self.read_seconds:.1f} s to the poll's read of the last item); "
            f"lost={self.burst.lost} duplicated={self.burst.duplicated}",
            f"paced: {paced.sent} clicks at {paced.sent / paced.seconds:.0f}/s "
            f"(asked {c.paced_rate:.0f}/s); accepted -> in the history: "
            f"p50 {statistics.median(e2e):.0f} ms, p95 {_pct(e2e, 0.95):.0f} ms, "
            f"max {e2e[-1]:.0f} ms (polled every {c.poll_ms:.0f} ms); "
            f"lost={paced.count.lost} duplicated={paced.count.duplicated}",
            self._cpu_line(),
        ]

    def _cpu_line(self) -> str:
        """CPU per stored click of the burst (first POST to the consumer's
        commit of the last click, the poll's read-back not in it), by part:
        what the 2 cores spent on each click."""
        parts = ", ".join(
            f"{name} {seconds * 1000 / self.config.clicks:.2f}"
            for name, seconds in self.burst_cpu_s.items()
        )
        total = sum(self.burst_cpu_s.values()) * 1000 / self.config.clicks
        cores = sum(self.burst_cpu_s.values()) / self.e2e_seconds
        return (
            f"burst CPU ms per click: {parts}; total {total:.2f} "
            f"({cores:.2f} cores busy on average)"
        )


def _pct(ordered: list[float], q: float) -> float:
    return ordered[max(int(len(ordered) * q) - 1, 0)]


def _server_pids() -> dict[str, list[int]]:
    """The local servers' processes: the broker and moto_server from the pid
    files `python -m devservers up` writes, the database server by its name."""
    state = ROOT / ".devservers"
    found: dict[str, list[int]] = {}
    for name, label in (("tansu", "broker"), ("moto", "moto_server")):
        with contextlib.suppress(OSError, ValueError):
            found[label] = [int((state / f"{name}.pid").read_text())]
    database = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError):
            if comm.read_text().strip() in ("mariadbd", "mysqld"):
                database.append(int(comm.parent.name))
    found["database"] = database
    return found


def _cpu_by_part(parts: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds used so far by each part's processes (0 for one that is gone)."""
    used = {}
    for name, pids in parts.items():
        try:
            used[name] = cpu_seconds(pids)
        except OSError:
            used[name] = 0.0
    return used


def _click(visitor: Visitor, movie_id: int) -> tuple[float, ItemKey]:
    """POST one click: (milliseconds, the key its item will have in the store)."""
    status, payload, ms = visitor.post_event({"movie_id": movie_id, "kind": "click"})
    if status != 201:
        raise RuntimeError(f"POST /api/events answered {status}: {payload[:200]!r}")
    event = json.loads(payload)
    sk = sort_key(event["ts"], uuid.UUID(event["event_id"]))
    return ms, {"user_key": {"S": event["user_key"]}, "sk": {"S": sk}}


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
    # A table of the run's own, dropped after the run: moto reads a whole table
    # for every query, so a table grown by earlier runs would slow every history
    # read.
    store = _store_make(f"bench-{run}")
    env = {
        **served_environment(),  # the warmer's socket and kept rows of this run
        "KAFKA_TOPIC": f"bench-{run}",
        "KAFKA_CONSUMER_GROUP": f"bench-{run}",
        "DYNAMODB_TABLE": store.table,
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "manage.py", "consume_clicks", "--workers"]
    consumer = subprocess.Popen(
        [*command, str(config.consumer_workers)], cwd=ROOT, env=env
    )
    # The relay runs beside the site as in `make run-stack`: it sends the rows a
    # failed or paused producer left in the outbox.
    relay = subprocess.Popen(
        [sys.executable, "manage.py", "relay_outbox"], cwd=ROOT, env=env
    )
    try:
        with contextlib.ExitStack() as servers:
            web, base = servers.enter_context(
                gunicorn(
                    workers=config.web_workers, threads=config.web_threads, env=env
                )
            )
            warmer = None
            if not config.no_warmer:
                warmer = servers.enter_context(for_you_warmer(env=env))
            visitors = [Visitor(base) for _ in range(config.visitors)]
            parts = {
                "web": [web.pid, *worker_pids(web.pid)],
                "relay": [relay.pid],
                "consumer": [consumer.pid],
                **({} if warmer is None else {"warmer": [warmer.pid]}),
                **_server_pids(),
                "clients and wait": [os.getpid()],
            }
            # A long-running consumer has joined its group before clicks come;
            # a new one takes seconds to be given the partitions. One click
            # stored first, so the burst measures the running pipeline.
            ready = time.perf_counter()
            _click(Visitor(base), movie_ids[0])
            _wait_committed(env["KAFKA_TOPIC"], env["KAFKA_CONSUMER_GROUP"], 1)
            ready = time.perf_counter() - ready
            log(f"pipeline ready: a first click stored in {ready:.1f} s")
            log(f"{config.visitors} visitors; posting {config.clicks} clicks")
            cpu_before = _cpu_by_part(parts)
            started = time.perf_counter()
            latencies, keys = _post_clicks(visitors, movie_ids, config)
            http_seconds = time.perf_counter() - started
            log(f"posted in {http_seconds:.1f} s; waiting for DynamoDB")
            _wait_committed(
                env["KAFKA_TOPIC"], env["KAFKA_CONSUMER_GROUP"], 1 + len(keys)
            )
            e2e_seconds = time.perf_counter() - started
            cpu_after = _cpu_by_part(parts)
            _wait_stored(store, keys)
            read_seconds = time.perf_counter() - started
            burst_cpu = {k: cpu_after[k] - cpu_before[k] for k in parts}
            burst = _count(store, visitors)
            log(f"paced: {config.paced_rate:.0f}/s for {config.paced_seconds:.0f} s")
            # New visitors with short histories; a first click gives each its key.
            fresh = [Visitor(base) for _ in range(config.visitors)]
            for visitor in fresh:
                _click(visitor, movie_ids[0])
            paced = _paced(store, fresh, movie_ids, config)
        return BenchResult(
            config,
            http_seconds,
            e2e_seconds,
            read_seconds,
            latencies,
            burst,
            paced,
            burst_cpu,
        )
    finally:
        stop(relay)
        stop(consumer)
        # moto_server keeps every table in its memory: one left by each run made
        # the runs after it slower (its garbage collector walks them all).
        try:
            store.client.delete_table(TableName=store.table)
        except (BotoCoreError, ClientError) as exc:  # moto gone: the run says why
            log(f"could not drop the run's table {store.table}: {exc}")


def _post_clicks(
    visitors: list[Visitor], movie_ids: list[int], config: BenchConfig
) -> tuple[list[float], list[ItemKey]]:
    """Post the burst: each click's milliseconds, and its item's key."""
    latencies: list[float] = []
    keys: list[ItemKey] = []
    lock = threading.Lock()
    per_thread = [
        visitors[i :: config.client_threads] for i in range(config.client_threads)
    ]

    def client(mine: list[Visitor], count: int) -> None:
        for i in range(count):
            ms, key = _click(mine[i % len(mine)], movie_ids[i % len(movie_ids)])
            with lock:
                latencies.append(ms)
                keys.append(key)

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
    return latencies, keys


def _store_make(table: str) -> DynamoDBClickLogStore:
    config = DynamoDBConfig(
        table=table,
        endpoint_url=settings.DYNAMODB_ENDPOINT_URL or None,
        region=settings.AWS_DEFAULT_REGION,
    )
    create_table(dynamodb_client(config), table)
    return DynamoDBClickLogStore(config)


def _stored(store: DynamoDBClickLogStore, keys: list[ItemKey]) -> list[ItemKey]:
    """Those of `keys` whose item is in the store (strongly consistent reads)."""
    found: list[ItemKey] = []
    for start in range(0, len(keys), READ_BATCH):
        request: dict[str, Any] = {
            store.table: {
                "Keys": keys[start : start + READ_BATCH],
                "ConsistentRead": True,
                "ProjectionExpression": "user_key, sk",
            }
        }
        while request:
            response = store.client.batch_get_item(RequestItems=request)
            found.extend(response.get("Responses", {}).get(store.table, []))
            request = response.get("UnprocessedKeys") or {}
    return found


def _key_text(key: ItemKey) -> str:
    return f"{key['user_key']['S']}|{key['sk']['S']}"


def _oldest(waiting: dict[str, ItemKey]) -> list[ItemKey]:
    """What one poll asks for: each visitor's oldest waiting clicks, at most
    READ_BATCH in all (one BatchGetItem). A visitor's clicks are mostly stored in
    the order they were accepted, so the oldest are the next to appear; asking for
    every waiting click each time would make the poll the store's main load."""
    by_visitor: dict[str, list[ItemKey]] = {}
    for key in waiting.values():  # insertion order: the order accepted
        by_visitor.setdefault(key["user_key"]["S"], []).append(key)
    share = max(READ_BATCH // max(len(by_visitor), 1), 1)
    asked = [key for keys in by_visitor.values() for key in keys[:share]]
    return asked[:READ_BATCH]


def _wait_stored(store: DynamoDBClickLogStore, keys: list[ItemKey]) -> None:
    """Until every accepted click is in the store (or STORE_WAIT_S is up)."""
    waiting = {_key_text(k): k for k in keys}
    deadline = time.perf_counter() + STORE_WAIT_S
    while waiting and time.perf_counter() < deadline:
        for item in _stored(store, _oldest(waiting)):
            waiting.pop(_key_text(item), None)
        if waiting:
            time.sleep(0.05)


def _wait_committed(topic: str, group: str, clicks: int) -> None:
    """Until every click is stored, seen from the broker and the outbox: the
    outbox is empty (the relay put every row on the topic), the consumer group
    has committed every partition up to its end, and that is at least `clicks`
    records. The consumer commits an offset only after the store accepted every
    event before it, so that moment is when the last click was stored; a record
    the relay sent twice (at least once) only adds to the end it must reach. One
    indexed read of the outbox and one OffsetFetch per partition every 20 ms, no
    load on moto_server (whose reads would slow the consumer's writes). Raises
    RuntimeError when STORE_WAIT_S is up."""
    # Not subscribed: it never joins the group, it only reads its offsets.
    reader = KafkaConsumer(
        bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS.split(","),
        group_id=group,
        enable_auto_commit=False,
    )
    try:
        deadline = time.perf_counter() + STORE_WAIT_S
        while time.perf_counter() < deadline:
            if _all_committed(reader, topic, clicks):
                return
            time.sleep(0.02)
    finally:
        reader.close()
    raise RuntimeError(f"not every click stored after {STORE_WAIT_S:.0f} s")


def _all_committed(reader: KafkaConsumer, topic: str, clicks: int) -> bool:
    if OutboxEvent.objects.exists():
        return False
    tps = [TopicPartition(topic, p) for p in reader.partitions_for_topic(topic) or ()]
    if not tps:
        return False
    ends = reader.end_offsets(tps)
    committed = {tp: reader.committed(tp) or 0 for tp in tps}
    total = sum(committed.values())
    return total >= clicks and all(committed[tp] >= ends[tp] for tp in tps)


def _count(store: DynamoDBClickLogStore, visitors: list[Visitor]) -> Count:
    """Lost and duplicated clicks, over every visitor's whole history."""
    lost = duplicated = 0
    for v in visitors:
        stored = Counter(str(e.event_id) for e in store.history(v.user_key))
        accepted = set(v.event_ids)
        lost += len(accepted - set(stored))
        duplicated += sum(n - 1 for n in stored.values())
        duplicated += len(set(stored) - accepted)
    return Count(lost, duplicated)


def _paced(
    store: DynamoDBClickLogStore,
    visitors: list[Visitor],
    movie_ids: list[int],
    config: BenchConfig,
) -> Paced:
    """Clicks at a fixed rate, each timed from its 201 to the history."""
    accepted: dict[str, float] = {}  # item key -> time of its 201
    keys: dict[str, ItemKey] = {}  # item key -> the key itself
    seen: dict[str, float] = {}  # item key -> first poll that found it
    lock = threading.Lock()
    posting = threading.Event()
    posting.set()
    total = int(config.paced_rate * config.paced_seconds)
    threads = config.client_threads
    started = time.perf_counter()

    def client(index: int) -> None:
        mine = visitors[index::threads]
        for k, n in enumerate(range(index, total, threads)):
            delay = started + n / config.paced_rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            _ms, key = _click(mine[k % len(mine)], movie_ids[n % len(movie_ids)])
            with lock:
                accepted[_key_text(key)] = time.perf_counter()
                keys[_key_text(key)] = key

    def poller() -> None:
        deadline = None
        while posting.is_set() or len(seen) < len(accepted):
            with lock:
                waiting = {t: k for t, k in keys.items() if t not in seen}
            for item in _stored(store, _oldest(waiting)):
                seen.setdefault(_key_text(item), time.perf_counter())
            time.sleep(config.poll_ms / 1000)
            if not posting.is_set():
                deadline = deadline or time.perf_counter() + STORE_WAIT_S
                if time.perf_counter() > deadline:
                    return  # what is still missing is lost (see _count)

    watch = threading.Thread(target=poller)
    watch.start()
    clients = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    seconds = time.perf_counter() - started
    posting.clear()
    watch.join()
    e2e = [(seen[i] - t) * 1000 for i, t in accepted.items() if i in seen]
    return Paced(len(accepted), seconds, e2e, _count(store, visitors))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=2000)
    parser.add_argument("--visitors", type=int, default=20)
    parser.add_argument("--client-threads", type=int, default=4)
    workers, threads = served_concurrency()  # `make run`'s
    parser.add_argument("--web-workers", type=int, default=workers)
    parser.add_argument("--web-threads", type=int, default=threads)
    parser.add_argument("--consumer-workers", type=int, default=4)
    parser.add_argument("--paced-rate", type=float, default=100.0)
    parser.add_argument("--paced-seconds", type=float, default=10.0)
    parser.add_argument("--poll-ms", type=float, default=50.0)
    parser.add_argument(
        "--no-warmer",
        action="store_true",
        help="without the For-you warmer `make run-stack` starts beside the site",
    )
    args = parser.parse_args()
    print(speed_line())
    config = BenchConfig(**vars(args))
    try:
        result = clicks_benchmark(config=config, log=print)
    except RuntimeError as exc:
        sys.exit(f"click pipeline benchmark: {exc}")
    for line in result.lines():
        print(line)
    counts = (result.burst, result.paced.count)
    sys.exit(1 if any(c.lost or c.duplicated for c in counts) else 0)


if __name__ == "__main__":
    main()
