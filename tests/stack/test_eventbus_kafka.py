import pytest

from tests.movie.eventbus_contract import EventBusContract
from tests.stack.conftest import consume_until_idle


class TestKafkaEventBus(EventBusContract):
    """Kafka producer -> Tansu -> consume_clicks' consumer -> DynamoDB (moto)."""

    @pytest.fixture
    def store(self, dynamodb_store):
        return dynamodb_store

    @pytest.fixture
    def bus(self, kafka_bus):
        return kafka_bus

    @pytest.fixture
    def deliver(self, kafka_config, store):
        return lambda: consume_until_idle(kafka_config, store)
