"""ClickLog store in a table of the default database (the embedded default)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator

from django.db import IntegrityError, connection, connections, router, transaction

from movie.clicklog.base import ClickLogStore
from movie.events import Event
from movie.impressions import Impression
from movie.models import ClickEvent, ImpressionEvent

SCAN_CHUNK = 2000


# A stored event's columns, in this order (`Event`'s fields): what every read
# of events gives `_to_event`.
_EVENT_COLUMNS = ("event_id", "user_key", "kind", "movie_id", "rating", "ts")
# Stands for the visitor's key while the ORM writes the history statement.
_ANY_KEY = "visitor key"


@functools.lru_cache(maxsize=64)
def _history_sql(using: str, limit: int | None) -> str:
    """The ORM's statement for one visitor's history, newest first, written once
    per process for each database and limit; a read runs it with the visitor's
    key. Every page of a visitor with clicks reads the history, and the ORM's
    read cost three to four times the plain statement's, most of it building
    the query (docs/BENCHMARKS.md, "The outbox write and the history read
    without the ORM's query building")."""
    rows = (
        ClickEvent.objects.using(using)
        .filter(user_key=_ANY_KEY)
        .order_by("-ts", "-event_id")
        .values_list(*_EVENT_COLUMNS)
    )
    if limit is not None:
        rows = rows[:limit]
    sql, params = rows.query.get_compiler(using).as_sql()
    if tuple(params) != (_ANY_KEY,):
        raise RuntimeError(f"unexpected parameters of the history query: {params}")
    return sql


def _to_event(row: tuple) -> Event:
    """The event of a row of `_EVENT_COLUMNS` (the ORM's values, or a plain
    statement's, whose event_id SQLite and MariaDB give as text)."""
    event_id, user_key, kind, movie_id, rating, ts = row
    if not isinstance(event_id, uuid.UUID):
        event_id = uuid.UUID(str(event_id))
    return Event(
        event_id=event_id,
        user_key=user_key,
        kind=kind,
        movie_id=movie_id,
        rating=rating,
        ts=ts,
    )


_IMPRESSION_COLUMNS = ("event_id", "user_key", "surface", "model_version", "request_id")


def _to_impression(row: ImpressionEvent) -> Impression:
    columns = {name: getattr(row, name) for name in _IMPRESSION_COLUMNS}
    return Impression(movie_ids=tuple(row.movie_ids), ts=row.ts, **columns)


def _insert_once(model: type, event_id: uuid.UUID, **fields: object) -> bool:
    """Insert the row unless its event_id is stored; False if it was.

    One INSERT, which the primary key refuses atomically for a stored event_id
    (no read first, no transaction of its own). Inside the caller's transaction it
    gets a savepoint, so a refused insert does not break that transaction.
    """
    row = model(event_id=event_id, **fields)
    try:
        if connection.in_atomic_block:
            with transaction.atomic():
                row.save(force_insert=True)
        else:
            row.save(force_insert=True)
    except IntegrityError:
        return False
    return True


class SqlClickLogStore(ClickLogStore):
    def add(self, event: Event) -> bool:
        if event.kind == "delete":
            raise ValueError("a delete event is applied, not stored")
        return _insert_once(
            ClickEvent,
            event.event_id,
            user_key=event.user_key,
            movie_id=event.movie_id,
            kind=event.kind,
            rating=event.rating,
            ts=event.ts,
        )

    def history(self, user_key: str, limit: int | None = None) -> list[Event]:
        if limit == 0:
            return []
        using = router.db_for_read(ClickEvent)
        with connections[using].cursor() as cursor:
            cursor.execute(_history_sql(using, limit), [user_key])
            return [_to_event(row) for row in cursor.fetchall()]

    def get(self, user_key: str, event_id: uuid.UUID) -> Event | None:
        rows = ClickEvent.objects.filter(user_key=user_key, event_id=event_id)
        row = rows.values_list(*_EVENT_COLUMNS).first()
        return _to_event(row) if row else None

    def delete(self, user_key: str, event_id: uuid.UUID) -> bool:
        deleted, _ = ClickEvent.objects.filter(
            user_key=user_key, event_id=event_id
        ).delete()
        return deleted > 0

    def delete_all(self, user_key: str, up_to_ts: int | None = None) -> int:
        rows = ClickEvent.objects.filter(user_key=user_key)
        if up_to_ts is not None:
            rows = rows.filter(ts__lte=up_to_ts)
        deleted, _ = rows.delete()
        return deleted

    def user_keys(self, prefix: str = "") -> set[str]:
        rows = ClickEvent.objects.filter(user_key__startswith=prefix)
        return set(rows.values_list("user_key", flat=True).distinct())

    def holds_elsewhere(self, user_key: str, event_id: uuid.UUID) -> bool:
        # event_id is the table's primary key: one id for the whole table.
        return (
            ClickEvent.objects.filter(event_id=event_id)
            .exclude(user_key=user_key)
            .exists()
        )

    def reassign(self, from_key: str, to_key: str) -> int:
        return ClickEvent.objects.filter(user_key=from_key).update(user_key=to_key)

    def add_impression(self, impression: Impression) -> bool:
        columns = {name: getattr(impression, name) for name in _IMPRESSION_COLUMNS}
        event_id = columns.pop("event_id")
        movie_ids = list(impression.movie_ids)
        return _insert_once(
            ImpressionEvent, event_id, movie_ids=movie_ids, ts=impression.ts, **columns
        )

    def impressions(self, user_key: str) -> list[Impression]:
        rows = ImpressionEvent.objects.filter(user_key=user_key)
        return [_to_impression(row) for row in rows.order_by("-ts", "-event_id")]

    def events_scan(self) -> Iterator[Event]:
        rows = ClickEvent.objects.order_by().values_list(*_EVENT_COLUMNS)
        return (_to_event(row) for row in rows.iterator(chunk_size=SCAN_CHUNK))

    def impressions_scan(self) -> Iterator[Impression]:
        rows = ImpressionEvent.objects.order_by().iterator(chunk_size=SCAN_CHUNK)
        return (_to_impression(row) for row in rows)
