"""EventBus port; the EVENT_BUS setting picks the adapter."""

from movie.adapters import adapter
from movie.eventbus.base import EventBus

BUSES = {
    "direct": "movie.eventbus.direct.DirectEventBus",
}


def get_event_bus() -> EventBus:
    return adapter("EVENT_BUS", BUSES)


__all__ = ["EventBus", "get_event_bus"]
