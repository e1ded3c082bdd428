"""The home page's For-you row, fine-tuned before the visitor asks for it.

The first home page after a visitor's event used to fine-tune their row inside
the request (docs/BENCHMARKS.md: about a third of that page's time). Now:

1. Whatever stores a change of a visitor's history (the direct bus in the
   request, the Kafka consumer on the stack, a merge at login) names the
   visitor, after its commit, in one datagram on a local socket
   (`movie.recommendations.doorbell`). Nothing is waited for and nothing is
   answered: with no warmer listening, or its queue full, it is dropped.
2. The warmer (`manage.py warm_for_you`, beside the site, at the lowest CPU
   priority, so it takes only what the web processes leave) reads that
   visitor's history and asks for their For-you row exactly as the home page
   does (`for_you_row`, which keeps the model's answer).
3. The answer is kept in the host's kept lists, on disk for every process, by
   its whole input (`recommendations_for_history`): the visitor's next home
   page, on any worker, finds it there instead of fine-tuning.

Nothing a visitor sees depends on it: a row is kept only under the input that
gives it, and a page whose input has no kept row (no warmer, a click too
recent, a dial the warmer does not know) fine-tunes in the request as before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections, connection

from movie.clicklog import get_clicklog_store
from movie.recommendations.doorbell import Doorbell
from movie.recommendations.predictor import preload_predictor
from movie.recommendations.selectors import for_you_row
from movie.selectors import VisitorHistory

logger = logging.getLogger(__name__)

__all__ = [
    "WarmTotals",
    "warm_for_you",
    "warm_until",
    "warm_visitors",
    "warmer_prepare",
]


def warmer_prepare() -> str:
    """Load what the first warm would otherwise load: the served model and the
    click log's client (boto3 and its DynamoDB client on the stack). The warmer
    runs at the lowest priority, so on a busy host that first warm took seconds
    and landed in the traffic that named its visitor. No model watcher yet: it
    is started by the thread that fine-tunes, at its priority. Why no model is
    served (empty when one is)."""
    get_clicklog_store()
    state = preload_predictor()
    if not connection.in_atomic_block:
        connection.close()  # the warmer may wait long for its first visitor
    return state.problem


def warm_for_you(user_key: str) -> bool:
    """Fine-tune this visitor's For-you row as their home page would, with the
    dial's default position, and keep it; False when they get no row (no
    history, no model). An answer kept already is not fine-tuned again."""
    history = VisitorHistory(user_key=user_key)
    return for_you_row(history, centring=settings.NGCF_CENTRING) is not None


@dataclass
class WarmTotals:
    warmed: int = 0  # rows fine-tuned or found kept already
    without_row: int = 0  # visitors without a row (no history, no model)
    failed: int = 0  # visitors whose warming raised (logged)


def warm_visitors(
    user_keys: Iterable[str],
    totals: WarmTotals,
    warm: Callable[[str], bool] = warm_for_you,
) -> None:
    """Warm each visitor's row; one that fails is logged and skipped (their
    page fine-tunes itself), the rest go on."""
    for user_key in user_keys:
        try:
            if warm(user_key):
                totals.warmed += 1
            else:
                totals.without_row += 1
        except Exception:
            totals.failed += 1
            logger.exception("could not warm the For-you row of a visitor")
            if not connection.in_atomic_block:
                connection.close()  # a failed database: the next one connects again


def warm_until(
    stop: threading.Event, doorbell: Doorbell, totals: WarmTotals, wait_s: float = 0.5
) -> None:
    """Warm the visitors the doorbell names until ``stop`` is set."""
    while not stop.is_set():
        named = doorbell.wait(wait_s)
        if named and not connection.in_atomic_block:
            close_old_connections()  # one the server dropped while idle
        warm_visitors(named, totals)
