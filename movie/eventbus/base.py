"""The EventBus port."""

import abc
from collections.abc import Sequence

from movie.events import Event
from movie.impressions import Message


class EventBus(abc.ABC):
    # True for a bus that stores each event itself before `publish` returns (the
    # direct bus): `publish_new` then tells whether the event's id was free.
    stores_on_publish = False
    # True for a bus a request does not call (Kafka): the outbox relay hands it
    # the requests' events in batches (`publish_batch`).
    asynchronous = False

    @abc.abstractmethod
    def publish(self, event: Message) -> None:
        """Hand the event on towards the click-log store; raise if it cannot."""

    def publish_new(self, event: Event) -> bool:
        """Publish a click or rating; False if the store held its event_id already.
        Only for a bus that `stores_on_publish`."""
        raise NotImplementedError(f"{type(self).__name__} does not store on publish")

    def publish_batch(self, events: Sequence[Message]) -> list[BaseException | None]:
        """Publish `events` in order: for each one tried, None if it was accepted,
        else the error; the events after the list's end were not tried. This one
        stops at the first failure (a bus down would fail each in turn)."""
        results: list[BaseException | None] = []
        for event in events:
            try:
                self.publish(event)
            except Exception as exc:
                results.append(exc)
                break
            results.append(None)
        return results
