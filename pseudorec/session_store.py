"""Django's database sessions (SESSION_ENGINE), read with one plain SELECT.

Every request with a session cookie loads its session: each click, each page of a
visitor who has clicked. Django's `db` backend reads it through the ORM
(`Session.objects.get(...)`), and building that query cost more than the query:
about 0.7 ms of CPU per request against 0.15 to 0.19 ms for the same SELECT
(docs/BENCHMARKS.md, "Sessions read with one SELECT"). Only the read differs;
saving, expiry, key rotation at login and `clearsessions` are Django's own.
"""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        """The stored session if it exists and has not expired; otherwise None,
        and the key is dropped (as Django's own backend does), so a save makes
        a new one."""
        model = self.model
        connection = connections[router.db_for_read(model)]
        table = connection.ops.quote_name(model._meta.db_table)
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT session_data FROM {table} "
                "WHERE session_key = %s AND expire_date > %s",
                [self.session_key, now],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return model(session_key=self.session_key, session_data=row[0])
