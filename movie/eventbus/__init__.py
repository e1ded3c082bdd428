"""EventBus port; the EVENT_BUS setting picks the adapter.

With EVENT_OUTBOX on, the adapter sits behind the transactional outbox
(`movie.eventbus.outbox`), so an event survives the adapter's server being down.
"""

from django.conf import settings

from movie.adapters import adapter
from movie.eventbus.base import EventBus

BUSES = {
    "direct": "movie.eventbus.direct.DirectEventBus",
    "kafka": "movie.eventbus.kafka.KafkaEventBus",
}


def get_event_bus() -> EventBus:
    """The bus services publish to: the outbox in front of the adapter, or the
    adapter itself when EVENT_OUTBOX is off."""
    bus = get_event_bus_adapter()
    if settings.EVENT_OUTBOX:
        from movie.eventbus.outbox import OutboxEventBus

        return OutboxEventBus(bus)
    return bus


def get_event_bus_adapter() -> EventBus:
    """The EVENT_BUS adapter itself (what the outbox relay delivers to)."""
    return adapter("EVENT_BUS", BUSES)


__all__ = ["EventBus", "get_event_bus", "get_event_bus_adapter"]
