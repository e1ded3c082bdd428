"""Transactional outbox in front of a bus: no click is lost while a server is down.

`publish` writes the event into the `OutboxEvent` table of the Django database (in
the caller's transaction). What happens next depends on the bus:

- An asynchronous bus (Kafka) is never touched by the request: the relay
  (`relay_outbox`, beside the site) takes the oldest rows in batches, hands a
  whole batch to the producer at once, waits for the broker's acknowledgements
  and deletes the acknowledged rows in one statement (`relay_outbox_batch`).
- A synchronous bus (the direct bus into DynamoDB) is called after the commit,
  and the row deleted once it accepted the event. When it fails the row stays,
  the page still answers, and the relay or the visitor's next publish delivers
  the visitor's backlog first, oldest first.

The guarantee: every event reaches the bus at least once (a crash between the
bus's acknowledgement and the row's deletion sends it again); the store keeps one
event per event_id, so each event is stored once.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import logging
import threading
import time
from dataclasses import dataclass

from django.db import connection, connections, router, transaction
from django.db.models import F, Field, Q
from django.utils import timezone

from movie.eventbus.base import EventBus
from movie.events import EventError
from movie.impressions import Message, message_from_dict
from movie.models import OutboxEvent

logger = logging.getLogger(__name__)

# After a failed delivery, requests only write the outbox for this long and leave
# delivery to the relay, so pages do not each wait for a dead server's timeout.
PAUSE_AFTER_FAILURE_S = 5.0
# A row this young may still be in a synchronous delivery's hands (another
# request's, between its commit and its delete; well past the time such a
# delivery may take): a visitor's next publish does not count it as backlog.
IN_FLIGHT_S = 15.0
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


# Most rows one relay pass hands to the bus.
RELAY_BATCH = 500
# Seconds from the start of one relay pass to the start of the next, unless the
# last one was full: for an asynchronous bus the relay is how every event leaves
# (what it adds to a click's way into the store), for a synchronous one it only
# sends leftovers. A pass has a fixed cost (a transaction, a produce request, a
# commit: about 5 ms of CPU for one row, 0.17 ms a row for 500, measured by
# benchmarks.relay_pass), so under load a steady cadence gathers the requests'
# rows into larger passes.
RELAY_INTERVAL_S = {True: 0.1, False: 2.0}


@dataclass(frozen=True)
class RelayResult:
    delivered: int
    pending: int  # rows left undelivered by this pass
    error: str = ""


def _mark_failed(row_id: int, error: BaseException) -> None:
    """The row waits for the relay's next pass (and, with a synchronous bus, the
    visitor's next event)."""
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


# The columns `write_outbox_row` gives a value, in this order.
_OUTBOX_COLUMNS = (
    "event_id",
    "user_key",
    "payload",
    "created",
    "attempts",
    "last_error",
)


@functools.lru_cache(maxsize=8)
def _outbox_insert(using: str) -> tuple[list[Field], str]:
    """The model fields of `_OUTBOX_COLUMNS` and the INSERT of one outbox row
    on database `using`, written once per process for each database."""
    meta = OutboxEvent._meta
    fields = [meta.get_field(name) for name in _OUTBOX_COLUMNS]
    quote = connections[using].ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    marks = ", ".join(["%s"] * len(fields))
    return fields, f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({marks})"


def write_outbox_row(event: Message, *, last_error: str = "") -> int:
    """Write one outbox row for `event` (in the caller's transaction); its id.

    One plain INSERT, each value prepared by its model field as the ORM would,
    and a failed one marks the caller's transaction for rollback as the ORM's
    does: every click writes one, and `OutboxEvent.objects.create` spent about
    0.1 ms of CPU more per row on building the model and the statement
    (docs/BENCHMARKS.md, "The outbox write and the history read without the
    ORM's query building"). SQLite and MariaDB/MySQL, the site's databases,
    give the new id as the cursor's `lastrowid`; another database gets the
    ORM's create."""
    values = (
        event.event_id,
        event.user_key,
        event.to_dict(),
        timezone.now(),
        0,
        last_error,
    )
    using = router.db_for_write(OutboxEvent)
    db = connections[using]
    if db.vendor not in ("sqlite", "mysql"):
        row = OutboxEvent.objects.using(using).create(
            **dict(zip(_OUTBOX_COLUMNS, values, strict=True))
        )
        return row.pk
    fields, sql = _outbox_insert(using)
    params = [
        field.get_db_prep_save(value, db)
        for field, value in zip(fields, values, strict=True)
    ]
    with transaction.mark_for_rollback_on_error(using), db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.lastrowid


