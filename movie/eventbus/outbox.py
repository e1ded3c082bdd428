"""Transactional outbox in front of a bus: no click is lost while a server is down.

`publish` writes the event into the `OutboxEvent` table of the Django database (in
the caller's transaction), and after the commit hands it to the real bus and
deletes the row. When the bus fails (broker or DynamoDB unreachable) the row stays,
the page still answers, and `outbox_relay` (the `relay_outbox` command, and the
next publish of the same visitor) delivers it later, oldest first.

The guarantee: every event reaches the bus at least once (a crash between the
bus's acknowledgement and the row's deletion sends it again); the store keeps one
event per event_id, so each event is stored once.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from django.db import connection, transaction

from movie.eventbus.base import EventBus
from movie.events import EventError
from movie.impressions import Message, message_from_dict
from movie.models import OutboxEvent

logger = logging.getLogger(__name__)

# After a failed delivery, requests only write the outbox for this long and leave
# delivery to the relay, so pages do not each wait for a dead server's timeout.
PAUSE_AFTER_FAILURE_S = 5.0


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


class OutboxEventBus(EventBus):
    def __init__(self, inner: EventBus) -> None:
        self.inner = inner

    def publish(self, event: Message) -> None:
        OutboxEvent.objects.create(
            event_id=event.event_id, user_key=event.user_key, payload=event.to_dict()
        )
        transaction.on_commit(lambda: self._deliver(event.user_key), robust=True)

    def _deliver(self, user_key: str) -> None:
        if breaker.open():
            return
        result = outbox_relay(bus=self.inner, user_key=user_key)
        if result.error:
            breaker.trip()
            logger.warning(
                "event bus unavailable, %d event(s) of %s kept in the outbox: %s",
                result.pending,
                user_key,
                result.error,
            )
        else:
            breaker.reset()


def outbox_relay(
    *, bus: EventBus, user_key: str | None = None, limit: int = 500
) -> RelayResult:
    """Deliver undelivered outbox rows to `bus`, oldest first, deleting each one
    once the bus accepted it; stop at the first failure so order is kept."""
    locking = connection.features.has_select_for_update_skip_locked
    delivered = 0
    with transaction.atomic():
        rows = OutboxEvent.objects.order_by("id")
        if user_key is not None:
            rows = rows.filter(user_key=user_key)
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


def outbox_relay_loop(
    *, bus: EventBus, stop: threading.Event, interval_s: float, once: bool = False
) -> RelayResult:
    """Relay passes until `stop` (or one pass with `once`); the summed result."""
    delivered = 0
    while True:
        result = outbox_relay(bus=bus)
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
