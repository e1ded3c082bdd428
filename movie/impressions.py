"""The impression: one list of movies shown to a visitor.

Impressions travel the same way as clicks (outbox -> bus -> store) but each store
keeps them apart from the click log, so they never appear in a visitor's history.
Online metrics join them with the clicks (movie.online_metrics).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy

from movie.events import (
    IMPRESSION,
    Event,
    EventError,
    check_movie_id,
    new_event_id,
    now_ms,
)

# Where a list is shown, with the words the staff dashboard shows for it; "api"
# is GET/POST /api/recommendations.
SURFACES = {
    "ngcf": gettext_lazy("NGCF page"),
    "for-you": gettext_lazy("For you (home page)"),
    "popular": gettext_lazy("Popular movies (home page)"),
    "similar": gettext_lazy("Similar movies (movie page)"),
    "api": gettext_lazy("API"),
}
# The model version of a list that no model made.
POPULAR_VERSION = "popular"
# The visitor key of lists shown to a visitor who has none yet (no session): they
# count as shown, and no click can be attributed to them.
ANONYMOUS = "anonymous"
MAX_SHOWN = 100


@dataclass(frozen=True)
class Impression:
    user_key: str
    surface: str
    model_version: str  # a ModelVersion.version, or POPULAR_VERSION
    movie_ids: tuple[int, ...]  # in the order shown, position 1 first
    request_id: str
    ts: int = field(default_factory=now_ms)
    event_id: uuid.UUID = field(default_factory=new_event_id)
    kind: str = IMPRESSION

    def __post_init__(self) -> None:
        if not self.user_key or len(self.user_key) > 80:
            raise EventError("user_key must be 1 to 80 characters")
        if self.kind != IMPRESSION:
            raise EventError("an impression has kind impression")
        if self.surface not in SURFACES:
            raise EventError(f"surface must be one of {', '.join(SURFACES)}")
        if not self.model_version or len(self.model_version) > 64:
            raise EventError("model_version must be 1 to 64 characters")
        if not isinstance(self.movie_ids, tuple) or len(self.movie_ids) > MAX_SHOWN:
            raise EventError(f"movie_ids must be a tuple of at most {MAX_SHOWN} ids")
        for movie_id in self.movie_ids:
            check_movie_id(movie_id)
        if len(self.request_id) > 64:
            raise EventError("request_id must be at most 64 characters")

    def position_of(self, movie_id: int) -> int | None:
        """1-based position of the movie in the list, or None."""
        try:
            return self.movie_ids.index(movie_id) + 1
        except ValueError:
            return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": str(self.event_id),
            "user_key": self.user_key,
            "kind": self.kind,
            "surface": self.surface,
            "model_version": self.model_version,
            "movie_ids": list(self.movie_ids),
            "request_id": self.request_id,
            "ts": self.ts,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Impression:
        missing = sorted(_FIELDS - set(data))
        if missing:
            raise EventError(f"impression field missing: {missing[0]}")
        if not isinstance(data["movie_ids"], list):
            raise EventError("movie_ids must be a list")
        try:
            fields = {
                "event_id": uuid.UUID(str(data["event_id"])),
                "ts": int(data["ts"]),
                "movie_ids": tuple(data["movie_ids"]),
            }
        except (TypeError, ValueError) as exc:
            raise EventError(f"malformed impression: {exc}") from None
        return cls(
            user_key=str(data["user_key"]),
            surface=str(data["surface"]),
            model_version=str(data["model_version"]),
            request_id=str(data.get("request_id", "")),
            **fields,
        )


_FIELDS = {"event_id", "user_key", "surface", "model_version", "movie_ids", "ts"}

Message = Event | Impression


def message_from_dict(data: Any) -> Message:
    """An event or impression from its JSON form (what the outbox and the bus
    carry); raises EventError when malformed."""
    if isinstance(data, dict) and data.get("kind") == IMPRESSION:
        return Impression.from_dict(data)
    return Event.from_dict(data)
