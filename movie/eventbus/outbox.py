"""Transactional outbox in front of a bus: no click is lost while a server is down.

`publish` writes the event into the `OutboxEvent` table of the Django database (in
the caller's transaction), and after the commit hands it to the real bus; the row
is deleted once the bus accepted it. An asynchronous bus (Kafka) is not waited
for: the producer's acknowledgement comes later on its I/O thread, and one thread
per process deletes the acknowledged rows in batches (`_Acks`). When the bus fails
(broker or DynamoDB unreachable) the row stays, the page still answers, and the
relay delivers it later, oldest first: `relay_outbox` (the command of that name)
and the next publish of the same visitor, each through `relay_outbox_batch`.

The guarantee: every event reaches the bus at least once (a crash between the
bus's acknowledgement and the row's deletion sends it again); the store keeps one
event per event_id, so each event is stored once.
"""

from __future__ import annotations

import datetime
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, close_old_connections, connection, transaction
from django.db.models import F, Q
from django.db.models.sql import DeleteQuery
from django.utils import timezone

from movie.eventbus.base import EventBus
from movie.events import EventError
from movie.impressions import Message, message_from_dict
from movie.models import OutboxEvent

logger = logging.getLogger(__name__)

# After a failed delivery, requests only write the outbox for this long and leave
# delivery to the relay, so pages do not each wait for a dead server's timeout.
PAUSE_AFTER_FAILURE_S = 5.0
# A row this young may still be in an asynchronous bus's hands (handed to the
# producer, not yet acknowledged or failed: the delivery timeout plus the delay of
# the row's deletion); the relay leaves it alone unless it is marked as failed.
IN_FLIGHT_S = 15.0
# How long the acknowledgement thread gathers reports before one DELETE: at a few
# dozen clicks a second per process, one statement (and one commit, with its log
# flush) for several rows instead of one each. Rows stay that much longer.
ACKS_GATHER_S = 0.1
# `last_error` of a row written while the bus was paused: never handed to the bus.
NOT_SENT = "not sent: the bus failed moments before"


class _Breaker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until = 0.0

    def open(self) -> bool:
        with self._lock:
            return time.monotonic() < self._until

    def trip(self) -> None:
        with self._lock:
            self._until = time.monotonic() + PAUSE_AFTER_FAILURE_S

    def reset(self) -> None:
        with self._lock:
            self._until = 0.0


breaker = _Breaker()


@dataclass(frozen=True)
class RelayResult:
    delivered: int
    pending: int  # rows left undelivered by this pass
    error: str = ""


