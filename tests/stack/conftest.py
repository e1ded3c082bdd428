"""Real servers for the stack tests: Tansu (Kafka protocol) and moto (DynamoDB),
started once per test session on free ports of 127.0.0.1 and stopped after it.

A server that cannot start fails the tests that need it, with its log tail; nothing
is skipped.
"""

import os
import threading
import uuid

import pytest

import devservers
from movie.clicklog.dynamodb import (
    DynamoDBClickLogStore,
    DynamoDBConfig,
    create_table,
    dynamodb_client,
)
from movie.eventbus.consumer import ConsumerConfig, consume_clicks
from movie.eventbus.kafka import KafkaConfig, KafkaEventBus

for _name, _value in devservers.FAKE_AWS.items():
    os.environ.setdefault(_name, _value)


@pytest.fixture(scope="session")
def server_logs(tmp_path_factory):
    return tmp_path_factory.mktemp("server-logs")


@pytest.fixture(scope="session")
def moto(server_logs):
    server = devservers.moto_start(devservers.free_port(), server_logs)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def broker(server_logs):
    """Tansu with in-memory storage: fast, for everything but restarts."""
    server = devservers.tansu_start(devservers.free_port(), server_logs)
    yield server
    server.stop()


@pytest.fixture
def dynamodb_config(moto):
    """A fresh, empty click-log table."""
    config = DynamoDBConfig(
        table=f"clicklog-{uuid.uuid4().hex[:12]}",
        endpoint_url=f"http://{moto.address}",
        region=devservers.FAKE_AWS["AWS_DEFAULT_REGION"],
    )
    create_table(dynamodb_client(config), config.table)
    return config


@pytest.fixture
def dynamodb_store(dynamodb_config):
    return DynamoDBClickLogStore(dynamodb_config)


@pytest.fixture
def kafka_config(broker):
    """A topic and consumer group of this test's own."""
    name = uuid.uuid4().hex[:12]
    return KafkaConfig(
        bootstrap_servers=[broker.address],
        topic=f"clicklog-{name}",
        group_id=f"clicklog-store-{name}",
    )


@pytest.fixture
def kafka_bus(kafka_config):
    bus = KafkaEventBus(kafka_config)
    yield bus
    bus.close()


def relay_all():
    """What `relay_outbox` does beside the site: every outbox row onto the topic
    (requests only write the outbox)."""
    from movie.eventbus import get_event_bus_adapter
    from movie.eventbus.outbox import outbox_pending, relay_outbox_batch

    bus = get_event_bus_adapter()
    while outbox_pending():
        result = relay_outbox_batch(bus=bus)
        assert not result.error, result.error


def consume_until_idle(kafka_config, store, idle_s=1.0, limit_s=60.0):
    """Run the consumer in this thread until the topic is drained."""
    stop = threading.Event()
    timer = threading.Timer(limit_s, stop.set)
    timer.start()
    try:
        return consume_clicks(
            config=ConsumerConfig(
                kafka=kafka_config, session_timeout_ms=6000, idle_timeout_s=idle_s
            ),
            store=store,
            stop=stop,
        )
    finally:
        timer.cancel()


@pytest.fixture
def stack_settings(settings, kafka_config, dynamodb_config):
    """Django settings of the full stack: outbox -> Kafka -> DynamoDB."""
    settings.EVENT_BUS = "kafka"
    settings.EVENT_OUTBOX = True
    settings.KAFKA_BOOTSTRAP_SERVERS = ",".join(kafka_config.bootstrap_servers)
    settings.KAFKA_TOPIC = kafka_config.topic
    settings.KAFKA_CONSUMER_GROUP = kafka_config.group_id
    settings.CLICKLOG_BACKEND = "dynamodb"
    settings.DYNAMODB_TABLE = dynamodb_config.table
    settings.DYNAMODB_ENDPOINT_URL = dynamodb_config.endpoint_url
    settings.AWS_DEFAULT_REGION = dynamodb_config.region
    yield settings
    from movie.eventbus import get_event_bus_adapter

    get_event_bus_adapter().close()


@pytest.fixture
def s3_config(moto):
    """A fresh, empty artifact bucket on the moto server."""
    from movie.artifacts.s3 import S3Config

    bucket = f"artifacts-{uuid.uuid4().hex[:12]}"
    endpoint = f"http://{moto.address}"
    devservers.s3_bucket_create(endpoint, bucket)
    return S3Config(
        bucket=bucket,
        prefix="ngcf/",
        endpoint_url=endpoint,
        region=devservers.FAKE_AWS["AWS_DEFAULT_REGION"],
    )
