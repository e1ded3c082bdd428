"""Replaces the old visitor keys, "s:<session key>", by opaque ones ("v:...").

The old anonymous key was the session key itself, so anyone who saw it (the API
returned it, the admin showed it) could send it as the session cookie. The new key
is random (`identity.new_visitor_key`). Rekeying keeps every visitor's history:
the session that held an old key gets the new one, and the click log moves the
old key's events to it. The SQL click log is rekeyed by a migration; any store
(DynamoDB) by the `rekey_visitors` command, before or after that migration: an old
key whose session was already rekeyed moves to that session's new key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

from movie.identity import ANON_KEY, ANON_PREFIX, new_visitor_key

logger = logging.getLogger(__name__)

LEGACY_PREFIX = "s:"


class LegacyKeyMap:
    """old key -> new key, the same answer for the same old key, and the session
    that held the old key updated to hold the new one.

    `session_model` is the sessions table's model (a migration passes its
    historical model).
    """

    def __init__(self, session_model: Any) -> None:
        self.sessions = session_model
        self.codec = SessionStore()
        self.new_keys: dict[str, str] = {}

    def rekey_sessions(self) -> int:
        """Give every live session with an old key a new one; return how many."""
        count = 0
        live = self.sessions.objects.filter(expire_date__gt=timezone.now())
        for row in live.iterator():
            data = self.codec.decode(row.session_data)
            old = data.get(ANON_KEY)
            if isinstance(old, str) and old.startswith(LEGACY_PREFIX):
                self._store(row, data, self.new_keys.setdefault(old, new_visitor_key()))
                count += 1
        return count

    def __call__(self, old: str) -> str:
        if old not in self.new_keys:
            self.new_keys[old] = self._session_key_for(old) or new_visitor_key()
        return self.new_keys[old]

    def _session_key_for(self, old: str) -> str | None:
        row = self.sessions.objects.filter(
            session_key=old[len(LEGACY_PREFIX) :]
        ).first()
        if row is None:
            return None
        data = self.codec.decode(row.session_data)
        current = data.get(ANON_KEY)
        if isinstance(current, str) and current.startswith(ANON_PREFIX):
            return current  # rekeyed before: the events follow the session
        if current == old:
            new = new_visitor_key()
            self._store(row, data, new)
            return new
        return None

    def _store(self, row: Any, data: dict[str, Any], new: str) -> None:
        data[ANON_KEY] = new
        row.session_data = self.codec.encode(data)
        row.save(update_fields=["session_data"])


@dataclass(frozen=True)
class RekeyResult:
    sessions: int  # sessions given a new key
    visitors: int  # old keys found in the click log
    events: int  # events moved to new keys


def rekey_clicklog(*, store: Any, session_model: Any) -> RekeyResult:
    """Move every old-key history of `store` (a ClickLogStore) to a new key."""
    key_map = LegacyKeyMap(session_model)
    sessions = key_map.rekey_sessions()
    visitors = events = 0
    for old in store.user_keys(prefix=LEGACY_PREFIX):
        events += store.reassign(old, key_map(old))
        visitors += 1
    logger.info(
        "rekeyed %d sessions, %d visitors, %d events", sessions, visitors, events
    )
    return RekeyResult(sessions, visitors, events)
