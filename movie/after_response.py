"""Work a request leaves for after its response: run in the thread that served
the request once the server has written the response (Django's
`request_finished`, connected in movie.signals), so the visitor does not wait
for it. Outside a request (a command, the warmer) it runs at once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)

_LOCAL = threading.local()  # .pending: this thread's request's work, or None


def after_response(work: Callable[[], object]) -> None:
    """Run `work` after this request's response, or now outside a request."""
    pending = getattr(_LOCAL, "pending", None)
    if pending is None:
        work()
    else:
        pending.append(work)


def request_began() -> None:
    """A request starts in this thread: what an earlier one left and never saw
    run (its response was never closed) runs now, before it."""
    run_pending()
    _LOCAL.pending = []


def forget() -> None:
    """Drop what is left without running it: outside a request from now on (a
    test's start, after an earlier test's response that was never closed)."""
    _LOCAL.pending = None


def run_pending() -> None:
    """Run what the request left, each in turn; one that fails is logged and
    the others still run."""
    pending, _LOCAL.pending = getattr(_LOCAL, "pending", None) or [], None
    for work in pending:
        try:
            work()
        except Exception:
            logger.exception("work after the response failed")
