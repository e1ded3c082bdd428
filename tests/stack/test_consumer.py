"""consume_clicks' consumer against a real broker: bad messages, failing writes."""

import threading

from movie.eventbus.consumer import ConsumerConfig, consume_clicks
from movie.events import Event
from tests.stack.conftest import consume_until_idle


def click(user_key, movie_id, ts):
    return Event(user_key=user_key, kind="click", movie_id=movie_id, ts=ts)


def test_malformed_messages_are_counted_and_skipped(
    kafka_bus, kafka_config, dynamodb_store
):
    good = [click("s:a", 50, 1), click("s:a", 100, 2)]
    producer = kafka_bus.producer()
    kafka_bus.publish(good[0])
    for junk in (b"not json", b'{"kind": "click"}', b"[1, 2]", None):
        producer.send(kafka_config.topic, key=b"s:a", value=junk).get(timeout=10)
    kafka_bus.publish(good[1])
    stats = consume_until_idle(kafka_config, dynamodb_store)
    assert (stats.processed, stats.failed) == (2, 4)
    assert dynamodb_store.history("s:a") == good[::-1]


class FailingStore:
    """Fails the first `failures` writes, as DynamoDB would while unreachable;
    writes of at most `batch_limit` events."""

    def __init__(self, store, failures, batch_limit=4):
        self.store, self.failures = store, failures
        self.batch_limit = batch_limit
        self.lock = threading.Lock()

    def apply(self, event):
        self.apply_batch([event])

    def apply_batch(self, events):
        with self.lock:
            fail = self.failures > 0
            self.failures -= fail
        if fail:
            raise ConnectionError("DynamoDB unreachable")
        for event in events:
            self.store.apply(event)


def test_a_failed_write_is_retried_and_nothing_is_skipped(
    kafka_bus, kafka_config, dynamodb_store
):
    events = [click(f"s:{i % 3}", 50 + i, i) for i in range(30)]
    for event in events:
        kafka_bus.publish(event)
    stats = consume_until_idle(kafka_config, FailingStore(dynamodb_store, 3))
    assert stats.store_errors == 3 and stats.failed == 0
    stored = [e for k in ("s:0", "s:1", "s:2") for e in dynamodb_store.history(k)]
    assert sorted(e.ts for e in stored) == list(range(30))


def test_stop_ends_the_loop_and_commits_what_was_stored(
    kafka_bus, kafka_config, dynamodb_store
):
    for i in range(20):
        kafka_bus.publish(click("s:a", 50, i))
    stop = threading.Event()

    class StopAfterOneBatch:
        batch_limit = 2

        def apply_batch(self, events):
            dynamodb_store.apply_batch(events)
            stop.set()

    config = ConsumerConfig(kafka=kafka_config, session_timeout_ms=6000)
    stats = consume_clicks(config=config, store=StopAfterOneBatch(), stop=stop)
    # The batches already being written when the stop came (one per store
    # thread at most) are stored and committed; nothing after them.
    assert 2 <= stats.processed <= 2 * config.workers
    # A new consumer in the group starts right after the committed events.
    rest = consume_until_idle(kafka_config, dynamodb_store)
    assert rest.processed == 20 - stats.processed
    assert len(dynamodb_store.history("s:a")) == 20
