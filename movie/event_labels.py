"""What the pages call each kind of event: the words of a history entry and the
mark a grid puts on a movie the visitor acted on.

A new kind of event needs one entry in EVENT_LABELS; the history sidebar and the
grids read everything from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext

from movie.events import Event


@dataclass(frozen=True)
class KindLabel:
    css: str  # CSS class of the history entry and of the grid mark
    history: Callable[[Event], str]  # a history entry: "clicked", "rated 4.5"
    mark: Callable[[Event], str]  # on a movie card: "Clicked", "Your rating: 4.5 ★"
    # When a visitor did several things to a movie, the grid shows the highest.
    weight: int


def _rated(event: Event) -> str:
    return gettext("rated %(rating)s") % {"rating": event.rating}


def _your_rating(event: Event) -> str:
    return gettext("Your rating: %(rating)s ★") % {"rating": event.rating}


EVENT_LABELS: dict[str, KindLabel] = {
    "click": KindLabel(
        css="clicked",
        history=lambda event: gettext("clicked"),
        mark=lambda event: gettext("Clicked"),
        weight=1,
    ),
    "rating": KindLabel(css="rated", history=_rated, mark=_your_rating, weight=2),
    "not_interested": KindLabel(
        css="not-interested",
        history=lambda event: gettext("not interested"),
        mark=lambda event: gettext("Not interested"),
        weight=3,
    ),
}

# What an event does for the recommendations now (VisitorSignals.effect), in words.
EFFECT_WORDS = {
    "liked": lambda: gettext("liked"),
    "clicked": lambda: gettext("clicked"),
    "rated": lambda: gettext("rated"),
    "disliked": lambda: gettext("disliked"),
    "not interested": lambda: gettext("not interested"),
    "superseded": lambda: gettext("superseded"),
}


@dataclass(frozen=True)
class MovieMark:
    """How a grid marks a movie the visitor acted on."""

    css: str
    text: str

    def __bool__(self) -> bool:
        return bool(self.css)


# A movie the visitor did nothing to: a falsy mark whose fields templates read
# without a failed lookup (each costs Django an exception).
NO_MARK = MovieMark(css="", text="")


def marks_from(events: list[Event]) -> dict[int, MovieMark]:
    """Each movie's mark from events given newest first: its weightiest kind, the
    newest event of that kind (the current rating, not an older one)."""
    best: dict[int, tuple[KindLabel, Event]] = {}
    for event in events:
        label = EVENT_LABELS.get(event.kind)
        if label is None:
            continue
        held = best.get(event.movie_id)
        if held is None or label.weight > held[0].weight:
            best[event.movie_id] = (label, event)
    return {
        movie_id: MovieMark(css=label.css, text=label.mark(event))
        for movie_id, (label, event) in best.items()
    }


def history_label(event: Event) -> tuple[str, str]:
    """(CSS class, words) of a history entry."""
    label = EVENT_LABELS.get(event.kind)
    if label is None:
        return event.kind, event.kind
    return label.css, label.history(event)
