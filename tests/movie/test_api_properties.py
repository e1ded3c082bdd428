"""Property-based tests of every API endpoint: whatever the body, query string or
id, the answer is a JSON 4xx or a success, never a 500, and never HTML."""

import json
import string

from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from movie.models import ClickEvent

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
event_fields = st.fixed_dictionaries(
    {},
    optional={
        "movie_id": json_values | st.sampled_from([50, 100, 0, 2**31, 2**63]),
        "kind": json_values | st.sampled_from(["click", "rating", "delete"]),
        "rating": json_values | st.sampled_from([0.5, 4.0, 5.0, 5.5]),
        "event_id": json_values | st.uuids().map(str),
    },
)
rec_fields = st.fixed_dictionaries(
    {},
    optional={
        "movie_ids": st.lists(json_values | st.integers(1, 200), max_size=5)
        | json_values,
        "k": json_values | st.integers(-5, 200),
    },
)
bodies = (
    event_fields.map(json.dumps)
    | rec_fields.map(json.dumps)
    | json_values.map(json.dumps)
    | st.binary(max_size=64)
    | st.text(max_size=64)
)
content_types = st.sampled_from(
    ["application/json", "text/plain", "application/x-www-form-urlencoded", ""]
)
query_values = st.text(alphabet=string.printable + "²١\x00é", max_size=12)

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def assert_json_answer(response):
    assert response.status_code < 500, response.content[:300]
    assert response["Content-Type"] == "application/json", response.status_code
    if response.status_code >= 400:
        assert response.json()["error"]


@SETTINGS
@given(body=bodies, content_type=content_types)
def test_post_events_never_fails(catalogue, body, content_type):
    before = ClickEvent.objects.count()
    response = Client().post("/api/events", body, content_type=content_type)
    if response.status_code == 204:
        return
    assert_json_answer(response)
    if response.status_code >= 400:
        assert ClickEvent.objects.count() == before


@SETTINGS
@given(body=bodies, content_type=content_types)
def test_post_recommendations_never_fails(catalogue, body, content_type):
    response = Client().post("/api/recommendations", body, content_type=content_type)
    assert_json_answer(response)


@SETTINGS
@given(params=st.dictionaries(st.sampled_from(["k", "limit", "q", "x"]), query_values))
def test_get_endpoints_never_fail(catalogue, params):
    client = Client()
    for url in ["/api/recommendations", "/api/history", "/api/csrf", "/api/suggest"]:
        assert_json_answer(client.get(url, params))


@SETTINGS
@given(
    event_id=st.uuids().map(str) | st.text(max_size=40),
    method=st.sampled_from(["get", "delete", "put", "patch", "post"]),
)
def test_history_event_ids_never_fail(catalogue, event_id, method):
    from urllib.parse import quote

    response = getattr(Client(), method)(f"/api/history/{quote(event_id, safe='')}")
    if response.status_code == 204:
        return
    assert_json_answer(response)


@SETTINGS
@given(
    path=st.sampled_from(["/api/events", "/api/history", "/api/recommendations"]),
    method=st.sampled_from(["put", "patch", "delete", "options", "get", "head"]),
)
def test_every_method_on_every_endpoint_never_fails(catalogue, path, method):
    response = getattr(Client(), method)(path)
    assert response.status_code < 500
    if method != "head" and response.status_code not in (200, 204):
        assert response.json()["error"]
