"""Old "s:<session key>" visitor keys become opaque keys; no history is lost."""

import importlib
import uuid

from django.apps import apps
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client

from movie.clicklog.sql import SqlClickLogStore
from movie.events import Event
from movie.identity import ANON_KEY
from movie.models import ClickEvent, OutboxEvent
from movie.visitor_rekey import rekey_clicklog

migration = importlib.import_module("movie.migrations.0003_opaque_visitor_keys")


def legacy_session() -> tuple[str, str]:
    """A session as the old code left it: its anonymous key is "s:<session key>"."""
    session = SessionStore()
    session.create()
    old = f"s:{session.session_key}"
    session[ANON_KEY] = old
    session.save()
    return session.session_key, old


def add_clicks(user_key, movie_ids):
    for n, movie_id in enumerate(movie_ids):
        ClickEvent.objects.create(
            event_id=uuid.uuid4(),
            user_key=user_key,
            movie_id=movie_id,
            kind="click",
            ts=1000 + n,
        )


def test_migration_moves_histories_and_sessions_to_opaque_keys(catalogue):
    session_key, old = legacy_session()
    add_clicks(old, [50, 100])
    add_clicks("s:expired-session", [127])
    add_clicks("u:7", [181])
    pending = Event(user_key=old, kind="click", movie_id=1)
    OutboxEvent.objects.create(
        event_id=pending.event_id, user_key=old, payload=pending.to_dict()
    )

    migration.rekey(apps, None)

    new = SessionStore(session_key).load()[ANON_KEY]
    assert new.startswith("v:") and session_key not in new
    assert sorted(
        ClickEvent.objects.filter(user_key=new).values_list("movie_id", flat=True)
    ) == [50, 100]
    assert not ClickEvent.objects.filter(user_key__startswith="s:").exists()
    assert ClickEvent.objects.filter(user_key="u:7").count() == 1
    assert ClickEvent.objects.count() == 4  # nothing lost, the orphan included
    row = OutboxEvent.objects.get()
    assert row.user_key == new and row.payload["user_key"] == new


def test_the_visitor_sees_the_old_history_after_the_migration(catalogue):
    session_key, old = legacy_session()
    add_clicks(old, [50, 100])
    migration.rekey(apps, None)
    client = Client()
    client.cookies["sessionid"] = session_key
    body = client.get("/api/history").json()
    assert [e["movie_id"] for e in body["events"]] == [100, 50]
    assert session_key not in body["events"][0]["user_key"]


def test_rekeying_the_store_after_the_sessions_follows_the_session(catalogue):
    """The DynamoDB case: sessions rekeyed (migration) before the store is."""
    session_key, old = legacy_session()
    migration.rekey(apps, None)  # no SQL events: only the session changes
    new = SessionStore(session_key).load()[ANON_KEY]
    add_clicks(old, [50])  # as if they lived in another store
    result = rekey_clicklog(store=SqlClickLogStore(), session_model=Session)
    assert (result.visitors, result.events) == (1, 1)
    assert ClickEvent.objects.get().user_key == new


def test_rekey_command_is_safe_to_run_again(catalogue, capsys):
    _, old = legacy_session()
    add_clicks(old, [50])
    call_command("rekey_visitors")
    assert "moved 1 events of 1 visitors" in capsys.readouterr().out
    call_command("rekey_visitors")
    assert "moved 0 events of 0 visitors" in capsys.readouterr().out
    assert ClickEvent.objects.get().user_key.startswith("v:")