class OutboxEventBus(EventBus):
    def __init__(self, inner: EventBus) -> None:
        self.inner = inner

    def publish(self, event: Message) -> None:
        if self.inner.asynchronous:
            # The relay hands it to the bus with the rows of other requests; the
            # request only writes it (one INSERT and its commit).
            write_outbox_row(event)
            return
        paused = breaker.open()
        row_id = write_outbox_row(event, last_error=NOT_SENT if paused else "")
        if not paused:
            transaction.on_commit(lambda: self._deliver(row_id, event), robust=True)

    def _deliver(self, row_id: int, event: Message) -> None:
        if breaker.open():
            OutboxEvent.objects.filter(pk=row_id).update(last_error=NOT_SENT)
            return
        if not _backlog(event.user_key, row_id):
            # The common case: nothing of this visitor waits, so nothing can be
            # overtaken; one publish and one delete, without a transaction.
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
    *, bus: EventBus, user_key: str | None = None, limit: int = RELAY_BATCH
) -> RelayResult:
    """Deliver undelivered outbox rows to `bus`, oldest first: up to `limit` rows
    handed over at once (`EventBus.publish_batch`), the ones it accepted deleted
    in one statement. A visitor's first row that fails is marked, and it and that
    visitor's later rows stay, so the next pass sends them again in order (a
    later row the bus did take goes twice, which the store absorbs); other
    visitors' rows are not held up. Rows the bus did not try stay as they are."""
    locking = connection.features.has_select_for_update_skip_locked
    # Where the database has SKIP LOCKED the rows are locked while the bus has
    # them, so two relays never send the same row at once. SQLite has not, and
    # a transaction there would hold the database's write lock (and every
    # request's INSERT) while the broker answers: no transaction around it.
    with transaction.atomic() if locking else contextlib.nullcontext():
        rows = OutboxEvent.objects.order_by("id")
        if user_key is not None:
            rows = rows.filter(user_key=user_key)
        if locking:
            rows = rows.select_for_update(skip_locked=True)
        events: list[Message] = []
        sendable: list[OutboxEvent] = []
        done: list[int] = []
        for row in rows[:limit]:
            try:
                events.append(message_from_dict(row.payload))
            except EventError as exc:
                logger.error("dropping malformed outbox row %s: %s", row.pk, exc)
                done.append(row.pk)
                continue
            sendable.append(row)
        results = bus.publish_batch(events) if events else []
        held: set[str] = set()  # visitors with a row that failed in this pass
        first_error = ""
        delivered = 0
        for row, error in zip(sendable, results, strict=False):
            if row.user_key in held:
                continue
            if error is None:
                done.append(row.pk)
                delivered += 1
                continue
            held.add(row.user_key)
            first_error = first_error or repr(error)
            _mark_failed(row.pk, error)
        if done:
            OutboxEvent.objects.filter(pk__in=done).delete()
    return RelayResult(delivered, len(sendable) - delivered, first_error)


def outbox_pending() -> int:
    return OutboxEvent.objects.count()


def relay_outbox(
    *,
    bus: EventBus,
    stop: threading.Event,
    interval_s: float | None = None,
    once: bool = False,
) -> RelayResult:
    """Relay passes until `stop` (or one pass with `once`); the summed result.
    A full pass is followed by the next at once, any other after `interval_s`
    from its start."""
    if interval_s is None:
        interval_s = RELAY_INTERVAL_S[bus.asynchronous]
    delivered = 0
    while True:
        started = time.monotonic()
        pause = interval_s
        try:
            result = relay_outbox_batch(bus=bus)
        except Exception as exc:
            # The database (or something the bus did not expect) failed: the rows
            # stay where they are; a new connection and a pause, then go on.
            logger.exception("outbox relay: pass failed")
            if not connection.in_atomic_block:
                connection.close()  # the next pass connects again
            result = RelayResult(0, 0, repr(exc))
            pause = PAUSE_AFTER_FAILURE_S
        delivered += result.delivered
        if result.error:
            logger.warning(
                "outbox relay: delivered=%d pending=%d error=%s",
                result.delivered,
                result.pending,
                result.error,
            )
        elif result.delivered:
            logger.debug("outbox relay: delivered=%d", result.delivered)
        if once or stop.is_set():
            return RelayResult(delivered, outbox_pending(), result.error)
        if result.error:
            stop.wait(pause)  # a full pause after a failure
        elif result.delivered < RELAY_BATCH:
            stop.wait(max(0.0, started + interval_s - time.monotonic()))
