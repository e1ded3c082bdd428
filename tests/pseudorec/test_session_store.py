"""The session engine: Django's database sessions, read with one SELECT."""

import datetime

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pseudorec.session_store import SessionStore


def saved(data):
    session = SessionStore()
    session.update(data)
    session.save()
    return session.session_key


def test_the_site_uses_it():
    assert settings.SESSION_ENGINE == "pseudorec.session_store"


def test_a_saved_session_loads_with_its_data_in_one_plain_select(db):
    key = saved({"anon_visitor_key": "v:abc", "n": 3})
    session = SessionStore(session_key=key)
    with CaptureQueriesContext(connection) as queries:
        assert session.load() == {"anon_visitor_key": "v:abc", "n": 3}
    assert session.session_key == key
    # Not the ORM's query (which names every column, orders and limits).
    (query,) = queries.captured_queries
    assert query["sql"].startswith("SELECT session_data FROM")


def test_an_expired_or_unknown_session_loads_empty_and_drops_its_key(db):
    key = saved({"anon_visitor_key": "v:old"})
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )
    for stale in (key, "x" * 32):
        session = SessionStore(session_key=stale)
        assert session.load() == {}
        assert session.session_key is None
        # A write makes a new session; the expired row is not revived.
        session["anon_visitor_key"] = "v:new"
        session.save()
        assert session.session_key not in (None, key)
    assert SessionStore(session_key=key).load() == {}


def click(client, movie_id):
    body = {"movie_id": movie_id, "kind": "click"}
    return client.post("/api/events", body, content_type="application/json")


def test_a_visitor_keeps_its_key_across_requests(client, catalogue):
    first, second = click(client, 50), click(client, 100)
    assert first.status_code == second.status_code == 201
    assert first.json()["user_key"] == second.json()["user_key"]
    assert client.get("/api/history").json()["count"] == 2
