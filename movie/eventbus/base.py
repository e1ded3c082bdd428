"""The EventBus port."""

import abc

from movie.impressions import Message


class EventBus(abc.ABC):
    @abc.abstractmethod
    def publish(self, event: Message) -> None:
        """Hand the event on towards the click-log store; raise if it cannot."""
