"""`rekey_visitors` against moto: old "s:<session key>" partitions move to the
session's new opaque key, with every event kept."""

from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command

from movie.identity import ANON_KEY
from tests.movie.clicklog_contract import click


def test_rekey_command_moves_dynamodb_partitions(
    db, settings, dynamodb_config, dynamodb_store, capsys
):
    settings.CLICKLOG_BACKEND = "dynamodb"
    settings.DYNAMODB_TABLE = dynamodb_config.table
    settings.DYNAMODB_ENDPOINT_URL = dynamodb_config.endpoint_url
    settings.AWS_DEFAULT_REGION = dynamodb_config.region
    session = SessionStore()
    session.create()
    old = f"s:{session.session_key}"
    session[ANON_KEY] = old
    session.save()
    mine = [click(old, movie_id, ts) for ts, movie_id in enumerate([50, 100, 127])]
    orphan = click("s:gone", 181, 5)
    account = click("u:3", 1, 6)
    for event in [*mine, orphan, account]:
        dynamodb_store.add(event)

    call_command("rekey_visitors")

    new = SessionStore(session.session_key).load()[ANON_KEY]
    assert new.startswith("v:")
    assert [e.movie_id for e in dynamodb_store.history(new)] == [127, 100, 50]
    assert [e.event_id for e in dynamodb_store.history(new)] == [
        e.event_id for e in reversed(mine)
    ]
    assert dynamodb_store.history(old) == []
    assert dynamodb_store.user_keys(prefix="s:") == set()
    assert len(dynamodb_store.user_keys()) == 3  # new, the orphan's new key, u:3
    assert "moved 4 events of 2 visitors" in capsys.readouterr().out
