"""The contract every ClickLog store adapter passes (used by the adapter tests)."""

import uuid

from movie.events import Event
from movie.impressions import Impression


def click(user_key, movie_id, ts, **kw):
    return Event(user_key=user_key, kind="click", movie_id=movie_id, ts=ts, **kw)


def shown(user_key, movie_ids, ts, surface="ngcf", version="v1"):
    return Impression(
        user_key=user_key,
        surface=surface,
        model_version=version,
        movie_ids=tuple(movie_ids),
        request_id="r1",
        ts=ts,
    )


class ClickLogContract:
    """Subclasses provide a `store` fixture returning a fresh, empty store."""

    def test_add_then_history_newest_first(self, store):
        for ts, movie in [(1000, 50), (3000, 100), (2000, 127)]:
            assert store.add(click("s:a", movie, ts)) is True
        assert [e.movie_id for e in store.history("s:a")] == [100, 127, 50]
        assert [e.movie_id for e in store.history("s:a", limit=2)] == [100, 127]
        assert store.history("s:a", limit=0) == []

    def test_events_of_one_millisecond_read_back_in_the_order_they_were_made(
        self, store
    ):
        same = [click("s:a", movie, 1000) for movie in (50, 100, 127, 181)]
        for event in (same[2], same[0], same[3], same[1]):  # stored out of order
            store.add(event)
        store.add(click("s:a", 1, 999))
        history = store.history("s:a")
        assert history[:4] == same[::-1]  # newest first
        assert history[4].movie_id == 1
        assert store.history("s:a") == history
        assert store.history("s:a", limit=3) == history[:3]

    def test_event_round_trips_every_field(self, store):
        event = Event(user_key="u:7", kind="rating", movie_id=50, rating=4.5, ts=123)
        store.add(event)
        assert store.history("u:7") == [event]
        assert store.get("u:7", event.event_id) == event

    def test_replayed_event_id_is_stored_once(self, store):
        event = click("s:a", 50, 1000)
        assert store.add(event) is True
        assert store.add(event) is False
        assert len(store.history("s:a")) == 1

    def test_a_batch_stores_each_event_id_once(self, store):
        """What the consumer writes: replays and an event_id sent again with a
        new ts (a client's retry), inside one batch and across batches."""
        first = click("s:a", 50, 1000)
        retry = Event(
            event_id=first.event_id, user_key="s:a", kind="click", movie_id=50, ts=2000
        )
        # More than one request's worth of reads and writes on DynamoDB.
        others = [click("s:b", 1 + i, 3000 + i) for i in range(130)]
        seen = shown("s:a", [50, 100], 1500)
        batch = [first, retry, seen, *others, first, seen]
        store.apply_batch(batch)
        store.apply_batch([retry, first, seen, others[7]])
        assert store.history("s:a") == [first]
        assert store.history("s:b") == others[::-1]
        assert store.impressions("s:a") == [seen]
        later = click("s:a", 100, 4000)
        store.apply_batch([later, retry])
        assert store.add(retry) is False
        assert store.history("s:a") == [later, first]

    def test_visitors_are_isolated(self, store):
        mine = click("s:a", 50, 1000)
        theirs = click("s:b", 100, 1000)
        store.add(mine)
        store.add(theirs)
        assert store.history("s:a") == [mine]
        assert store.get("s:a", theirs.event_id) is None
        assert store.delete("s:a", theirs.event_id) is False
        assert store.history("s:b") == [theirs]
        assert store.delete_all("s:a") == 1
        assert store.history("s:b") == [theirs]

    def test_delete_one(self, store):
        first, second = click("s:a", 50, 1000), click("s:a", 100, 2000)
        store.add(first)
        store.add(second)
        assert store.delete("s:a", first.event_id) is True
        assert store.history("s:a") == [second]
        assert store.delete("s:a", first.event_id) is False

    def test_delete_all_up_to_a_time_keeps_later_events(self, store):
        for ts in (1000, 2000, 3000):
            store.add(click("s:a", 50, ts))
        assert store.delete_all("s:a", up_to_ts=2000) == 2
        assert [e.ts for e in store.history("s:a")] == [3000]

    def test_apply_handles_every_kind_and_replays(self, store):
        kept = click("s:a", 50, 1000)
        gone = click("s:a", 100, 1500)
        store.apply(kept)
        store.apply(gone)
        delete_one = Event(user_key="s:a", kind="delete", target_event_id=gone.event_id)
        store.apply(delete_one)
        store.apply(delete_one)
        assert store.history("s:a") == [kept]
        clear = Event(user_key="s:a", kind="delete", ts=5000)
        store.apply(clear)
        store.apply(click("s:a", 127, 6000))
        store.apply(clear)  # a replayed delete-all spares the later click
        assert [e.movie_id for e in store.history("s:a")] == [127]

    def test_reassign_moves_everything(self, store):
        events = [click("s:anon", m, ts) for m, ts in [(50, 1), (100, 2)]]
        for event in events:
            store.add(event)
        store.add(click("u:1", 127, 3))
        assert store.reassign("s:anon", "u:1") == 2
        assert store.history("s:anon") == []
        assert [e.movie_id for e in store.history("u:1")] == [127, 100, 50]

    def test_unknown_ids(self, store):
        assert store.get("s:a", uuid.uuid4()) is None
        assert store.history("s:nobody") == []
        assert store.delete_all("s:nobody") == 0

    def test_user_keys_by_prefix(self, store):
        for key in ["s:a", "s:b", "v:c", "u:1"]:
            store.add(click(key, 50, 1000))
        assert store.user_keys(prefix="s:") == {"s:a", "s:b"}
        assert store.user_keys() == {"s:a", "s:b", "v:c", "u:1"}

    def test_impressions_are_kept_apart_from_history(self, store):
        seen = shown("v:a", [50, 100, 127], 1000)
        assert store.add_impression(seen) is True
        assert store.add_impression(seen) is False  # a replay is stored once
        store.apply(shown("v:a", [1], 2000, surface="popular", version="popular"))
        store.add(click("v:a", 100, 1500))
        assert [e.movie_id for e in store.history("v:a")] == [100]
        assert store.get("v:a", seen.event_id) is None
        assert store.user_keys() == {"v:a"}
        assert store.impressions("v:a")[1] == seen
        assert [i.surface for i in store.impressions("v:a")] == ["popular", "ngcf"]
        assert store.impressions("v:b") == []
        assert store.delete_all("v:a") == 1
        assert len(store.impressions("v:a")) == 2

    def test_scans_read_every_visitor_and_keep_kinds_apart(self, store):
        events = [click(f"v:{n % 7}", 1 + n, 1000 + n) for n in range(40)]
        for event in events:
            store.add(event)
        seen = [shown(f"v:{n}", [n + 1], 5000 + n) for n in range(5)]
        for impression in seen:
            store.add_impression(impression)
        assert sorted(store.events_scan(), key=lambda e: e.ts) == events
        assert sorted(store.impressions_scan(), key=lambda i: i.ts) == seen
