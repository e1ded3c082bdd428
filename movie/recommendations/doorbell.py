"""The For-you warmer's doorbell: a local datagram socket on which whatever
stored a change of a visitor's history names the visitor (the design is in
`movie.recommendations.warming`). Light on purpose: the consumer and the relay
ring it without loading the model."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.db import transaction

__all__ = ["Doorbell", "histories_stored", "history_changed"]

# the longest user key (movie.models.VisitorEntry.user_key) fits in one datagram
DATAGRAM_BYTES = 256

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
    # No warmer (no socket file, or nobody bound to it), or its queue is full:
    # the visitor's next home page fine-tunes in the request.
    with contextlib.suppress(OSError):
        sender = _sender()
        for user_key in user_keys:
            sender.sendto(user_key.encode(), path)


class Doorbell:
    """The warmer's end of the socket: the visitors named since the last look."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # a socket file left by a warmer that died refuses to be bound again
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(str(self.path))
        os.chmod(self.path, 0o600)  # only this user's processes may ring

    def wait(self, timeout_s: float) -> list[str]:
        """The visitors named, each once, oldest first: waits up to
        ``timeout_s`` for the first, then takes what else is queued."""
        named: dict[str, None] = {}
        self._socket.settimeout(timeout_s)
        try:
            named[self._receive()] = None
        except TimeoutError:
            return []
        self._socket.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            while True:
                named[self._receive()] = None
        return [key for key in named if key]

    def _receive(self) -> str:
        data = self._socket.recv(DATAGRAM_BYTES)
        return data.decode("utf-8", errors="replace")

    def close(self) -> None:
        self._socket.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
