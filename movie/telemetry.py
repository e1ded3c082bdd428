"""Operator metrics in the Prometheus text format (prometheus-client), served at
/metrics to the addresses in METRICS_ALLOWED_IPS.

Each web process keeps its own registry: a scrape answers for the process that
took it, labelled with its pid, so a scraper that reaches every process (or a
sidecar per process) sees them all. Counters restart with the process, which
Prometheus' rate() handles.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

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
    "Home-page For-you rows by whether this process had fine-tuned the same "
    "input already (hit) or fine-tuned it now (miss)",
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
