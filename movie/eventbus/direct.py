"""In-process bus: the event goes straight to the ClickLog store."""

from movie.clicklog import get_clicklog_store
from movie.eventbus.base import EventBus
from movie.impressions import Message


class DirectEventBus(EventBus):
    def publish(self, event: Message) -> None:
        get_clicklog_store().apply(event)
