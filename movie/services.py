"""Writes: every change to a visitor's click log goes through these functions."""

from __future__ import annotations

import logging
import uuid

from movie.clicklog import get_clicklog_store
from movie.eventbus import get_event_bus
from movie.events import Event, EventError
from movie.models import Movie

logger = logging.getLogger(__name__)


class UnknownMovie(LookupError):
    def __init__(self, movie_id: object) -> None:
        super().__init__(f"no movie with id {movie_id}")
        self.movie_id = movie_id


class UnknownEvent(LookupError):
    def __init__(self, event_id: object) -> None:
        super().__init__(f"no event {event_id} in your history")
        self.event_id = event_id


def event_record(
    *,
    user_key: str,
    movie_id: int,
    kind: str,
    rating: float | None = None,
    event_id: uuid.UUID | None = None,
) -> Event:
    """Record a click or rating of a catalogue movie; raises UnknownMovie or
    EventError (bad kind or rating) before anything is published."""
    if isinstance(movie_id, bool) or not isinstance(movie_id, int):
        raise UnknownMovie(movie_id)
    if not Movie.objects.filter(pk=movie_id).exists():
        raise UnknownMovie(movie_id)
    if kind == "delete":
        raise EventError("use history_delete or history_clear to delete")
    event = Event(
        user_key=user_key,
        kind=kind,
        movie_id=movie_id,
        rating=rating,
        event_id=event_id or uuid.uuid4(),
    )
    get_event_bus().publish(event)
    return event


def click_log(
    *, user_key: str, movie_id: int, event_id: uuid.UUID | None = None
) -> Event:
    """Record that the visitor clicked a movie's poster."""
    return event_record(
        user_key=user_key, movie_id=movie_id, kind="click", event_id=event_id
    )


def rating_set(
    *,
    user_key: str,
    movie_id: int,
    rating: float,
    event_id: uuid.UUID | None = None,
) -> Event:
    """Record the visitor's star rating (0.5..5.0 by 0.5) of a movie; the newest
    rating event of a movie is the visitor's current rating."""
    return event_record(
        user_key=user_key,
        movie_id=movie_id,
        kind="rating",
        rating=rating,
        event_id=event_id,
    )


def history_delete(*, user_key: str, event_id: uuid.UUID) -> None:
    """Remove one event from the visitor's own history."""
    if get_clicklog_store().get(user_key, event_id) is None:
        raise UnknownEvent(event_id)
    get_event_bus().publish(
        Event(user_key=user_key, kind="delete", target_event_id=event_id)
    )


def history_clear(*, user_key: str) -> None:
    """Remove every event of the visitor's history made up to now."""
    get_event_bus().publish(Event(user_key=user_key, kind="delete"))


def history_merge(*, from_key: str, to_key: str) -> int:
    """Move an anonymous visitor's history into an account (at login)."""
    if from_key == to_key:
        return 0
    moved = get_clicklog_store().reassign(from_key, to_key)
    logger.info("merged %d events from %s into %s", moved, from_key, to_key)
    return moved
