import uuid

import pytest

from movie import selectors, services
from movie.events import EventError


def test_click_is_logged_with_id_and_time(catalogue):
    event = services.click_log(user_key="s:a", movie_id=50)
    assert isinstance(event.event_id, uuid.UUID)
    assert event.ts > 1_700_000_000_000  # epoch milliseconds
    [entry] = selectors.history_for(user_key="s:a")
    assert entry.event == event
    assert entry.movie == catalogue[50]


def test_replayed_event_id_stored_once(catalogue):
    event_id = uuid.uuid4()
    services.click_log(user_key="s:a", movie_id=50, event_id=event_id)
    services.click_log(user_key="s:a", movie_id=50, event_id=event_id)
    assert len(selectors.history_for(user_key="s:a")) == 1


@pytest.mark.parametrize("movie_id", [99999, 0, -3, "50", None, True])
def test_unknown_movie_is_refused_and_nothing_stored(catalogue, movie_id):
    with pytest.raises(services.UnknownMovie):
        services.click_log(user_key="s:a", movie_id=movie_id)
    assert selectors.history_for(user_key="s:a") == []


@pytest.mark.parametrize("rating", [0, 5.5, 3.3, None])
def test_bad_rating_is_refused_and_nothing_stored(catalogue, rating):
    with pytest.raises(EventError):
        services.rating_set(user_key="s:a", movie_id=50, rating=rating)
    assert selectors.history_for(user_key="s:a") == []


def test_delete_only_within_own_history(catalogue):
    mine = services.click_log(user_key="s:a", movie_id=50)
    theirs = services.click_log(user_key="s:b", movie_id=100)
    with pytest.raises(services.UnknownEvent):
        services.history_delete(user_key="s:a", event_id=theirs.event_id)
    services.history_delete(user_key="s:a", event_id=mine.event_id)
    assert selectors.history_for(user_key="s:a") == []
    assert [e.event for e in selectors.history_for(user_key="s:b")] == [theirs]


def test_clear_only_own_history(catalogue):
    services.click_log(user_key="s:a", movie_id=50)
    services.click_log(user_key="s:b", movie_id=100)
    services.history_clear(user_key="s:a")
    assert selectors.history_for(user_key="s:a") == []
    assert len(selectors.history_for(user_key="s:b")) == 1


def test_merge_moves_anonymous_history(catalogue):
    services.click_log(user_key="s:anon", movie_id=50)
    assert services.history_merge(from_key="s:anon", to_key="u:1") == 1
    assert selectors.interacted_movie_ids(user_key="u:1") == [50]
    assert selectors.history_for(user_key="s:anon") == []
