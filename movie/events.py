"""The click-log event: what travels on the event bus and lands in the store."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import uuid6

KINDS = ("click", "rating", "not_interested", "delete", "impression")
# A list of movies shown to a visitor: a movie.impressions.Impression, never an Event.
IMPRESSION = "impression"
# The kinds a visitor records; a delete is made by the delete services only.
# "not_interested": the visitor never wants this movie recommended.
RECORDED_KINDS = ("click", "rating", "not_interested")
RATING_MIN, RATING_MAX, RATING_STEP = 0.5, 5.0, 0.5
# Movie ids are MovieLens item ids; the bound keeps them inside every backend's
# unsigned 32-bit column (a larger integer is refused, never sent to the database).
MOVIE_ID_MAX = 2**31 - 1


class EventError(ValueError):
    """An event that does not make sense; the message says why."""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


_ID_LOCK = threading.Lock()  # one id at a time: each later than the one before


def new_event_id() -> uuid.UUID:
    """A new event id: a UUIDv7 (RFC 9562), whose leading bits are a time in
    milliseconds, made later than every id this process made before. The
    stores order a visitor's events by `ts` and then by `event_id`, so two
    events made within one millisecond (two quick clicks, a click and a
    rating) read back in the order they happened, not in a random one."""
    with _ID_LOCK:
        return uuid.UUID(int=uuid6.uuid7().int)


def check_movie_id(value: Any) -> int:
    """Return `value` as a movie id (an int from 1 to MOVIE_ID_MAX), or raise
    EventError. Strings, floats and booleans are refused, not converted."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise EventError("movie_id must be an integer")
    if not 1 <= value <= MOVIE_ID_MAX:
        raise EventError(f"movie_id must be from 1 to {MOVIE_ID_MAX}")
    return value


def check_kind(value: Any, allowed: tuple[str, ...] = KINDS) -> str:
    """Return `value` if it is one of the `allowed` kinds, or raise EventError."""
    if not isinstance(value, str) or value not in allowed:
        quoted = ", ".join(f'"{kind}"' for kind in allowed)
        raise EventError(f"kind must be one of {quoted}")
    return value


def check_rating(value: Any) -> float:
    """Return `value` as a rating in 0.5..5.0 by steps of 0.5, or raise EventError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EventError("rating must be a number from 0.5 to 5.0 in steps of 0.5")
    rating = float(value)
    if not RATING_MIN <= rating <= RATING_MAX or (rating * 2) != int(rating * 2):
        raise EventError("rating must be a number from 0.5 to 5.0 in steps of 0.5")
    return rating


@dataclass(frozen=True)
class Event:
    """One visitor action.

    `event_id` is the idempotency key: a store keeps at most one event per id.
    A `delete` event removes `target_event_id` from the visitor's log, or, when that
    is None, every event of the visitor up to `ts` (so a replayed delete-all never
    removes clicks made after it).
    """

    user_key: str
    kind: str
    movie_id: int | None = None
    rating: float | None = None
    ts: int = field(default_factory=now_ms)
    event_id: uuid.UUID = field(default_factory=new_event_id)
    target_event_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        if not self.user_key or len(self.user_key) > 80:
            raise EventError("user_key must be 1 to 80 characters")
        check_kind(self.kind)
        if self.kind == IMPRESSION:
            raise EventError("an impression is an Impression, not an Event")
        if self.kind == "delete":
            if self.movie_id is not None or self.rating is not None:
                raise EventError("a delete event carries no movie_id or rating")
        else:
            check_movie_id(self.movie_id)
            if self.target_event_id is not None:
                raise EventError("only a delete event has a target_event_id")
        if self.kind == "rating":
            object.__setattr__(self, "rating", check_rating(self.rating))
        elif self.rating is not None:
            raise EventError("only a rating event carries a rating")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "event_id": str(self.event_id),
            "user_key": self.user_key,
            "movie_id": self.movie_id,
            "kind": self.kind,
            "rating": self.rating,
            "ts": self.ts,
        }
        if self.kind == "delete":
            data["target_event_id"] = (
                str(self.target_event_id) if self.target_event_id else None
            )
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        """Build an event from its JSON form, raising EventError when malformed."""
        if not isinstance(data, dict):
            raise EventError("an event is a JSON object")
        try:
            target = data.get("target_event_id")
            return cls(
                event_id=uuid.UUID(str(data["event_id"])),
                user_key=str(data["user_key"]),
                kind=str(data["kind"]),
                movie_id=data.get("movie_id"),
                rating=data.get("rating"),
                ts=int(data["ts"]),
                target_event_id=uuid.UUID(str(target)) if target else None,
            )
        except KeyError as exc:
            raise EventError(f"event field missing: {exc.args[0]}") from None
        except (TypeError, ValueError) as exc:
            if isinstance(exc, EventError):
                raise
            raise EventError(f"malformed event: {exc}") from None
