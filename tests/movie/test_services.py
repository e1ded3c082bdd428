import uuid

import pytest

from movie import selectors, services
from movie.events import EventError


def test_click_is_logged_with_id_and_time(catalogue):
    event = services.record_click(user_key="s:a", movie_id=50)
    assert isinstance(event.event_id, uuid.UUID)
    assert event.ts > 1_700_000_000_000  # epoch milliseconds
    [entry] = selectors.history_for(user_key="s:a")
    assert entry.event == event
    assert entry.movie == catalogue[50]


def test_replayed_event_id_stored_once(catalogue):
    event_id = uuid.uuid4()
    services.record_click(user_key="s:a", movie_id=50, event_id=event_id)
    services.record_click(user_key="s:a", movie_id=50, event_id=event_id)
    assert len(selectors.history_for(user_key="s:a")) == 1


def test_unknown_movie_is_refused_and_nothing_stored(catalogue):
    with pytest.raises(services.UnknownMovie):
        services.record_click(user_key="s:a", movie_id=99999)
    assert selectors.history_for(user_key="s:a") == []


@pytest.mark.parametrize("movie_id", [0, -3, 2**31, 2**63, "50", None, True, 5.0])
def test_malformed_movie_id_is_refused_and_nothing_stored(catalogue, movie_id):
    with pytest.raises(EventError, match="movie_id"):
        services.record_click(user_key="s:a", movie_id=movie_id)
    assert selectors.history_for(user_key="s:a") == []


@pytest.mark.parametrize("kind", ["delete", "purchase", None, 1, ["click"]])
def test_only_clicks_and_ratings_are_recorded(catalogue, kind):
    with pytest.raises(EventError, match="kind"):
        services.record_event(user_key="s:a", movie_id=50, kind=kind)
    assert selectors.history_for(user_key="s:a") == []


def test_event_id_of_another_visitor_is_a_conflict(catalogue):
    theirs = services.record_click(user_key="v:b", movie_id=50)
    with pytest.raises(services.EventIdConflict):
        services.record_click(user_key="v:a", movie_id=50, event_id=theirs.event_id)
    assert selectors.history_for(user_key="v:a") == []


@pytest.mark.parametrize("rating", [0, 5.5, 3.3, None])
def test_bad_rating_is_refused_and_nothing_stored(catalogue, rating):
    with pytest.raises(EventError):
        services.record_rating(user_key="s:a", movie_id=50, rating=rating)
    assert selectors.history_for(user_key="s:a") == []


def test_delete_only_within_own_history(catalogue):
    mine = services.record_click(user_key="s:a", movie_id=50)
    theirs = services.record_click(user_key="s:b", movie_id=100)
    with pytest.raises(services.UnknownEvent):
        services.delete_event(user_key="s:a", event_id=theirs.event_id)
    services.delete_event(user_key="s:a", event_id=mine.event_id)
    assert selectors.history_for(user_key="s:a") == []
    assert [e.event for e in selectors.history_for(user_key="s:b")] == [theirs]


def test_clear_only_own_history(catalogue):
    services.record_click(user_key="s:a", movie_id=50)
    services.record_click(user_key="s:b", movie_id=100)
    services.clear_history(user_key="s:a")
    assert selectors.history_for(user_key="s:a") == []
    assert len(selectors.history_for(user_key="s:b")) == 1


def test_merge_moves_anonymous_history(catalogue):
    services.record_click(user_key="s:anon", movie_id=50)
    assert services.merge_history(from_key="s:anon", to_key="u:1") == 1
    assert selectors.VisitorHistory(user_key="u:1").signals.movie_ids == [50]
    assert selectors.history_for(user_key="s:anon") == []
