"""In-process bus: the event goes straight to the ClickLog store."""

from movie.clicklog import get_clicklog_store
from movie.eventbus.base import EventBus
from movie.events import IMPRESSION, Event
from movie.impressions import Message
from movie.recommendations.doorbell import history_changed


class DirectEventBus(EventBus):
    stores_on_publish = True

    def publish(self, event: Message) -> None:
        get_clicklog_store().apply(event)
        if event.kind != IMPRESSION:
            history_changed(event.user_key)

    def publish_new(self, event: Event) -> bool:
        # One insert says whether the event_id was free.
        if not get_clicklog_store().add(event):
            return False
        history_changed(event.user_key)
        return True
