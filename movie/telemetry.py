"""Operator metrics in the Prometheus text format (prometheus-client), served at
/metrics to the addresses in METRICS_ALLOWED_IPS.

Each web process keeps its own registry: a scrape answers for the process that
took it, labelled with its pid, so a scraper that reaches every process (or a
sidecar per process) sees them all. Counters restart with the process, which
Prometheus' rate() handles. The outbox's backlog (`OutboxBacklog`) is read from
the database at each scrape, so every process answers the same for it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from django.db import DatabaseError
from django.db.models import Count, Max, Min, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

from movie.models import OutboxEvent

logger = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)

REQUEST_SECONDS = Histogram(
    "pseudorec_request_seconds",
    "Request latency by view",
    ["view"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
MODEL_SECONDS = Histogram(
    "pseudorec_ngcf_model_seconds",
    "Model work (fine-tuning and ranking) per NGCF recommendation",
    registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
)
FALLBACKS = Counter(
    "pseudorec_popular_fallbacks_total",
    "Recommendations answered with popular movies, by reason",
    ["reason"],
    registry=REGISTRY,
)
VISITOR_NODES = Counter(
    "pseudorec_ngcf_visitor_nodes_total",
    "NGCF lists by how the visitor's node was made: fold-in, trained, "
    "trained+finetuned, or changed (a trained event deleted since: folded in)",
    ["path"],
    registry=REGISTRY,
)
KEPT_LISTS = Counter(
    "pseudorec_ngcf_kept_lists_total",
    "Home-page For-you rows by whether the host's kept rows held the same "
    "input already (hit: fine-tuned by the warmer or an earlier page) or this "
    "page fine-tuned it (miss)",
    ["outcome"],
    registry=REGISTRY,
)
WARMER_RINGS = Counter(
    "pseudorec_for_you_rings_total",
    "Visitors named to the For-you warmer, by outcome: sent, no warmer (nobody "
    "listens) or queue full (dropped: that visitor's next home page fine-tunes)",
    ["outcome"],
    registry=REGISTRY,
)
IMPRESSIONS = Counter(
    "pseudorec_impressions_total",
    "Lists of movies shown, by surface",
    ["surface"],
    registry=REGISTRY,
)
CLICKS = Counter(
    "pseudorec_clicks_total",
    "Clicks and ratings recorded, by kind",
    ["kind"],
    registry=REGISTRY,
)
VERSION_SERVED = Gauge(
    "pseudorec_model_version_served",
    "1 for the model version this process serves",
    ["version", "pid"],
    registry=REGISTRY,
)


class OutboxBacklog:
    """The outbox's backlog, read from the database at each scrape (the same for
    every process, so without a pid): events waiting, the oldest one's age, those
    the bus refused or timed out on at least once, and the most attempts of one.
    A broker that is down shows as a growing age with every visitor's first
    event failing; a record the broker refuses every time, which holds back its
    visitor's later events, as a few failed events whose attempts only grow
    while the rest flow. Each scrape reads at most the oldest ``SCAN_LIMIT``
    rows, by the primary key: the outbox is large exactly when the bus has been
    away, and every process of every host is scraped. Beyond that the count
    stays at ``SCAN_LIMIT`` and the failed events and attempts are those of
    the oldest rows, where they stay. Without the database the four are left
    out of the scrape (an absent series, and a warning in the log), which still
    answers."""

    SCAN_LIMIT = 100_000

    NAMES = (
        (
            "pseudorec_outbox_events",
            f"Events in the outbox, not yet taken by the bus (counted up to "
            f"{SCAN_LIMIT:,}; the failed ones and the attempts among those oldest)",
        ),
        (
            "pseudorec_outbox_oldest_seconds",
            "Age of the oldest event in the outbox (0 when it is empty)",
        ),
        (
            "pseudorec_outbox_failed_events",
            "Outbox events the bus refused or timed out on at least once",
        ),
        (
            "pseudorec_outbox_attempts_max",
            "Most send attempts of one event in the outbox (growing: a visitor "
            "held back by a record the bus refuses)",
        ),
    )

    def describe(self) -> list[GaugeMetricFamily]:
        return [GaugeMetricFamily(name, text) for name, text in self.NAMES]

    def collect(self) -> list[GaugeMetricFamily]:
        try:
            rows = OutboxEvent.objects.all()
            # the id of the SCAN_LIMIT-th oldest row, if there are that many
            bound = list(
                rows.order_by("id").values_list("id", flat=True)[
                    self.SCAN_LIMIT - 1 : self.SCAN_LIMIT
                ]
            )
            if bound:
                rows = rows.filter(id__lte=bound[0])
            row = rows.aggregate(
                events=Count("id"),
                oldest=Min("created"),
                failed=Count("id", filter=Q(attempts__gt=0)),
                attempts=Max("attempts"),
            )
        except DatabaseError as exc:
            logger.warning("outbox backlog not read for /metrics: %r", exc)
            return []
        oldest = row["oldest"]
        age = 0.0 if oldest is None else (timezone.now() - oldest).total_seconds()
        values = (row["events"], max(age, 0.0), row["failed"], row["attempts"] or 0)
        return [
            GaugeMetricFamily(name, text, value=value)
            for (name, text), value in zip(self.NAMES, values, strict=True)
        ]


REGISTRY.register(OutboxBacklog())


def set_served_version(version: str) -> None:
    VERSION_SERVED.clear()
    VERSION_SERVED.labels(version=version or "none", pid=str(os.getpid())).set(1)


def metrics_text() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class RequestTimingMiddleware:
    """Observes each request's latency under its view's URL name."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match and match.view_name else "unmatched"
        REQUEST_SECONDS.labels(view=view).observe(time.perf_counter() - start)
        return response
