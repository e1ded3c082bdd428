"""How the Kafka consumer cuts a poll into units that store threads apply in
parallel (no broker needed: the cut is a pure function of the poll)."""

from types import SimpleNamespace

from movie.eventbus.consumer import _units


def _items(user_key: str, n: int, kind: str = "click") -> list:
    return [
        (("clicks", 0), offset, SimpleNamespace(user_key=user_key, kind=kind))
        for offset in range(n)
    ]


def test_a_visitors_events_stay_in_one_unit():
    """Two copies of one event_id in two parallel units could both find no id
    marker: a visitor is never split, even across the batch limit."""
    by_visitor = {f"v:{i}": _items(f"v:{i}", 3) for i in range(30)}
    by_visitor["v:big"] = _items("v:big", 250)
    units = _units(by_visitor, limit=100)
    owners = {}
    for index, unit in enumerate(units):
        for _, _, event in unit:
            assert owners.setdefault(event.user_key, index) == index
    assert sum(len(u) for u in units) == 30 * 3 + 250
    assert all(len(u) <= 100 for u in units if len(u) != 250)


def test_many_small_visitors_share_units_and_a_delete_gets_its_own():
    by_visitor = {f"v:{i}": _items(f"v:{i}", 1) for i in range(250)}
    by_visitor["v:del"] = _items("v:del", 2) + _items("v:del", 1, kind="delete")
    units = _units(by_visitor, limit=100)
    assert [len(u) for u in units] == [100, 100, 50, 3]
    assert {e.user_key for _, _, e in units[-1]} == {"v:del"}


def test_a_stored_poll_rings_the_warmer_for_its_visitors_only(settings):
    """Visitors whose events the store took are named to the For-you warmer;
    one whose write failed (retried later) and an impression's visitor are not."""
    import threading
    from collections import namedtuple

    from movie.eventbus.consumer import ConsumeStats, _apply_batch
    from movie.eventbus.kafka import event_encode
    from movie.events import Event
    from movie.impressions import Impression
    from movie.recommendations.doorbell import Doorbell

    class Store:
        batch_limit = 100

        def apply_batch(self, events):
            pass

        def apply(self, event):  # v:down's delete, in a unit of its own
            raise OSError("table unavailable")

    messages = [
        Event(user_key="v:a", kind="click", movie_id=1),
        Event(user_key="v:b", kind="click", movie_id=2),
        Event(user_key="v:down", kind="delete"),
        Impression(
            user_key="v:seen",
            surface="ngcf",
            model_version="v1",
            movie_ids=(1, 2),
            request_id="r",
        ),
    ]
    records = [
        SimpleNamespace(offset=n, value=event_encode(m)[1])
        for n, m in enumerate(messages)
    ]
    bell = Doorbell(settings.FOR_YOU_WARMER_SOCKET)
    try:
        consumer = SimpleNamespace(seek=lambda tp, offset: None)
        ok = _apply_batch(
            {namedtuple("TopicPartition", "topic partition")("clicks", 0): records},
            consumer,
            Store(),
            ConsumeStats(),
            threading.Event(),
            None,
        )
        assert not ok  # v:down is retried from its offset
        named: list[str] = []  # until quiet: the reading thread may lag
        while batch := bell.wait(0.3 if named else 1.0):
            named += batch
        assert sorted(named) == ["v:a", "v:b"]
    finally:
        bell.close()
