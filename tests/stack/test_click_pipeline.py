"""The whole click pipeline on real servers: HTTP -> outbox -> Kafka -> consumer ->
DynamoDB, with the consumer killed and the broker stopped on the way."""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from django.test import Client

import devservers
from movie.eventbus import get_event_bus_adapter
from movie.eventbus.kafka import KafkaConfig
from movie.eventbus.outbox import outbox_pending, relay_outbox_batch
from movie.events import Event
from movie.models import OutboxEvent
from movie.selectors import VisitorHistory
from tests.stack.conftest import consume_until_idle, relay_all

ROOT = Path(__file__).resolve().parents[2]
MOVIES = (50, 100, 127, 181, 1)
# Enough for the consumer (which writes in batches) to be killed halfway through.
KILL_TEST_EVENTS = 4000


def visitors(count):
    clients = []
    for _ in range(count):
        client = Client()
        client.get("/api/history")  # the first request gives the visitor a session
        clients.append(client)
    return clients


def post_click(client, movie_id):
    response = client.post(
        "/api/events",
        {"movie_id": movie_id, "kind": "click"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def all_stored(store, user_keys):
    return {k: store.history(k) for k in user_keys}


def assert_exactly_once(stored, sent):
    """Every sent event is in its visitor's history, once; nothing else is."""
    for user_key, events in sent.items():
        ids = [e.event_id for e in stored[user_key]]
        assert len(ids) == len(set(ids)), f"duplicates in {user_key}'s history"
        assert sorted(map(str, ids)) == sorted(e["event_id"] for e in events)


@pytest.mark.slow
def test_a_thousand_clicks_from_ten_visitors_land_once_each(
    transactional_db, catalogue, stack_settings, kafka_config, dynamodb_store
):
    sent = defaultdict(list)
    clients = visitors(10)
    for round_ in range(100):
        for client in clients:
            event = post_click(client, MOVIES[round_ % len(MOVIES)])
            sent[event["user_key"]].append(event)
    # No request sent anything: each wrote its outbox row; the relay sends them.
    assert outbox_pending() == 1000
    relay_all()
    assert len(sent) == 10

    stats = consume_until_idle(kafka_config, dynamodb_store)
    assert stats.processed == 1000 and stats.failed == 0
    assert_exactly_once(all_stored(dynamodb_store, sent), sent)


def consumer_process(kafka_config, dynamodb_config, *extra):
    env = {
        **os.environ,
        "DJANGO_ENV_FILE": str(ROOT / ".env.dev"),
        "EVENT_BUS": "kafka",
        "KAFKA_BOOTSTRAP_SERVERS": ",".join(kafka_config.bootstrap_servers),
        "KAFKA_TOPIC": kafka_config.topic,
        "KAFKA_CONSUMER_GROUP": kafka_config.group_id,
        "CLICKLOG_BACKEND": "dynamodb",
        "DYNAMODB_TABLE": dynamodb_config.table,
        "DYNAMODB_ENDPOINT_URL": dynamodb_config.endpoint_url,
        "AWS_DEFAULT_REGION": dynamodb_config.region,
        **devservers.FAKE_AWS,
    }
    argv = [sys.executable, "manage.py", "consume_clicks", "--session-timeout-ms"]
    return subprocess.Popen(
        [*argv, "6000", *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stored_count(store, user_keys):
    return sum(len(store.history(k)) for k in user_keys)


@pytest.mark.slow
def test_consumer_killed_midway_and_restarted_stores_each_event_once(
    kafka_bus, kafka_config, dynamodb_config, dynamodb_store
):
    sent = defaultdict(list)
    events = [
        Event(user_key=f"s:v{i % 10}", kind="click", movie_id=50, ts=i)
        for i in range(KILL_TEST_EVENTS)
    ]
    # A few hundred at a time, as the relay hands them over.
    for start in range(0, KILL_TEST_EVENTS, 400):
        batch = events[start : start + 400]
        assert kafka_bus.publish_batch(batch) == [None] * len(batch)
    for event in events:
        sent[event.user_key].append(event.to_dict())

    first = consumer_process(kafka_config, dynamodb_config)
    deadline = time.monotonic() + 60
    while stored_count(dynamodb_store, sent) < KILL_TEST_EVENTS // 4:
        assert first.poll() is None, first.communicate()[0]
        assert time.monotonic() < deadline, "the consumer stored nothing in 60 s"
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    at_kill = stored_count(dynamodb_store, sent)
    assert at_kill < KILL_TEST_EVENTS, "killed too late to test a restart"

    second = consumer_process(kafka_config, dynamodb_config, "--idle-timeout", "2")
    output, _ = second.communicate(timeout=120)
    assert second.returncode == 0, output
    assert_exactly_once(all_stored(dynamodb_store, sent), sent)
    # The restart began at the last committed offset, at or before the kill point.
    processed = int(output.rsplit("processed=", 1)[1].split()[0])
    assert processed >= KILL_TEST_EVENTS - at_kill


@pytest.fixture
def durable_broker(moto, server_logs):
    """Tansu keeping its log in moto's S3: a restart of the broker loses nothing."""
    port = devservers.free_port()
    endpoint = f"http://{moto.address}"
    servers = [devservers.tansu_start(port, server_logs, s3_endpoint_url=endpoint)]

    def restart():
        servers[-1].stop()
        servers.append(
            devservers.tansu_start(port, server_logs, s3_endpoint_url=endpoint)
        )

    yield servers, restart
    servers[-1].stop()


@pytest.mark.slow
def test_clicks_while_the_broker_is_down_are_kept_and_delivered_once(
    transactional_db, catalogue, durable_broker, stack_settings, dynamodb_store
):
    # durable_broker comes first so it is torn down last, after the producer.
    servers, restart = durable_broker
    name = uuid.uuid4().hex[:12]
    kafka_config = KafkaConfig(
        bootstrap_servers=[servers[0].address],
        topic=f"clicklog-{name}",
        group_id=f"clicklog-store-{name}",
    )
    stack_settings.KAFKA_BOOTSTRAP_SERVERS = servers[0].address
    stack_settings.KAFKA_TOPIC = kafka_config.topic
    alice, bob = visitors(2)
    sent = defaultdict(list)

    def clicks(client, count):
        for i in range(count):
            event = post_click(client, MOVIES[i % len(MOVIES)])
            sent[event["user_key"]].append(event)

    clicks(alice, 10)
    clicks(bob, 10)
    relay_all()  # on the broker, not yet consumed

    servers[-1].stop()
    started = time.monotonic()
    clicks(alice, 15)
    clicks(bob, 15)
    # No request waited for the dead broker: each only wrote its outbox row.
    assert time.monotonic() - started < 10
    assert outbox_pending() == 30
    # The relay's pass fails after the producer's delivery timeout: every row
    # stays, the oldest marked with the error.
    bus = get_event_bus_adapter()
    result = relay_outbox_batch(bus=bus)
    assert result.error and (result.delivered, result.pending) == (0, 30)
    assert outbox_pending() == 30
    oldest = OutboxEvent.objects.order_by("id").first()
    assert oldest.attempts == 1 and "failed" in oldest.last_error

    restart()
    deadline = time.monotonic() + 30
    # The relay's next passes deliver the backlog, oldest first, once it is back.
    while relay_outbox_batch(bus=bus).error:
        assert time.monotonic() < deadline, "the broker did not come back"
        time.sleep(0.5)
    relay_all()
    assert outbox_pending() == 0

    stats = consume_until_idle(kafka_config, dynamodb_store)
    assert stats.failed == 0
    assert_exactly_once(all_stored(dynamodb_store, sent), sent)
    # A send that timed out while the broker came back may have landed after all
    # and been sent again (at-least-once); the store kept one copy.
    assert stats.processed >= sum(len(v) for v in sent.values())


def test_not_interested_travels_like_every_other_event(
    transactional_db, catalogue, stack_settings, kafka_config, dynamodb_store
):
    """HTTP -> outbox -> Kafka -> consumer -> DynamoDB, and back as a signal."""
    (client,) = visitors(1)
    post_click(client, 50)
    response = client.post(
        "/api/events",
        {"movie_id": 100, "kind": "not_interested"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    user_key = response.json()["user_key"]
    relay_all()
    consume_until_idle(kafka_config, dynamodb_store)
    stored = dynamodb_store.history(user_key)
    assert [e.kind for e in stored] == ["not_interested", "click"]
    assert VisitorHistory(user_key=user_key).signals.not_interested == [100]
