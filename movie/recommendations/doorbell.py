"""The For-you warmer's doorbell: a local datagram socket on which whatever
stored a change of a visitor's history names the visitor (the design is in
`movie.recommendations.warming`). Light on purpose: the consumer and the relay
ring it without loading the model."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.db import transaction

from movie.telemetry import WARMER_RINGS

logger = logging.getLogger(__name__)

__all__ = [
    "Doorbell",
    "DoorbellDeaf",
    "DoorbellTaken",
    "histories_stored",
    "history_changed",
]

# the longest user key (movie.models.VisitorEntry.user_key) fits in one datagram
DATAGRAM_BYTES = 256
# how often the reading thread looks whether the doorbell is being closed
READ_TIMEOUT_S = 0.2

_senders: dict[int, socket.socket] = {}  # pid -> this process's sending socket


def _sender() -> socket.socket:
    sender = _senders.get(os.getpid())
    if sender is None:  # one per process: a socket made before a fork stays there
        sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sender.setblocking(False)
        _senders.clear()
        _senders[os.getpid()] = sender
    return sender


def history_changed(user_key: str) -> None:
    """Tell the warmer that this visitor's stored history changed, once the
    current transaction commits. Never raises and never waits."""
    transaction.on_commit(lambda: histories_stored([user_key]))


def histories_stored(user_keys: Iterable[str]) -> None:
    """Tell the warmer now that these visitors' stored histories changed (for a
    store outside the database's transactions: the consumer's DynamoDB). Never
    raises and never waits."""
    path = settings.FOR_YOU_WARMER_SOCKET
    if not path:
        return
    for user_key in user_keys:
        try:
            _sender().sendto(user_key.encode(), path)
        except BlockingIOError:  # the warmer's queue is full: dropped
            WARMER_RINGS.labels(outcome="queue full").inc()
        except OSError:  # no socket file, or nobody bound to it
            WARMER_RINGS.labels(outcome="no warmer").inc()
        else:
            WARMER_RINGS.labels(outcome="sent").inc()


class DoorbellTaken(OSError):
    """Another warmer listens on the socket already."""


class DoorbellDeaf(OSError):
    """The socket failed: the doorbell hears nobody any more."""


class Doorbell:
    """The warmer's end of the socket: the visitors named since the last look
    and not named again for ``settle_s`` seconds.

    The kernel queues few datagrams on a Unix socket (`net.unix.max_dgram_qlen`,
    often 10), so a thread of its own keeps reading them while the warmer
    fine-tunes, into an ordered set (each visitor once, by their last naming,
    oldest first). Make it before lowering the process's priority: on Linux a
    thread keeps the niceness it was started with.

    A visitor named again within ``settle_s`` waits for their events to
    settle: a row fine-tuned between two events that come within moments
    (a click and a rating, a delete and a click, a burst) is never asked for.
    """

    def __init__(self, path: str | Path, settle_s: float = 0.0) -> None:
        self.settle_s = settle_s
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale(self.path)
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        mask = os.umask(0o077)  # only this user's processes may ring
        try:
            self._socket.bind(str(self.path))
        finally:
            os.umask(mask)
        self._inode = self.path.stat().st_ino
        self._socket.settimeout(READ_TIMEOUT_S)
        self._named: dict[str, float] = {}  # user key -> when last named
        self._ready = threading.Condition()
        self._closing = threading.Event()
        self._failure: OSError | None = None
        self._reader = threading.Thread(target=self._read, name="doorbell", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._closing.is_set():
            try:
                data = self._socket.recv(DATAGRAM_BYTES)
            except TimeoutError:
                continue
            except OSError as exc:
                if not self._closing.is_set():  # not closed by us: say so
                    logger.exception("the warmer's doorbell cannot read its socket")
                    with self._ready:
                        self._failure = exc
                        self._ready.notify()
                return
            user_key = data.decode("utf-8", errors="replace")
            if user_key:
                with self._ready:
                    self._named.pop(user_key, None)  # to the end: named last
                    self._named[user_key] = time.monotonic()
                    self._ready.notify()

    def wait(self, timeout_s: float) -> list[str]:
        """The visitors named since the last call and quiet for ``settle_s``
        since, each once, oldest first; waits up to ``timeout_s`` for the
        first. DoorbellDeaf once the socket failed."""
        deadline = time.monotonic() + timeout_s
        with self._ready:
            while True:
                if self._failure is not None:
                    raise DoorbellDeaf(f"{self.path}: {self._failure}")
                now = time.monotonic()
                due = self._settled(now)
                if due or now >= deadline:
                    for user_key in due:
                        del self._named[user_key]
                    return due
                wake = deadline
                if self._named:  # the oldest one settles first
                    oldest = next(iter(self._named.values()))
                    wake = min(deadline, oldest + self.settle_s)
                self._ready.wait(wake - now)

    def _settled(self, now: float) -> list[str]:
        """The named visitors quiet for ``settle_s`` at ``now``: the first ones,
        as they are ordered by their last naming. Under ``_ready``."""
        due = []
        for user_key, named_at in self._named.items():
            if named_at + self.settle_s > now:
                break
            due.append(user_key)
        return due

    def close(self) -> None:
        self._closing.set()
        self._reader.join(timeout=2 * READ_TIMEOUT_S)
        self._socket.close()
        # the path is another warmer's if it bound there since
        with contextlib.suppress(OSError):
            if self.path.stat().st_ino == self._inode:
                self.path.unlink()


def _remove_stale(path: Path) -> None:
    """Remove a socket file that a warmer left when it died; DoorbellTaken if
    a warmer listens there, and OSError if the path is not a socket."""
    if not path.exists():
        return
    if not path.is_socket():
        raise FileExistsError(f"{path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.connect(str(path))
    except ConnectionRefusedError:  # nobody bound to it
        path.unlink(missing_ok=True)
        return
    finally:
        probe.close()
    raise DoorbellTaken(f"another warmer listens on {path}")
