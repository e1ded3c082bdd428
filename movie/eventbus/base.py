"""The EventBus port."""

import abc
from collections.abc import Callable

from movie.events import Event
from movie.impressions import Message


class EventBus(abc.ABC):
    # True for a bus that stores each event itself before `publish` returns (the
    # direct bus): `publish_new` then tells whether the event's id was free.
    stores_on_publish = False
    # True for a bus whose `send` returns before the event is accepted (Kafka).
    asynchronous = False

    @abc.abstractmethod
    def publish(self, event: Message) -> None:
        """Hand the event on towards the click-log store; raise if it cannot."""

    def publish_new(self, event: Event) -> bool:
        """Publish a click or rating; False if the store held its event_id already.
        Only for a bus that `stores_on_publish`."""
        raise NotImplementedError(f"{type(self).__name__} does not store on publish")

    def send(
        self, event: Message, done: Callable[[BaseException | None], None]
    ) -> None:
        """Hand the event on and return at once; `done(None)` is called later
        (from another thread) once it is accepted, `done(error)` if it is not.
        Only for an `asynchronous` bus."""
        raise NotImplementedError(f"{type(self).__name__} is not asynchronous")
