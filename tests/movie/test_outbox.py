"""The transactional outbox, against a bus that fails on demand (no server)."""

import threading

import pytest
from kafka.errors import KafkaTimeoutError

from movie.eventbus import get_event_bus
from movie.eventbus.base import EventBus
from movie.eventbus.outbox import (
    OutboxEventBus,
    RelayResult,
    breaker,
    relay_outbox_batch,
    write_outbox_row,
)
from movie.events import Event
from movie.models import OutboxEvent


class FlakyBus(EventBus):
    def __init__(self):
        self.up = True
        self.published = []

    def publish(self, event):
        if not self.up:
            raise ConnectionError("broker down")
        self.published.append(event)


def click(user_key, movie_id, ts):
    return Event(user_key=user_key, kind="click", movie_id=movie_id, ts=ts)


@pytest.fixture
def flaky():
    breaker.reset()
    yield FlakyBus()
    breaker.reset()


def test_publish_delivers_after_commit_and_forgets(
    db, flaky, django_capture_on_commit_callbacks
):
    event = click("s:a", 50, 1)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        OutboxEventBus(flaky).publish(event)
        assert OutboxEvent.objects.count() == 1  # written before any delivery
        assert flaky.published == []
    for callback in callbacks:
        callback()
    assert flaky.published == [event]
    assert OutboxEvent.objects.count() == 0


def test_events_kept_while_down_are_relayed_in_order(
    db, flaky, django_capture_on_commit_callbacks
):
    flaky.up = False
    events = [click("s:a", 50, 1), click("s:b", 100, 2), click("s:a", 127, 3)]
    with django_capture_on_commit_callbacks(execute=True):
        for event in events:
            OutboxEventBus(flaky).publish(event)
    assert OutboxEvent.objects.count() == 3
    assert breaker.open()  # later requests don't wait on the dead bus
    row = OutboxEvent.objects.first()
    assert row.attempts == 1 and "broker down" in row.last_error

    flaky.up = True
    assert relay_outbox_batch(bus=flaky).delivered == 3
    assert flaky.published == events
    assert OutboxEvent.objects.count() == 0


def test_relay_stops_at_the_first_failure(db, flaky):
    for ts in (1, 2, 3):
        OutboxEvent.objects.create(
            event_id=click("s:a", 50, ts).event_id,
            user_key="s:a",
            payload=click("s:a", 50, ts).to_dict(),
        )
    flaky.up = False
    result = relay_outbox_batch(bus=flaky)
    assert (result.delivered, result.pending) == (0, 3)
    assert "broker down" in result.error
    assert OutboxEvent.objects.count() == 3


def test_a_later_publish_delivers_the_visitors_backlog_first(
    db, flaky, django_capture_on_commit_callbacks
):
    flaky.up = False
    first = click("s:a", 50, 1)
    other = click("s:b", 100, 2)
    with django_capture_on_commit_callbacks(execute=True):
        OutboxEventBus(flaky).publish(first)
        OutboxEventBus(flaky).publish(other)
    flaky.up = True
    breaker.reset()
    second = click("s:a", 127, 3)
    with django_capture_on_commit_callbacks(execute=True):
        OutboxEventBus(flaky).publish(second)
    assert flaky.published == [first, second]
    assert list(OutboxEvent.objects.values_list("user_key", flat=True)) == ["s:b"]


def test_rolled_back_publish_sends_nothing(db, flaky):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        OutboxEventBus(flaky).publish(click("s:a", 50, 1))
        raise RuntimeError
    assert OutboxEvent.objects.count() == 0
    assert flaky.published == []


