"""Kafka event bus: JSON events on a topic, keyed by user_key (kafka-python).

Keying by user_key puts all of one visitor's events on one partition, so the
consumer sees them in the order they were published.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from movie.eventbus.base import EventBus
from movie.events import EventError
from movie.impressions import Message, message_from_dict

logger = logging.getLogger(__name__)

# How long handing an event to the producer may block when the broker is slow or
# down (its metadata, a full buffer); the outbox keeps the event if it runs out.
SEND_TIMEOUT_S = 5.0
# How long the producer keeps trying to deliver an event before it reports the
# failure (the outbox row stays and the relay's next pass sends it again).
DELIVERY_TIMEOUT_S = 10.0
# How long the producer waits to gather events into one produce request (the
# relay hands it a whole batch at once, so it rarely waits).
LINGER_MS = 5


class BrokerUnavailable(ConnectionError):
    """The broker could not be reached or did not acknowledge in time."""


def kafka_module() -> Any:
    try:
        import kafka
    except ImportError as exc:
        raise ImproperlyConfigured(
            "EVENT_BUS=kafka needs kafka-python (pip install -r requirements.txt)"
        ) from exc
    return kafka


@dataclass(frozen=True)
class KafkaConfig:
    bootstrap_servers: list[str]
    topic: str
    group_id: str

    @classmethod
    def from_settings(cls) -> KafkaConfig:
        servers = [s.strip() for s in settings.KAFKA_BOOTSTRAP_SERVERS.split(",")]
        servers = [s for s in servers if s]
        if not servers:
            raise ImproperlyConfigured(
                "EVENT_BUS=kafka needs KAFKA_BOOTSTRAP_SERVERS (host:port, ...)"
            )
        if not settings.KAFKA_TOPIC:
            raise ImproperlyConfigured("EVENT_BUS=kafka needs KAFKA_TOPIC")
        return cls(
            bootstrap_servers=servers,
            topic=settings.KAFKA_TOPIC,
            group_id=settings.KAFKA_CONSUMER_GROUP,
        )


def event_encode(event: Message) -> tuple[bytes, bytes]:
    """The (key, value) of an event's Kafka message."""
    return event.user_key.encode(), json.dumps(event.to_dict()).encode()


def event_decode(value: bytes | None) -> Message:
    """The event or impression in a message's value; raises EventError (a
    ValueError) if malformed."""
    try:
        data = json.loads(value or b"")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EventError(f"message is not JSON: {exc}") from None
    return message_from_dict(data)


class KafkaEventBus(EventBus):
    """Events on a Kafka topic, acknowledged by the broker (acks=all).

    `publish` waits for one event's acknowledgement; `publish_batch` (the outbox
    relay) hands many to the producer before it waits, so they travel in a few
    produce requests.

    The producer is made on first use and made again after a failed start, so a
    process that starts while the broker is down recovers once it is back.
    """

    asynchronous = True

    def __init__(self, config: KafkaConfig | None = None) -> None:
        self.config = config or KafkaConfig.from_settings()
        self._producer: Any = None
        self._lock = threading.Lock()

    def producer(self) -> Any:
        with self._lock:
            if self._producer is None:
                kafka = kafka_module()
                try:
                    self._producer = kafka.KafkaProducer(
                        bootstrap_servers=self.config.bootstrap_servers,
                        acks="all",
                        retries=5,
                        retry_backoff_ms=200,
                        # One request in flight: retries cannot reorder a visitor's
                        # events.
                        max_in_flight_requests_per_connection=1,
                        # Not idempotent: a retry may put a second copy on the
                        # topic, which the store ignores (each event is stored
                        # once by its event_id; docs/DESIGN.md). Tansu keeps every
                        # idempotent producer's sequence numbers in one object
                        # that its S3 engine rewrites on each produce, so the
                        # producers of several web processes overwrite each
                        # other, retry, and fail with OutOfOrderSequenceNumber.
                        enable_idempotence=False,
                        max_block_ms=int(SEND_TIMEOUT_S * 1000),
                        request_timeout_ms=int(SEND_TIMEOUT_S * 1000),
                        delivery_timeout_ms=int(DELIVERY_TIMEOUT_S * 1000),
                        linger_ms=LINGER_MS,
                        # Reconnect soon after a broker restart (default: up to 30 s).
                        reconnect_backoff_max_ms=2000,
                    )
                except kafka.errors.KafkaError as exc:
                    raise BrokerUnavailable(
                        f"Kafka broker at KAFKA_BOOTSTRAP_SERVERS="
                        f"{','.join(self.config.bootstrap_servers)} unreachable: {exc}"
                    ) from exc
            return self._producer

    def publish(self, event: Message) -> None:
        kafka = kafka_module()
        key, value = event_encode(event)
        try:
            future = self.producer().send(self.config.topic, key=key, value=value)
            future.get(timeout=DELIVERY_TIMEOUT_S + 1)
        except kafka.errors.KafkaError as exc:
            raise self._unavailable(exc) from exc

    def publish_batch(self, events: Sequence[Message]) -> list[BaseException | None]:
        """All of `events` handed to the producer at once (so they share produce
        requests), then each acknowledgement waited for: one result per event
        handed over, and one for the event whose hand-over failed, if any."""
        futures = []
        failed: BaseException | None = None
        try:
            producer = self.producer()
            for event in events:
                key, value = event_encode(event)
                futures.append(producer.send(self.config.topic, key=key, value=value))
        except BrokerUnavailable as exc:
            failed = exc
        except Exception as exc:  # KafkaError, or what send() refuses to take
            failed = self._unavailable(exc)
        results: list[BaseException | None] = []
        for future in futures:
            try:
                future.get(timeout=DELIVERY_TIMEOUT_S + 1)
            except Exception as exc:
                results.append(self._unavailable(exc))
            else:
                results.append(None)
        if failed is not None:
            results.append(failed)
        return results

    def _unavailable(self, exc: BaseException) -> BrokerUnavailable:
        return BrokerUnavailable(
            f"publish to Kafka topic {self.config.topic!r} at "
            f"{','.join(self.config.bootstrap_servers)} failed: {exc!r}"
        )

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.close(timeout=5)
                self._producer = None
