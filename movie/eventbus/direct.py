"""In-process bus: the event goes straight to the ClickLog store."""

from movie.clicklog import get_clicklog_store
from movie.eventbus.base import EventBus
from movie.events import Event


class DirectEventBus(EventBus):
    def publish(self, event: Event) -> None:
        get_clicklog_store().apply(event)