def test_api_answers_and_keeps_the_click_when_the_store_is_down(
    visitor, catalogue, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from movie.clicklog.sql import SqlClickLogStore

    settings.EVENT_OUTBOX = True
    breaker.reset()

    def down(self, event):
        raise ConnectionError("store down")

    monkeypatch.setattr(SqlClickLogStore, "add", down)
    assert isinstance(get_event_bus(), OutboxEventBus)
    with django_capture_on_commit_callbacks(execute=True):
        response = visitor.post(
            "/api/events",
            {"movie_id": 50, "kind": "click"},
            content_type="application/json",
        )
    assert response.status_code == 201
    row = OutboxEvent.objects.get()
    assert row.payload == response.json()

    monkeypatch.undo()
    assert relay_outbox_batch(bus=get_event_bus().inner).delivered == 1
    assert visitor.get("/api/history").json()["count"] == 1
    breaker.reset()


def test_a_row_is_written_with_every_field_as_the_model_reads_it(db):
    from django.utils import timezone

    rating = Event(user_key="u:7", kind="rating", movie_id=50, rating=4.5, ts=9)
    before = timezone.now()
    first = write_outbox_row(click("s:a", 100, 1))
    second = write_outbox_row(rating, last_error="not sent")
    assert second > first
    row = OutboxEvent.objects.get(pk=second)
    assert (row.event_id, row.user_key, row.attempts) == (rating.event_id, "u:7", 0)
    assert row.payload == rating.to_dict()
    assert row.last_error == "not sent"
    assert before <= row.created <= timezone.now()
    assert OutboxEvent.objects.get(pk=first).payload["movie_id"] == 100


def test_a_failed_write_rolls_back_the_callers_transaction(db, monkeypatch):
    from django.db import DatabaseError, connection, transaction
    from django.db.backends.utils import CursorWrapper

    execute = CursorWrapper.execute

    def failing(self, sql, params=None):
        if sql.startswith("INSERT") and "outbox" in sql and failing.armed:
            raise DatabaseError("the database went away")
        return execute(self, sql, params)

    failing.armed = False
    monkeypatch.setattr(CursorWrapper, "execute", failing)
    with transaction.atomic():
        write_outbox_row(click("s:a", 100, 1))
        failing.armed = True
        with pytest.raises(DatabaseError):
            write_outbox_row(click("s:a", 127, 2))
        # As after a failed ORM save: the transaction commits nothing.
        assert connection.needs_rollback
    assert not OutboxEvent.objects.exists()


def test_another_database_gets_the_orms_create(db, monkeypatch):
    from django.db import connection

    monkeypatch.setattr(connection, "vendor", "postgresql")
    row_id = write_outbox_row(click("s:a", 100, 1), last_error="not sent")
    row = OutboxEvent.objects.get(pk=row_id)
    assert (row.user_key, row.payload["movie_id"], row.last_error) == (
        "s:a",
        100,
        "not sent",
    )


def test_outbox_is_off_on_the_embedded_default(settings):
    settings.EVENT_BUS, settings.EVENT_OUTBOX = "direct", False
    assert not isinstance(get_event_bus(), OutboxEventBus)


class BatchBus(FlakyBus):
    """An asynchronous bus (as Kafka is): requests never call it, the relay hands
    it batches; it refuses the event at `fail_at` (counted from its first)."""

    asynchronous = True

    def __init__(self):
        super().__init__()
        self.fail_at = None

    def publish(self, event):
        if len(self.published) == self.fail_at:
            raise ConnectionError("broker down")
        self.published.append(event)


def test_with_an_asynchronous_bus_the_request_only_writes_the_outbox(
    db, django_capture_on_commit_callbacks
):
    bus = BatchBus()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        OutboxEventBus(bus).publish(click("s:a", 50, 1))
    assert callbacks == [] and bus.published == []
    assert OutboxEvent.objects.count() == 1


def test_the_relay_keeps_the_rows_from_the_first_failure_and_sends_them_in_order(db):
    bus = BatchBus()
    events = [click(f"s:{i % 2}", 50 + i, i) for i in range(5)]
    for event in events:
        OutboxEventBus(bus).publish(event)
    OutboxEvent.objects.create(event_id=events[0].event_id, user_key="s:0", payload={})
    bus.fail_at = 2
    result = relay_outbox_batch(bus=bus)
    assert (result.delivered, result.pending) == (2, 3)
    assert "broker down" in result.error
    rows = list(OutboxEvent.objects.order_by("id"))
    # The malformed row is dropped; the failed one is marked, the later ones wait.
    assert [row.payload for row in rows] == [e.to_dict() for e in events[2:]]
    assert [row.attempts for row in rows] == [1, 0, 0]
    assert "broker down" in rows[0].last_error

    bus.fail_at = None
    assert relay_outbox_batch(bus=bus) == RelayResult(3, 0)
    assert bus.published == events
    assert OutboxEvent.objects.count() == 0


class PerEventBus(BatchBus):
    """As Kafka does: every event of a batch tried, each with its own result."""

    def __init__(self, refused):
        super().__init__()
        self.refused = refused  # event ids the bus refuses

    def publish_batch(self, events):
        results = []
        for event in events:
            if event.event_id in self.refused:
                results.append(ConnectionError("partition unavailable"))
            else:
                self.published.append(event)
                results.append(None)
        return results


def test_a_failed_row_holds_back_its_visitor_only(db):
    a = [click("s:a", 50 + i, i) for i in range(3)]
    b = [click("s:b", 60 + i, 10 + i) for i in range(2)]
    for event in (a[0], b[0], a[1], b[1], a[2]):
        OutboxEventBus(BatchBus()).publish(event)
    bus = PerEventBus(refused={a[1].event_id})
    result = relay_outbox_batch(bus=bus)
    assert (result.delivered, result.pending) == (3, 2)
    assert "partition unavailable" in result.error
    rows = {row.payload["event_id"]: row for row in OutboxEvent.objects.all()}
    # a[1] failed: it and a[2] (taken by the bus) stay; a[0] and b's rows went.
    assert set(rows) == {str(a[1].event_id), str(a[2].event_id)}
    assert rows[str(a[1].event_id)].attempts == 1
    assert rows[str(a[2].event_id)].attempts == 0

    bus.refused = set()
    assert relay_outbox_batch(bus=bus) == RelayResult(2, 0)
    # a[2] went twice, the second time after a[1]: the last copies are in order.
    assert [e.event_id for e in bus.published if e.user_key == "s:a"] == [
        a[0].event_id,
        a[2].event_id,
        a[1].event_id,
        a[2].event_id,
    ]


def test_the_relay_survives_a_failed_pass(db, monkeypatch):
    from movie.eventbus import outbox

    monkeypatch.setattr(outbox, "PAUSE_AFTER_FAILURE_S", 0.01)
    stop = threading.Event()

    class BrokenOnce(BatchBus):
        calls = 0

        def publish_batch(self, events):
            self.calls += 1
            if self.calls == 1:
                raise TypeError("what the producer did not expect")
            stop.set()
            return super().publish_batch(events)

    OutboxEventBus(BatchBus()).publish(click("s:a", 50, 1))
    bus = BrokenOnce()
    result = outbox.relay_outbox(bus=bus, stop=stop, interval_s=0.01)
    assert bus.calls == 2 and len(bus.published) == 1
    assert result == RelayResult(1, 0)


class FakeFuture:
    def __init__(self, error=None):
        self.error = error

    def get(self, timeout):
        if self.error:
            raise self.error


class FakeProducer:
    """Refuses the send of the event with value containing `refuse_send`; the
    future of the one containing `fail_ack` fails."""

    def __init__(self, refuse_send, fail_ack):
        self.refuse_send, self.fail_ack, self.sent = refuse_send, fail_ack, []

    def send(self, topic, key, value):
        if self.refuse_send in value:
            raise TypeError("not bytes")
        self.sent.append(value)
        return FakeFuture(KafkaTimeoutError() if self.fail_ack in value else None)


def test_kafka_publish_batch_gives_each_event_its_result():
    from movie.eventbus.kafka import BrokerUnavailable, KafkaConfig, KafkaEventBus

    bus = KafkaEventBus(KafkaConfig(["127.0.0.1:1"], "topic", "group"))
    events = [click("s:a", 50 + i, i) for i in range(6)]
    tag = [str(e.event_id).encode() for e in events]
    bus._producer = FakeProducer(refuse_send=tag[4], fail_ack=tag[2])
    results = bus.publish_batch(events)
    # 0, 1, 3 acknowledged; 2's acknowledgement failed; 4's send raised, so 5
    # was not handed over.
    assert len(results) == 5
    assert [r is None for r in results] == [True, True, False, True, False]
    assert all(isinstance(r, BrokerUnavailable) for r in results if r)
    assert len(bus._producer.sent) == 4
