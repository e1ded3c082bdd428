"""The contract every EventBus adapter passes: what is published reaches the store.

Subclasses provide fixtures `bus` (the adapter), `store` (a fresh, empty ClickLog
store the bus's events end up in) and `deliver` (a callable that returns once what
was published has been carried into the store: a no-op for `direct`, a consumer
run for `kafka`).
"""

from movie.events import Event


def click(user_key, movie_id, ts):
    return Event(user_key=user_key, kind="click", movie_id=movie_id, ts=ts)


class EventBusContract:
    def test_published_event_reaches_the_store(self, bus, store, deliver):
        event = Event(user_key="s:a", kind="rating", movie_id=50, rating=4.5, ts=10)
        bus.publish(event)
        deliver()
        assert store.history("s:a") == [event]

    def test_a_republished_event_is_stored_once(self, bus, store, deliver):
        event = click("s:a", 50, 1000)
        bus.publish(event)
        bus.publish(event)
        deliver()
        assert store.history("s:a") == [event]

    def test_each_visitor_gets_their_own_events(self, bus, store, deliver):
        mine = [click("s:a", m, ts) for m, ts in [(50, 1), (100, 2), (127, 3)]]
        theirs = [click("s:b", 181, 4)]
        for event in mine + theirs:
            bus.publish(event)
        deliver()
        assert store.history("s:a") == mine[::-1]
        assert store.history("s:b") == theirs

    def test_delete_events_apply_in_order(self, bus, store, deliver):
        kept, gone = click("s:a", 50, 1000), click("s:a", 100, 1500)
        bus.publish(kept)
        bus.publish(gone)
        bus.publish(Event(user_key="s:a", kind="delete", target_event_id=gone.event_id))
        deliver()
        assert store.history("s:a") == [kept]
        later = click("s:a", 127, 6000)
        bus.publish(Event(user_key="s:a", kind="delete", ts=5000))
        bus.publish(later)
        deliver()
        assert store.history("s:a") == [later]
