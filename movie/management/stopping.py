"""Clean shutdown for the long-running commands (consumer, outbox relay)."""

from __future__ import annotations

import signal
import threading


def stop_on_signals(*signums: int) -> threading.Event:
    """An event that is set when the process receives SIGTERM or SIGINT (or the
    given signals); the command's loop checks it and ends after its current step."""
    stop = threading.Event()
    for signum in signums or (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop
