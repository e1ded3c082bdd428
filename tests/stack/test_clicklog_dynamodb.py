import uuid

import pytest

from movie.clicklog.dynamodb import _to_item
from movie.events import Event
from tests.movie.clicklog_contract import ClickLogContract, click


class TestDynamoDBClickLog(ClickLogContract):
    """The SQL store's contract, against moto_server."""

    @pytest.fixture
    def store(self, dynamodb_store):
        return dynamodb_store


def test_same_event_id_with_another_ts_is_still_a_replay(dynamodb_store):
    first = click("s:a", 50, 1000)
    again = Event(
        event_id=first.event_id, user_key="s:a", kind="click", movie_id=50, ts=2000
    )
    assert dynamodb_store.add(first) is True
    assert dynamodb_store.add(again) is False
    assert dynamodb_store.history("s:a") == [first]


def _bulk_add(store, events):
    for start in range(0, len(events), 25):
        store.client.batch_write_item(
            RequestItems={
                store.table: [
                    {"PutRequest": {"Item": _to_item(e)}}
                    for e in events[start : start + 25]
                ]
            }
        )


def test_a_long_history_is_read_page_after_page(dynamodb_store):
    events = [click("s:fan", 1 + i % 1682, 10_000 + i) for i in range(5000)]
    _bulk_add(dynamodb_store, events)
    _bulk_add(dynamodb_store, [click("s:other", 50, 20_000)])
    history = dynamodb_store.history("s:fan")
    assert len(history) == 5000  # five pages of page_size 1000
    assert history == events[::-1]
    assert dynamodb_store.history("s:fan", limit=1500) == events[::-1][:1500]
    assert dynamodb_store.delete_all("s:fan", up_to_ts=10_000 + 1199) == 1200
    assert dynamodb_store.history("s:fan", limit=2)[-1] == events[-2]
    assert dynamodb_store.get("s:fan", events[1199].event_id) is None
    assert dynamodb_store.get("s:fan", events[1200].event_id) == events[1200]
    assert dynamodb_store.history("s:other") != []


def test_keys_sort_by_time_whatever_the_digit_count(dynamodb_store):
    old, new = click("s:a", 50, 999), click("s:a", 100, 1_700_000_000_000)
    dynamodb_store.add(new)
    dynamodb_store.add(old)
    assert dynamodb_store.history("s:a") == [new, old]
    assert dynamodb_store.get("s:a", uuid.uuid4()) is None


def test_transient_errors_are_retried_with_backoff(dynamodb_store):
    retries = dynamodb_store.client.meta.config.retries
    assert retries["mode"] == "standard" and retries["total_max_attempts"] >= 5
