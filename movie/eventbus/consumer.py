"""The Kafka consumer that writes click-log events into the ClickLog store.

Offsets are committed only after the store accepted every event before them, so a
crash replays the uncommitted events; the store keeps one event per event_id, so a
replay stores nothing twice (at-least-once delivery, exactly-once effect).

Clicks, ratings and impressions are written in batches of many visitors
(`ClickLogStore.apply_batch`: on DynamoDB one read and a few batch writes for up to
100 events); a visitor with a delete in the poll has its events applied in order,
the delete on its own, after everything before it and before everything after it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from movie.clicklog.base import ClickLogStore
from movie.eventbus.kafka import KafkaConfig, event_decode, kafka_module
from movie.events import IMPRESSION, Event, EventError
from movie.recommendations.doorbell import histories_stored

logger = logging.getLogger(__name__)

# A record as the consumer applies it: (topic partition, offset, event).
Item = tuple[Any, int, Event]


@dataclass(frozen=True)
class ConsumerConfig:
    kafka: KafkaConfig
    # The broker drops a silent member after this long; a restarted consumer waits
    # about this long for the partitions of the one it replaces.
    session_timeout_ms: int = 10_000
    max_poll_records: int = 500
    # Threads writing to the store; one visitor's events are always applied in
    # order by one thread, different visitors' in parallel.
    workers: int = 4
    # Stop after this many seconds without a message (None: run until stopped).
    idle_timeout_s: float | None = None
    # Log the counts this often.
    log_interval_s: float = 30.0
    # Backoff after a failed store write, doubled up to the maximum.
    retry_backoff_s: float = 0.5
    retry_backoff_max_s: float = 30.0


@dataclass
class ConsumeStats:
    processed: int = 0  # events applied to the store
    failed: int = 0  # malformed messages, logged and skipped
    store_errors: int = 0  # failed writes, retried
    started: float = field(default_factory=time.monotonic)

    def line(self) -> str:
        return (
            f"processed={self.processed} failed={self.failed} "
            f"store_errors={self.store_errors} "
            f"elapsed={time.monotonic() - self.started:.1f}s"
        )


def make_consumer(config: ConsumerConfig) -> Any:
    kafka = kafka_module()
    try:
        return kafka.KafkaConsumer(
            config.kafka.topic,
            bootstrap_servers=config.kafka.bootstrap_servers,
            group_id=config.kafka.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=config.session_timeout_ms,
            heartbeat_interval_ms=max(config.session_timeout_ms // 5, 500),
            max_poll_records=config.max_poll_records,
        )
    except kafka.errors.KafkaError as exc:
        raise ConnectionError(
            f"Kafka broker at KAFKA_BOOTSTRAP_SERVERS="
            f"{','.join(config.kafka.bootstrap_servers)} unreachable: {exc!r}"
        ) from exc


def consume_clicks(
    *,
    config: ConsumerConfig,
    store: ClickLogStore,
    stop: threading.Event,
    consumer: Any = None,
) -> ConsumeStats:
    """Consume the click topic into `store` until `stop` is set (or the idle timeout).

    A malformed message is logged, counted as failed and skipped. A failed store
    write is retried from the same offset with backoff; nothing after it is
    committed until it succeeds.
    """
    kafka = kafka_module()
    consumer = consumer or make_consumer(config)
    stats = ConsumeStats()
    backoff = config.retry_backoff_s
    last_log = time.monotonic()
    idle_since: float | None = None
    logger.info(
        "consuming topic %s as group %s from %s",
        config.kafka.topic,
        config.kafka.group_id,
        ",".join(config.kafka.bootstrap_servers),
    )
    pool = ThreadPoolExecutor(config.workers) if config.workers > 1 else None
    try:
        while not stop.is_set():
            batch = consumer.poll(timeout_ms=500)
            now = time.monotonic()
            if now - last_log >= config.log_interval_s:
                logger.info("consumer: %s", stats.line())
                last_log = now
            if not batch:
                # Idle time counts only once partitions are assigned: joining the
                # group takes a few seconds and is not idleness.
                if config.idle_timeout_s is not None and consumer.assignment():
                    idle_since = idle_since or now
                    if now - idle_since >= config.idle_timeout_s:
                        break
                continue
            idle_since = None
            ok = _apply_batch(batch, consumer, store, stats, stop, pool)
            try:
                # Positions are just past the applied events (failed or stopped
                # partitions were sought back), so this commits only what is stored.
                consumer.commit()
            except kafka.errors.KafkaError as exc:
                # A rebalance took the partitions away; their new owner replays the
                # uncommitted events, which the store ignores.
                logger.warning("offset commit failed (events will replay): %r", exc)
            if ok:
                backoff = config.retry_backoff_s
            else:
                stop.wait(backoff)
                backoff = min(backoff * 2, config.retry_backoff_max_s)
    finally:
        logger.info("consumer stopped: %s", stats.line())
        if pool is not None:
            pool.shutdown()
        consumer.close()
    return stats


def _apply_batch(
    batch: dict[Any, list[Any]],
    consumer: Any,
    store: ClickLogStore,
    stats: ConsumeStats,
    stop: threading.Event,
    pool: ThreadPoolExecutor | None,
) -> bool:
    """Apply a poll's records: in store batches of many visitors at once, except
    for visitors with a delete in the poll, whose events are applied in order.

    Where a write fails (or a stop comes) each partition is sought back to its
    first unapplied record, so it and everything after it is read again; what was
    already applied after it replays harmlessly. Returns False after a failure.
    """
    by_visitor: dict[str, list[Item]] = defaultdict(list)
    for tp, records in batch.items():
        for record in records:
            try:
                event = event_decode(record.value)
            except EventError as exc:
                stats.failed += 1
                logger.warning(
                    "skipping malformed message %s[%d]@%d: %s",
                    tp.topic,
                    tp.partition,
                    record.offset,
                    exc,
                )
                continue
            by_visitor[event.user_key].append((tp, record.offset, event))
    units = _units(by_visitor, store.batch_limit)
    stats_lock = threading.Lock()

    def apply_unit(items: list[Item]) -> tuple[int, list[Item]]:
        """Apply items in order; (count applied, the items not applied)."""
        done = 0
        for run in _runs(items, store.batch_limit):
            tp, offset, event = run[0]
            if stop.is_set():
                return done, items[done:]
            try:
                if event.kind == "delete":
                    store.apply(event)
                else:
                    store.apply_batch([e for _, _, e in run])
            except Exception:
                with stats_lock:
                    stats.store_errors += 1
                logger.exception(
                    "store write failed for %d event(s) from %s at %s[%d]@%d; "
                    "will retry",
                    len(run),
                    event.event_id,
                    tp.topic,
                    tp.partition,
                    offset,
                )
                return done, items[done:]
            done += len(run)
        return done, []

    if pool is None or len(units) < 2:
        results = [apply_unit(items) for items in units]
    else:
        results = list(pool.map(apply_unit, units))
    first_unapplied: dict[Any, int] = {}
    changed: dict[str, None] = {}
    for items, (applied, unapplied) in zip(units, results, strict=True):
        stats.processed += applied
        for _, _, event in items[:applied]:
            if event.kind != IMPRESSION:
                changed[event.user_key] = None
        for tp, offset, _ in unapplied:
            first_unapplied[tp] = min(offset, first_unapplied.get(tp, offset))
    for tp, offset in first_unapplied.items():
        consumer.seek(tp, offset)
    histories_stored(changed)  # their For-you rows warmed (this host's warmer)
    return not first_unapplied or stop.is_set()


def _units(by_visitor: dict[str, list[Item]], limit: int) -> list[list[Item]]:
    """What the store threads apply: the events of visitors without a delete in
    chunks of about `limit` (many visitors each: few store requests even when
    every visitor has one event), and each visitor with a delete on its own, in
    order. A visitor's events are never split between two units: units run in
    parallel, and two copies of one event_id in two units could both find no id
    marker (the exactly-once argument in movie/clicklog/dynamodb.py needs the
    first copy written before the second is read)."""
    ordered, chunks, current = [], [], []
    for items in by_visitor.values():
        if any(event.kind == "delete" for _, _, event in items):
            ordered.append(items)
            continue
        if current and len(current) + len(items) > limit:
            chunks.append(current)
            current = []
        current.extend(items)  # a visitor with more than `limit` stays whole
    if current:
        chunks.append(current)
    return chunks + ordered


def _runs(items: list[Item], limit: int) -> list[list[Item]]:
    """A visitor's (tp, offset, event) items in order, cut into runs for the store:
    each delete alone, the writes between deletes in runs of at most `limit`."""
    runs: list[list[Item]] = []
    for item in items:
        event = item[2]
        last = runs[-1] if runs else None
        if (
            event.kind != "delete"
            and last is not None
            and last[0][2].kind != "delete"
            and len(last) < limit
        ):
            last.append(item)
        else:
            runs.append([item])
    return runs
