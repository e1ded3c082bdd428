"""Writes: every change to a visitor's click log goes through these functions.

Each name is a verb phrase (`record_click`), so it cannot be read as a thing of
the domain ("the click log").
"""

from __future__ import annotations

import functools
import logging
import uuid
from dataclasses import dataclass

from movie.after_response import after_response
from movie.clicklog import get_clicklog_store
from movie.eventbus import get_event_bus
from movie.events import (
    RECORDED_KINDS,
    Event,
    check_kind,
    check_movie_id,
    new_event_id,
)
from movie.impressions import ANONYMOUS, Impression
from movie.recommendations.doorbell import history_changed
from movie.selectors import movie_in_catalogue
from movie.telemetry import CLICKS, IMPRESSIONS

logger = logging.getLogger(__name__)


class UnknownMovie(LookupError):
    def __init__(self, movie_id: object) -> None:
        super().__init__(f"no movie with id {movie_id}")
        self.movie_id = movie_id


class UnknownEvent(LookupError):
    def __init__(self, event_id: object) -> None:
        super().__init__(f"no event {event_id} in your history")
        self.event_id = event_id


class EventIdConflict(Exception):
    """The event_id is taken: by another of this visitor's events with different
    content, or by someone else's event. The message says nothing about which."""

    def __init__(self, event_id: uuid.UUID) -> None:
        super().__init__(
            f"event_id {event_id} cannot be used for this event; send a new one"
        )
        self.event_id = event_id


@dataclass(frozen=True)
class Recorded:
    event: Event
    created: bool  # False: the same event (same event_id, same content) was stored


def _same_content(a: Event, b: Event) -> bool:
    return (a.kind, a.movie_id, a.rating) == (b.kind, b.movie_id, b.rating)


def record_event(
    *,
    user_key: str,
    movie_id: object,
    kind: object,
    rating: object = None,
    event_id: uuid.UUID | None = None,
) -> Recorded:
    """Record a click, rating or "not interested" of a catalogue movie.

    Raises EventError (bad kind, movie id or rating) or UnknownMovie before
    anything is published. A client's `event_id` makes retries idempotent: the same
    content again returns the stored event (`created` False); different content, or
    an id another visitor's event holds, raises EventIdConflict.
    """
    check_kind(kind, RECORDED_KINDS)
    check_movie_id(movie_id)
    # The catalogue as this process keeps it (read again after a response):
    # a click reads no movie's row.
    if not movie_in_catalogue(movie_id):
        raise UnknownMovie(movie_id)
    event = Event(
        user_key=user_key,
        kind=kind,
        movie_id=movie_id,
        rating=rating,
        event_id=event_id or new_event_id(),
    )
    CLICKS.labels(kind=kind).inc()
    if event_id is None:
        get_event_bus().publish(event)
        return Recorded(event, created=True)
    return _record_with_client_id(event)


def _record_with_client_id(event: Event) -> Recorded:
    """Publish an event whose id the client chose, unless that id is stored."""
    store = get_clicklog_store()
    bus = get_event_bus()
    user_key, event_id = event.user_key, event.event_id
    if bus.stores_on_publish:
        # The bus is the store: its one insert tells whether the id was free.
        if bus.publish_new(event):
            return Recorded(event, created=True)
        stored = store.get(user_key, event_id)
        if stored is None or not _same_content(stored, event):
            raise EventIdConflict(event_id)
        return Recorded(stored, created=False)
    stored = store.get(user_key, event_id)
    if stored is None and store.holds_elsewhere(user_key, event_id):
        raise EventIdConflict(event_id)
    if stored is None:
        bus.publish(event)
        # A synchronous bus has stored it by now, unless a racing writer won.
        stored = store.get(user_key, event_id)
        if stored is None:
            if store.holds_elsewhere(user_key, event_id):
                raise EventIdConflict(event_id)
            return Recorded(event, created=True)  # on its way (asynchronous bus)
        if stored.ts == event.ts and _same_content(stored, event):
            return Recorded(stored, created=True)
    if not _same_content(stored, event):
        raise EventIdConflict(event_id)
    return Recorded(stored, created=False)


def record_click(
    *, user_key: str, movie_id: int, event_id: uuid.UUID | None = None
) -> Event:
    """Record that the visitor clicked a movie (its poster or its title)."""
    return record_event(
        user_key=user_key, movie_id=movie_id, kind="click", event_id=event_id
    ).event


def record_rating(
    *,
    user_key: str,
    movie_id: int,
    rating: float,
    event_id: uuid.UUID | None = None,
) -> Event:
    """Record the visitor's star rating (0.5..5.0 by 0.5) of a movie; the newest
    rating event of a movie is the visitor's current rating."""
    return record_event(
        user_key=user_key,
        movie_id=movie_id,
        kind="rating",
        rating=rating,
        event_id=event_id,
    ).event


def record_not_interested(
    *, user_key: str, movie_id: int, event_id: uuid.UUID | None = None
) -> Event:
    """Record that the visitor does not want this movie: it is never recommended
    to them again (until they delete this event) and counts as a negative."""
    return record_event(
        user_key=user_key, movie_id=movie_id, kind="not_interested", event_id=event_id
    ).event


def record_impression(
    *,
    user_key: str | None,
    surface: str,
    model_version: str,
    movie_ids: list[int],
    request_id: str,
) -> Impression | None:
    """Record that a list of movies was shown, as of now (nothing for an empty
    list).

    It travels like a click (outbox, bus, store), sent once the request's
    response is (movie.after_response): the visitor does not wait for the
    write. A failure is logged, never raised: the page that showed the list
    still answers.
    """
    if not movie_ids:
        return None
    impression = Impression(
        user_key=user_key or ANONYMOUS,
        surface=surface,
        model_version=model_version,
        movie_ids=tuple(movie_ids),
        request_id=request_id,
    )
    IMPRESSIONS.labels(surface=surface).inc()
    after_response(functools.partial(_publish_impression, impression))
    return impression


def _publish_impression(impression: Impression) -> None:
    try:
        get_event_bus().publish(impression)
    except Exception:
        logger.exception("impression %s not recorded", impression.event_id)


def delete_event(*, user_key: str | None, event_id: uuid.UUID) -> None:
    """Remove one event from the visitor's own history (a visitor without a key
    yet has none)."""
    if user_key is None or get_clicklog_store().get(user_key, event_id) is None:
        raise UnknownEvent(event_id)
    get_event_bus().publish(
        Event(user_key=user_key, kind="delete", target_event_id=event_id)
    )


def clear_history(*, user_key: str) -> None:
    """Remove every event of the visitor's history made up to now."""
    get_event_bus().publish(Event(user_key=user_key, kind="delete"))


def merge_history(*, from_key: str, to_key: str) -> int:
    """Move an anonymous visitor's history into an account (at login)."""
    if from_key == to_key:
        return 0
    moved = get_clicklog_store().reassign(from_key, to_key)
    logger.info("merged %d events into an account", moved)
    if moved:
        history_changed(to_key)
    return moved
