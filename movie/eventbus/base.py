"""The EventBus port."""

import abc

from movie.events import Event


class EventBus(abc.ABC):
    @abc.abstractmethod
    def publish(self, event: Event) -> None:
        """Hand the event on towards the click-log store; raise if it cannot."""
