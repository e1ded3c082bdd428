"""Online metrics: which recommendations visitors clicked.

Attribution: a click or rating of a movie that was in an impression shown to the
same visitor in the ATTRIBUTION_WINDOW_MINUTES before it is attributed to the
latest such impression (its surface, model version and the movie's position).
Per model version, surface and day (UTC, of the impression): lists shown, lists
with at least one attributed click, CTR (the ratio of the two), attributed clicks
by position, and the share of that day's clicks that came from recommendations
(lists a model made, not the popular grid).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings

from movie.clicklog import get_clicklog_store
from movie.events import Event
from movie.impressions import ANONYMOUS, POPULAR_VERSION, SURFACES, Impression


@dataclass(frozen=True)
class Attribution:
    event: Event
    impression: Impression
    position: int  # 1-based


@dataclass
class MetricRow:
    model_version: str
    surface: str
    day: str  # YYYY-MM-DD, UTC
    impressions: int = 0
    clicked_lists: int = 0
    clicks: int = 0  # attributed clicks and ratings
    clicks_by_position: dict[int, int] = field(default_factory=dict)
    share_of_clicks: float = 0.0  # of all clicks that day (0 for popular)

    @property
    def surface_label(self) -> str:
        """Where the lists were shown, in the reader's language."""
        return str(SURFACES.get(self.surface, self.surface))

    @property
    def ctr(self) -> float:
        return self.clicked_lists / self.impressions if self.impressions else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ctr": self.ctr}


def _day(ts_ms: int) -> str:
    return dt.datetime.fromtimestamp(ts_ms / 1000, dt.UTC).date().isoformat()


def attribute_clicks(
    events: Iterable[Event], impressions: Iterable[Impression], *, window_ms: int
) -> list[Attribution]:
    """Each event attributed to the visitor's latest impression that showed its
    movie within `window_ms` before it (impressions at the same ms count)."""
    shown: dict[str, list[Impression]] = defaultdict(list)
    for impression in impressions:
        if impression.user_key != ANONYMOUS:
            shown[impression.user_key].append(impression)
    for lists in shown.values():
        lists.sort(key=lambda i: i.ts)
    found = []
    for event in events:
        lists = shown.get(event.user_key, [])
        end = bisect.bisect_right([i.ts for i in lists], event.ts)
        for impression in reversed(lists[:end]):
            if event.ts - impression.ts > window_ms:
                break
            position = impression.position_of(event.movie_id)
            if position is not None:
                found.append(Attribution(event, impression, position))
                break
    return found


def compute_metrics(
    events: list[Event], impressions: list[Impression], *, window_ms: int
) -> list[MetricRow]:
    """The rows of the module docstring, sorted by day, version and surface."""
    rows: dict[tuple[str, str, str], MetricRow] = {}

    def row(impression: Impression) -> MetricRow:
        key = (impression.model_version, impression.surface, _day(impression.ts))
        return rows.setdefault(key, MetricRow(*key))

    for impression in impressions:
        row(impression).impressions += 1
    clicked: set = set()
    for found in attribute_clicks(events, impressions, window_ms=window_ms):
        target = row(found.impression)
        target.clicks += 1
        by_position = target.clicks_by_position
        by_position[found.position] = by_position.get(found.position, 0) + 1
        if found.impression.event_id not in clicked:
            clicked.add(found.impression.event_id)
            target.clicked_lists += 1
    clicks_per_day: dict[str, int] = defaultdict(int)
    for event in events:
        clicks_per_day[_day(event.ts)] += 1
    for metric in rows.values():
        total = clicks_per_day.get(metric.day, 0)
        if metric.model_version != POPULAR_VERSION and total:
            metric.share_of_clicks = metric.clicks / total
    return sorted(rows.values(), key=lambda r: (r.day, r.model_version, r.surface))


def compute_online_metrics() -> list[MetricRow]:
    """The online metrics of everything in the click-log store (a full scan)."""
    store = get_clicklog_store()
    return compute_metrics(
        list(store.events_scan()),
        list(store.impressions_scan()),
        window_ms=settings.ATTRIBUTION_WINDOW_MINUTES * 60_000,
    )
