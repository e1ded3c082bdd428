import json
import uuid

import pytest
from django.test import Client

from movie.models import ClickEvent


def post_event(client, body, **extra):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post("/api/events", data, content_type="application/json", **extra)


def test_post_click_answers_201_with_the_stored_event(visitor, catalogue):
    response = post_event(visitor, {"movie_id": 50, "kind": "click"})
    assert response.status_code == 201
    body = response.json()
    assert body["movie_id"] == 50 and body["kind"] == "click"
    assert body["rating"] is None
    uuid.UUID(body["event_id"])
    assert isinstance(body["ts"], int)
    stored = ClickEvent.objects.get()
    assert str(stored.event_id) == body["event_id"]
    assert stored.user_key == body["user_key"]


def test_post_rating(visitor, catalogue):
    response = post_event(visitor, {"movie_id": 50, "kind": "rating", "rating": 4.5})
    assert response.status_code == 201
    assert response.json()["rating"] == 4.5


def test_client_event_id_makes_retries_idempotent(visitor, catalogue):
    event_id = str(uuid.uuid4())
    for _ in range(3):
        body = {"movie_id": 50, "kind": "click", "event_id": event_id}
        assert post_event(visitor, body).status_code == 201
    assert ClickEvent.objects.count() == 1


def test_api_without_csrf_header_is_refused(catalogue):
    client = Client(enforce_csrf_checks=True)
    client.get("/")
    body = json.dumps({"movie_id": 50, "kind": "click"})
    missing = client.post("/api/events", body, content_type="application/json")
    assert missing.status_code == 403
    assert "CSRF" in missing.json()["error"]
    assert ClickEvent.objects.count() == 0


@pytest.fixture
def csrf_client(catalogue):
    client = Client(enforce_csrf_checks=True)
    client.get("/")
    client.token = client.cookies["csrftoken"].value
    return client


def test_api_accepts_the_csrf_header(csrf_client):
    response = post_event(
        csrf_client,
        {"movie_id": 50, "kind": "click"},
        HTTP_X_CSRFTOKEN=csrf_client.token,
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[1, 2]",
        "",
        {"movie_id": 99999, "kind": "click"},
        {"movie_id": "50", "kind": "click"},
        {"movie_id": "abc", "kind": "click"},
        {"movie_id": 50.5, "kind": "click"},
        {"movie_id": True, "kind": "click"},
        {"kind": "click"},
        {"movie_id": 50},
        {"movie_id": 50, "kind": "purchase"},
        {"movie_id": 50, "kind": "delete"},
        {"movie_id": 50, "kind": "rating"},
        {"movie_id": 50, "kind": "rating", "rating": 0},
        {"movie_id": 50, "kind": "rating", "rating": 5.5},
        {"movie_id": 50, "kind": "rating", "rating": 3.7},
        {"movie_id": 50, "kind": "rating", "rating": "4"},
        {"movie_id": 50, "kind": "click", "rating": 4.0},
        {"movie_id": 50, "kind": "click", "event_id": "not-a-uuid"},
        {"movie_id": 50, "kind": "click", "user_key": "s:someone-else"},
    ],
)
def test_bad_event_bodies_get_400_and_store_nothing(visitor, catalogue, body):
    response = post_event(visitor, body)
    assert response.status_code == 400
    assert response.json()["error"]
    assert ClickEvent.objects.count() == 0


def test_wrong_methods_get_json_405(visitor, catalogue):
    for method, url in [
        ("get", "/api/events"),
        ("put", "/api/history"),
        ("post", "/api/history"),
        ("get", f"/api/history/{uuid.uuid4()}"),
    ]:
        response = getattr(visitor, method)(url)
        assert response.status_code == 405, (method, url)
        assert "not allowed" in response.json()["error"]
        assert response["Allow"]


def test_history_lists_own_events_newest_first(visitor, other_visitor, catalogue):
    post_event(visitor, {"movie_id": 50, "kind": "click"})
    post_event(visitor, {"movie_id": 100, "kind": "rating", "rating": 2.5})
    post_event(other_visitor, {"movie_id": 127, "kind": "click"})
    body = visitor.get("/api/history").json()
    assert body["count"] == 2
    assert [(e["movie_id"], e["kind"]) for e in body["events"]] == [
        (100, "rating"),
        (50, "click"),
    ]
    assert body["events"][0]["title"] == "Fargo (1996)"
    assert visitor.get("/api/history?limit=1").json()["count"] == 1
    assert visitor.get("/api/history?limit=0").status_code == 400
    assert visitor.get("/api/history?limit=x").status_code == 400


def test_delete_one_and_all_scoped_to_visitor(visitor, other_visitor, catalogue):
    mine = post_event(visitor, {"movie_id": 50, "kind": "click"}).json()
    post_event(visitor, {"movie_id": 100, "kind": "click"})
    theirs = post_event(other_visitor, {"movie_id": 127, "kind": "click"}).json()

    response = visitor.delete(f"/api/history/{theirs['event_id']}")
    assert response.status_code == 404
    assert other_visitor.get("/api/history").json()["count"] == 1

    assert visitor.delete(f"/api/history/{mine['event_id']}").status_code == 204
    assert visitor.delete(f"/api/history/{mine['event_id']}").status_code == 404
    assert visitor.get("/api/history").json()["count"] == 1
    assert visitor.delete("/api/history/not-a-uuid").status_code == 404
    assert visitor.delete("/api/history/not-a-uuid").json() == {"error": "not found"}

    assert visitor.delete("/api/history").status_code == 204
    assert visitor.get("/api/history").json()["count"] == 0
    assert other_visitor.get("/api/history").json()["count"] == 1


def test_new_visitor_first_api_click_is_kept(catalogue):
    client = Client()
    assert post_event(client, {"movie_id": 50, "kind": "click"}).status_code == 201
    assert client.get("/api/history").json()["count"] == 1