class _Acks:
    """What an asynchronous bus reported about the rows handed to it, applied to
    the outbox table by one thread per process: acknowledged rows deleted in
    batches (one DELETE for what arrived within ACKS_GATHER_S), failed rows
    marked so the relay and the visitor's next event send them again. If this
    process dies first, the rows stay and are sent again (at least once)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = 0
        self._queue: queue.Queue[tuple[int, BaseException | None]] = queue.Queue()

    def put(self, row_id: int, error: BaseException | None) -> None:
        with self._lock:
            if self._pid != os.getpid():  # first use, or a forked child
                self._pid = os.getpid()
                self._queue = queue.Queue()
                name = "outbox-acks"
                threading.Thread(target=self._run, name=name, daemon=True).start()
            self._queue.put((row_id, error))

    def _run(self) -> None:
        reports = self._queue
        while True:
            batch = [reports.get()]
            time.sleep(ACKS_GATHER_S)
            while True:
                try:
                    batch.append(reports.get_nowait())
                except queue.Empty:
                    break
            try:
                close_old_connections()
                _acks_apply(batch)
            except Exception:
                logger.exception("outbox: %d report(s) not applied", len(batch))
                connection.close()


def _acks_apply(batch: list[tuple[int, BaseException | None]]) -> None:
    sent = [row_id for row_id, error in batch if error is None]
    if sent:
        # One autocommitted DELETE per 100 ids: QuerySet.delete() would wrap it
        # in a transaction (three more round trips and a commit of its own). A
        # row left by a failure here is sent again (at least once).
        DeleteQuery(OutboxEvent).delete_batch(sent, DEFAULT_DB_ALIAS)
    for row_id, error in batch:
        if error is not None:
            _mark_failed(row_id, error)


def _mark_failed(row_id: int, error: BaseException) -> None:
    """The row waits for the relay (and the visitor's next event)."""
    OutboxEvent.objects.filter(pk=row_id).update(
        attempts=F("attempts") + 1, last_error=repr(error)[:500]
    )


def _bus_failed(user_key: str, error: BaseException) -> None:
    breaker.trip()
    logger.warning(
        "event bus unavailable, an event of %s kept in the outbox: %r",
        user_key,
        error,
    )


acks = _Acks()


def _sent(row_id: int, user_key: str, error: BaseException | None) -> None:
    """An asynchronous bus's report on one row (on the producer's I/O thread)."""
    acks.put(row_id, error)
    if error is None:
        breaker.reset()
    else:
        _bus_failed(user_key, error)


class OutboxEventBus(EventBus):
    def __init__(self, inner: EventBus) -> None:
        self.inner = inner

    def publish(self, event: Message) -> None:
        paused = breaker.open()
        row = OutboxEvent.objects.create(
            event_id=event.event_id,
            user_key=event.user_key,
            payload=event.to_dict(),
            last_error=NOT_SENT if paused else "",
        )
        if not paused:
            transaction.on_commit(lambda: self._deliver(row.pk, event), robust=True)

    def _deliver(self, row_id: int, event: Message) -> None:
        if breaker.open():
            OutboxEvent.objects.filter(pk=row_id).update(last_error=NOT_SENT)
            return
        if not _backlog(event.user_key, row_id):
            # The common case: nothing of this visitor waits, so nothing can be
            # overtaken. An asynchronous bus is not waited for; a synchronous one
            # is, without a transaction around it (one insert, one delete).
            if self.inner.asynchronous:
                self.inner.send(event, lambda e: _sent(row_id, event.user_key, e))
            else:
                self._deliver_now(row_id, event)
            return
        result = relay_outbox_batch(bus=self.inner, user_key=event.user_key)
        if result.error:
            breaker.trip()
            logger.warning(
                "event bus unavailable, %d event(s) of %s kept in the outbox: %s",
                result.pending,
                event.user_key,
                result.error,
            )
        else:
            breaker.reset()

    def _deliver_now(self, row_id: int, event: Message) -> None:
        try:
            self.inner.publish(event)
        except Exception as exc:
            _mark_failed(row_id, exc)
            _bus_failed(event.user_key, exc)
            return
        OutboxEvent.objects.filter(pk=row_id).delete()
        breaker.reset()


def _settled(in_flight_s: float) -> Q:
    """Rows no bus holds any more: marked as failed or never sent, or older than
    the in-flight window."""
    cutoff = timezone.now() - datetime.timedelta(seconds=in_flight_s)
    return ~Q(last_error="") | Q(created__lt=cutoff)


def _backlog(user_key: str, row_id: int) -> bool:
    """Older rows of the visitor that wait for the relay (one indexed read)."""
    rows = OutboxEvent.objects.filter(user_key=user_key, pk__lt=row_id)
    return rows.filter(_settled(IN_FLIGHT_S)).exists()


def relay_outbox_batch(
    *,
    bus: EventBus,
    user_key: str | None = None,
    limit: int = 500,
    in_flight_s: float = 0.0,
) -> RelayResult:
    """Deliver undelivered outbox rows to `bus`, oldest first, deleting each one
    once the bus accepted it; stop at the first failure so order is kept.

    With `in_flight_s`, rows younger than that are left to the requests that
    handed them to an asynchronous bus, unless marked as failed or never sent.
    """
    locking = connection.features.has_select_for_update_skip_locked
    delivered = 0
    with transaction.atomic():
        rows = OutboxEvent.objects.order_by("id")
        if user_key is not None:
            rows = rows.filter(user_key=user_key)
        if in_flight_s:
            rows = rows.filter(_settled(in_flight_s))
        if locking:
            # Two relays never send the same row at once; each takes what is free.
            rows = rows.select_for_update(skip_locked=True)
        rows = list(rows[:limit])
        for index, row in enumerate(rows):
            try:
                event = message_from_dict(row.payload)
            except EventError as exc:
                logger.error("dropping malformed outbox row %s: %s", row.pk, exc)
                row.delete()
                continue
            try:
                bus.publish(event)
            except Exception as exc:
                OutboxEvent.objects.filter(pk=row.pk).update(
                    attempts=row.attempts + 1, last_error=repr(exc)[:500]
                )
                return RelayResult(delivered, len(rows) - index, repr(exc))
            row.delete()
            delivered += 1
    return RelayResult(delivered, 0)


def outbox_pending() -> int:
    return OutboxEvent.objects.count()


def relay_outbox(
    *, bus: EventBus, stop: threading.Event, interval_s: float, once: bool = False
) -> RelayResult:
    """Relay passes until `stop` (or one pass with `once`); the summed result.
    Rows an asynchronous bus may still hold (IN_FLIGHT_S) wait for a later pass."""
    delivered = 0
    in_flight_s = IN_FLIGHT_S if bus.asynchronous else 0.0
    while True:
        result = relay_outbox_batch(bus=bus, in_flight_s=in_flight_s)
        delivered += result.delivered
        if result.delivered or result.error:
            logger.info(
                "outbox relay: delivered=%d pending=%d%s",
                result.delivered,
                result.pending,
                f" error={result.error}" if result.error else "",
            )
        if once or stop.is_set():
            return RelayResult(delivered, outbox_pending(), result.error)
        if not result.delivered or result.error:
            # Nothing to do, or the bus is down: wait; a full batch goes on at once.
            stop.wait(interval_s)
