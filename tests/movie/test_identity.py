"""The visitor key: opaque, kept in the session, made only on the first write."""

import json

from django.contrib.sessions.models import Session
from django.test import Client

from movie.identity import ANON_KEY
from movie.models import ClickEvent


def click(client, movie_id=50):
    return client.post(
        "/api/events",
        json.dumps({"movie_id": movie_id, "kind": "click"}),
        content_type="application/json",
    )


def test_reading_pages_and_api_creates_no_session(catalogue):
    client = Client()
    for url in ["/", "/movie/50/", "/search/?q=star", "/api/history", "/movie/ngcf/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "sessionid" not in response.cookies, url
    assert client.get("/api/history").json() == {"events": [], "count": 0}
    assert Session.objects.count() == 0


def test_first_write_makes_an_opaque_key_unrelated_to_the_session_key(catalogue):
    client = Client()
    response = click(client)
    assert response.status_code == 201
    user_key = response.json()["user_key"]
    session_key = client.cookies["sessionid"].value
    assert user_key.startswith("v:") and len(user_key) > 20
    assert session_key not in user_key
    assert client.session[ANON_KEY] == user_key
    assert ClickEvent.objects.get().user_key == user_key
    # Later writes keep the key.
    assert click(client, 100).json()["user_key"] == user_key


def test_the_returned_key_does_not_act_as_the_visitor(catalogue):
    victim = Client()
    user_key = click(victim).json()["user_key"]
    attacker = Client()
    for value in (user_key, user_key[2:]):
        attacker.cookies["sessionid"] = value
        assert attacker.get("/api/history").json()["count"] == 0
    assert victim.get("/api/history").json()["count"] == 1


def test_every_visitor_gets_a_different_key(catalogue):
    keys = {click(Client()).json()["user_key"] for _ in range(5)}
    assert len(keys) == 5
