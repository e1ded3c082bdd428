"""The ClickLog store port."""

from __future__ import annotations

import abc
import uuid
from collections.abc import Iterator

from movie.events import IMPRESSION, Event
from movie.impressions import Impression, Message


class ClickLogStore(abc.ABC):
    """Where click and rating events are kept, one partition per visitor.

    Every read and delete takes the visitor's key, so no call can reach another
    visitor's events. Impressions are kept apart (their own table or partition):
    they never appear in `history`, `get`, `user_keys` or `events_scan`.
    """

    # The most messages the consumer hands to one `apply_batch`.
    batch_limit = 100

    @abc.abstractmethod
    def add(self, event: Event) -> bool:
        """Store a click or rating event; False if its event_id was already stored."""

    @abc.abstractmethod
    def history(self, user_key: str, limit: int | None = None) -> list[Event]:
        """The visitor's events, newest first (all of them when limit is None)."""

    @abc.abstractmethod
    def get(self, user_key: str, event_id: uuid.UUID) -> Event | None:
        """One of the visitor's events, or None."""

    @abc.abstractmethod
    def delete(self, user_key: str, event_id: uuid.UUID) -> bool:
        """Remove one of the visitor's events; False if they had no such event."""

    @abc.abstractmethod
    def delete_all(self, user_key: str, up_to_ts: int | None = None) -> int:
        """Remove the visitor's events (those with ts <= up_to_ts); return how many."""

    @abc.abstractmethod
    def user_keys(self, prefix: str = "") -> set[str]:
        """Every visitor key with events that starts with `prefix` (a full scan:
        for maintenance such as `rekey_visitors`, not for requests)."""

    @abc.abstractmethod
    def add_impression(self, impression: Impression) -> bool:
        """Store an impression; False if its event_id was already stored."""

    @abc.abstractmethod
    def impressions(self, user_key: str) -> list[Impression]:
        """The visitor's impressions, newest first."""

    @abc.abstractmethod
    def events_scan(self) -> Iterator[Event]:
        """Every visitor's click and rating events, in no order (a full scan: for
        training, not for requests)."""

    @abc.abstractmethod
    def impressions_scan(self) -> Iterator[Impression]:
        """Every impression, in no order (a full scan, for the online metrics)."""

    def holds_elsewhere(self, user_key: str, event_id: uuid.UUID) -> bool:
        """True if an event of another visitor has this id, so that it cannot be
        stored for `user_key`. A store that keeps ids per visitor never refuses."""
        return False

    def reassign(self, from_key: str, to_key: str) -> int:
        """Move every event of `from_key` to `to_key` (login merge); return how many."""
        moved = 0
        for event in self.history(from_key):
            if self.add(_rekeyed(event, to_key)):
                moved += 1
            self.delete(from_key, event.event_id)
        return moved

    def apply_batch(self, messages: list[Message]) -> None:
        """Store clicks, ratings and impressions as they arrive from the bus (no
        deletes); replays are harmless. Raises if a write failed; some may be
        stored then, and writing them again is harmless."""
        for message in messages:
            if message.kind == IMPRESSION:
                self.add_impression(message)
            else:
                self.add(message)

    def apply(self, event: Message) -> None:
        """Carry out an event as it arrives from the bus; replays are harmless."""
        if event.kind == IMPRESSION:
            self.add_impression(event)
        elif event.kind != "delete":
            self.add(event)
        elif event.target_event_id is not None:
            self.delete(event.user_key, event.target_event_id)
        else:
            self.delete_all(event.user_key, up_to_ts=event.ts)


def _rekeyed(event: Event, user_key: str) -> Event:
    return Event(
        event_id=event.event_id,
        user_key=user_key,
        kind=event.kind,
        movie_id=event.movie_id,
        rating=event.rating,
        ts=event.ts,
    )
