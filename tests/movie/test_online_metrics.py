"""Attribution and CTR against hand-made event sequences."""

import json
from io import StringIO

from django.core.management import call_command
from hypothesis import given
from hypothesis import strategies as st

from movie.clicklog import get_clicklog_store
from movie.events import Event
from movie.online_metrics import attribute_clicks, compute_metrics
from tests.movie.clicklog_contract import shown

MIN = 60_000
DAY0 = 1_700_000_000_000 - 1_700_000_000_000 % 86_400_000  # a UTC midnight


def click(key, movie_id, ts, kind="click"):
    rating = 4.0 if kind == "rating" else None
    return Event(user_key=key, kind=kind, movie_id=movie_id, ts=ts, rating=rating)


def test_a_click_goes_to_the_latest_list_that_showed_it_within_30_minutes():
    old = shown("v:a", [5, 6, 7], DAY0)
    new = shown("v:a", [7, 8], DAY0 + 10 * MIN, surface="similar")
    unrelated = shown("v:a", [1], DAY0 + 11 * MIN)
    events = [
        click("v:a", 7, DAY0 + 12 * MIN),  # both showed 7: the newer one
        click("v:a", 6, DAY0 + 12 * MIN, kind="rating"),  # only the old one
        click("v:a", 5, DAY0 + 31 * MIN),  # 31 minutes after: not attributed
        click("v:b", 7, DAY0 + 12 * MIN),  # another visitor: not attributed
        click("v:a", 8, DAY0 + 9 * MIN),  # before the list was shown
    ]
    found = attribute_clicks(events, [unrelated, new, old], window_ms=30 * MIN)
    assert [(f.event.movie_id, f.impression, f.position) for f in found] == [
        (7, new, 1),
        (6, old, 2),
    ]


def test_ctr_clicks_by_position_and_share_per_version_surface_and_day():
    impressions = [
        shown("v:a", [1, 2, 3], DAY0),
        shown("v:b", [1, 2, 3], DAY0),
        shown("v:c", [1, 2, 3], DAY0),
        shown("v:d", [4, 5], DAY0, surface="popular", version="popular"),
        shown("v:a", [9], DAY0 + 86_400_000, version="v2"),
    ]
    events = [
        click("v:a", 2, DAY0 + MIN),
        click("v:a", 3, DAY0 + 2 * MIN),  # the same list again: still one list
        click("v:b", 2, DAY0 + MIN),
        click("v:d", 5, DAY0 + MIN),
        click("v:e", 40, DAY0 + MIN),  # not from any list
    ]
    rows = {
        (r.model_version, r.surface, r.day): r
        for r in compute_metrics(events, impressions, window_ms=30 * MIN)
    }
    day0 = "2023-11-14"
    v1 = rows[("v1", "ngcf", day0)]
    assert (v1.impressions, v1.clicked_lists, v1.clicks) == (3, 2, 3)
    assert v1.ctr == 2 / 3 and v1.clicks_by_position == {2: 2, 3: 1}
    assert v1.share_of_clicks == 3 / 5
    popular = rows[("popular", "popular", day0)]
    assert (popular.impressions, popular.clicked_lists, popular.ctr) == (1, 1, 1.0)
    assert popular.share_of_clicks == 0.0
    v2 = rows[("v2", "ngcf", "2023-11-15")]
    assert (v2.impressions, v2.clicked_lists, v2.ctr) == (1, 0, 0.0)


@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(1, 6), st.integers(0, 90))),
    st.lists(
        st.tuples(
            st.integers(0, 3),
            st.lists(st.integers(1, 6), max_size=4, unique=True),
            st.integers(0, 90),
        )
    ),
)
def test_attribution_invariants(clicks, lists):
    impressions = [shown(f"v:{u}", ids, DAY0 + t * MIN) for u, ids, t in lists]
    events = [click(f"v:{u}", m, DAY0 + t * MIN) for u, m, t in clicks]
    for found in attribute_clicks(events, impressions, window_ms=30 * MIN):
        assert found.impression.user_key == found.event.user_key
        assert 0 <= found.event.ts - found.impression.ts <= 30 * MIN
        assert found.impression.movie_ids[found.position - 1] == found.event.movie_id
    for row in compute_metrics(events, impressions, window_ms=30 * MIN):
        assert 0 <= row.clicked_lists <= row.impressions and 0 <= row.ctr <= 1
        assert sum(row.clicks_by_position.values()) == row.clicks


def test_pages_record_impressions_and_the_command_reports_them(visitor, catalogue):
    visitor.get("/")  # no visitor key yet: shown, never attributed
    visitor.post("/movie/100/click/")  # makes the key; not from a keyed list
    visitor.get("/")
    visitor.post("/movie/127/click/")
    output = StringIO()
    call_command("online_metrics", json=True, stdout=output)
    rows = json.loads(output.getvalue())
    popular = next(r for r in rows if r["surface"] == "popular")
    assert popular["impressions"] == 2
    assert popular["clicked_lists"] == 1 and popular["ctr"] == 0.5
    assert {"model_version", "surface", "day"} <= set(popular)
    store = get_clicklog_store()
    key = next(iter(store.user_keys()))
    assert [e.movie_id for e in store.history(key)] == [127, 100]
