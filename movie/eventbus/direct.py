"""In-process bus: the event goes straight to the ClickLog store."""

from movie.clicklog import get_clicklog_store
from movie.eventbus.base import EventBus
from movie.events import Event
from movie.impressions import Message


class DirectEventBus(EventBus):
    stores_on_publish = True

    def publish(self, event: Message) -> None:
        get_clicklog_store().apply(event)

    def publish_new(self, event: Event) -> bool:
        # One insert says whether the event_id was free.
        return get_clicklog_store().add(event)
