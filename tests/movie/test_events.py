import uuid

import pytest

from movie.events import Event, EventError, check_rating


@pytest.mark.parametrize("value", [0.5, 1, 2.5, 5, 5.0])
def test_ratings_in_range_by_half_steps(value):
    assert check_rating(value) == float(value)


@pytest.mark.parametrize(
    "value", [0, 0.25, 5.5, -1, 4.3, "4", None, True, float("nan")]
)
def test_bad_ratings_are_refused(value):
    with pytest.raises(EventError):
        check_rating(value)


def test_event_json_round_trip():
    event = Event(user_key="s:x", kind="rating", movie_id=50, rating=3.5, ts=99)
    assert Event.from_dict(event.to_dict()) == event
    delete = Event(user_key="s:x", kind="delete", target_event_id=uuid.uuid4())
    assert Event.from_dict(delete.to_dict()) == delete


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"user_key": "s:x", "kind": "click", "movie_id": 1},  # no event_id, ts
        {
            "event_id": "nope",
            "user_key": "s:x",
            "kind": "click",
            "movie_id": 1,
            "ts": 1,
        },
        {"event_id": str(uuid.uuid4()), "user_key": "", "kind": "click", "ts": 1},
        {"event_id": str(uuid.uuid4()), "user_key": "s:x", "kind": "buy", "ts": 1},
        {
            "event_id": str(uuid.uuid4()),
            "user_key": "s:x",
            "kind": "click",
            "movie_id": "50",
            "ts": 1,
        },
        {
            "event_id": str(uuid.uuid4()),
            "user_key": "s:x",
            "kind": "click",
            "movie_id": 50,
            "rating": 3.0,
            "ts": 1,
        },
    ],
)
def test_malformed_events_raise_event_error(data):
    with pytest.raises(EventError):
        Event.from_dict(data)
