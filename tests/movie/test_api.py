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


def test_same_event_id_and_content_again_answers_200_with_the_stored_event(
    visitor, catalogue
):
    body = {"movie_id": 50, "kind": "rating", "rating": 4.0, "event_id": None}
    body["event_id"] = str(uuid.uuid4())
    first = post_event(visitor, body)
    assert first.status_code == 201
    for _ in range(2):
        again = post_event(visitor, body)
        assert again.status_code == 200
        assert again.json() == first.json()  # the stored event, its ts included
    assert ClickEvent.objects.count() == 1


@pytest.mark.parametrize(
    "change",
    [{"movie_id": 100}, {"kind": "click", "rating": None}, {"rating": 2.5}],
)
def test_same_event_id_with_other_content_is_409_and_stores_nothing(
    visitor, catalogue, change
):
    body = {"movie_id": 50, "kind": "rating", "rating": 4.0}
    body["event_id"] = str(uuid.uuid4())
    stored = post_event(visitor, body).json()
    response = post_event(visitor, {**body, **change})
    assert response.status_code == 409
    assert "event_id" in response.json()["error"]
    assert [e["event_id"] for e in visitor.get("/api/history").json()["events"]] == [
        stored["event_id"]
    ]
    row = ClickEvent.objects.get()
    assert (row.movie_id, row.kind, row.rating) == (50, "rating", 4.0)


def test_another_visitors_event_id_is_409_and_reveals_nothing(
    visitor, other_visitor, catalogue
):
    event_id = str(uuid.uuid4())
    theirs = {"movie_id": 127, "kind": "click", "event_id": event_id}
    assert post_event(other_visitor, theirs).status_code == 201
    same = post_event(visitor, theirs)  # even with the very same content
    other = post_event(visitor, {**theirs, "movie_id": 50})
    assert same.status_code == other.status_code == 409
    # The answer a conflict with one's own event gets: nothing about theirs.
    expected = f"event_id {event_id} cannot be used for this event; send a new one"
    assert same.json() == other.json() == {"error": expected}
    assert visitor.get("/api/history").json()["count"] == 0
    assert other_visitor.get("/api/history").json()["count"] == 1


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
        "{}",
        '{"movie_id": NaN, "kind": "click"}',
        '{"movie_id": 1e400, "kind": "click"}',
        '{"movie_id": ' + "9" * 5000 + ', "kind": "click"}',
        '{"movie_id": ' + "[" * 20_000 + "]" * 20_000 + "}",
        b"\xff\xfe",
        {"movie_id": 2**63, "kind": "click"},
        {"movie_id": 2**31, "kind": "click"},
        {"movie_id": 0, "kind": "click"},
        {"movie_id": -1, "kind": "click"},
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


def test_csrf_endpoint_hands_an_api_client_its_token(catalogue):
    client = Client(enforce_csrf_checks=True)
    response = client.get("/api/csrf")
    assert response.status_code == 200
    token = response.json()["csrfToken"]
    assert client.cookies["csrftoken"].value
    created = post_event(
        client, {"movie_id": 50, "kind": "click"}, HTTP_X_CSRFTOKEN=token
    )
    assert created.status_code == 201


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "",
    ],
)
def test_bodies_that_are_not_declared_json_get_415(visitor, catalogue, content_type):
    body = json.dumps({"movie_id": 50, "kind": "click"})
    for url in ["/api/events", "/api/recommendations"]:
        response = visitor.post(url, body, content_type=content_type)
        assert response.status_code == 415, (url, content_type)
        assert "application/json" in response.json()["error"]
    assert ClickEvent.objects.count() == 0


def test_a_body_above_the_limit_gets_a_json_413(visitor, catalogue, settings):
    body = json.dumps({"movie_id": 50, "kind": "click", "pad": "x" * 5_000_000})
    for content_type in ["application/json", "application/x-www-form-urlencoded"]:
        response = visitor.post("/api/events", body, content_type=content_type)
        assert response.status_code == 413, content_type
        assert "larger than" in response.json()["error"]
    # With CSRF checks on, the middleware reads a form body before the view does.
    strict = Client(enforce_csrf_checks=True)
    strict.get("/api/csrf")
    form = strict.post(
        "/api/events", body, content_type="application/x-www-form-urlencoded"
    )
    assert form.status_code == 413
    assert "larger than" in form.json()["error"]
    assert ClickEvent.objects.count() == 0


@pytest.mark.parametrize("value", ["²", "١", "0", "10001", "1.5", "-1", "9" * 5000, ""])
def test_bad_k_and_limit_get_400(visitor, catalogue, value):
    for url in ["/api/recommendations?k=", "/api/history?limit="]:
        response = visitor.get(url + value)
        assert response.status_code == 400, url + value
        assert "must be an integer" in response.json()["error"]


@pytest.mark.parametrize("ids", [[2**63], [2**31], [0], [-5], ["50"], [50.0], [None]])
def test_out_of_range_ids_for_recommendations_get_400(visitor, catalogue, ids):
    response = visitor.post(
        "/api/recommendations",
        json.dumps({"movie_ids": ids}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "movie_id" in response.json()["error"]


def test_unknown_api_path_is_a_json_404(visitor):
    response = visitor.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"error": "not found"}


def test_suggest_titles_best_first(visitor, catalogue):
    body = visitor.get("/api/suggest", {"q": "starwars"}).json()
    assert body["suggestions"] == [{"id": 50, "title": "Star Wars (1977)"}]
    body = visitor.get("/api/suggest", {"q": "godfahter", "limit": "1"}).json()
    assert [s["id"] for s in body["suggestions"]] == [127]
    assert visitor.get("/api/suggest", {"q": "  "}).json() == {"suggestions": []}
    assert visitor.get("/api/suggest").json() == {"suggestions": []}


@pytest.mark.parametrize(
    "params", [{"q": "a" * 201}, {"q": "st\x00ar"}, {"q": "x", "limit": "0"}]
)
def test_suggest_bad_input_is_a_json_400(visitor, catalogue, params):
    response = visitor.get("/api/suggest", params)
    assert response.status_code == 400
    assert "error" in response.json()
