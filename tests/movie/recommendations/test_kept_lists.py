"""The home page's For-you row is kept by its whole input, for every process of
the host: a home page seen again with the same history is not fine-tuned again,
and anything that changes the answer (an event, a rating, "not interested", the
dial, the served model or its fine-tuning settings) is."""

import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from django.core.cache import caches

from movie.recommendations import predictor as served


def for_you(client) -> list[int]:
    return [m.pk for m in client.get("/").context["for_you"]]


def click(client, *movie_ids):
    for movie_id in movie_ids:
        assert client.post(f"/movie/{movie_id}/click/").status_code == 302


def test_the_home_page_seen_again_is_not_fine_tuned_again(
    visitor, parity_site, fine_tunings
):
    click(visitor, 2, 4, 6)
    first = for_you(visitor)
    assert len(first) == 6 and not {2, 4, 6} & set(first)
    assert len(fine_tunings) == 1
    assert for_you(visitor) == first and for_you(visitor) == first
    assert len(fine_tunings) == 1
    # the kept answer is the one the model gives now
    caches["kept_lists"].clear()
    assert for_you(visitor) == first
    assert len(fine_tunings) == 2


def test_the_ngcf_page_fine_tunes_in_every_request(visitor, parity_site, fine_tunings):
    click(visitor, 2, 4, 6)
    for _ in range(3):
        assert visitor.get("/movie/ngcf/").context["recs"].source == "ngcf"
    assert fine_tunings == [10, 10, 10]


@pytest.mark.parametrize(
    ("change", "never_shown"),
    [
        (lambda v: v.post("/movie/8/click/"), 8),
        (lambda v: v.post("/movie/8/not-interested/", {"next": "/"}), 8),
        (lambda v: v.post("/movie/4/rate/", {"rating": "1.0"}), 4),
        (lambda v: v.post("/movie/ngcf/dial/", {"centring": "0.0"}), 4),
    ],
    ids=["click", "not interested", "rating", "dial"],
)
def test_what_changes_the_input_fine_tunes_again(
    visitor, parity_site, fine_tunings, change, never_shown
):
    click(visitor, 2, 4, 6)
    for_you(visitor)
    assert change(visitor).status_code == 302
    row = for_you(visitor)
    assert len(fine_tunings) == 2
    assert never_shown not in row
    caches["kept_lists"].clear()
    assert for_you(visitor) == row  # what the model answers for the new input


def test_a_newly_loaded_model_is_never_answered_from_the_old_ones_lists(
    visitor, parity_site, fine_tunings, settings, tmp_path
):
    click(visitor, 2, 4, 6)
    for_you(visitor)
    # the checkpoint file replaced (a copy: its modification time is new)
    settings.NGCF_CHECKPOINT = shutil.copy(settings.NGCF_CHECKPOINT, tmp_path)
    served._served.clear()  # the process loads the model again
    for_you(visitor)
    assert len(fine_tunings) == 2


def test_the_same_model_loaded_again_is_answered_from_its_kept_rows(
    visitor, parity_site, fine_tunings
):
    """What another process of the host (or this one after a restart) loads
    from the same file finds the rows kept for it."""
    click(visitor, 2, 4, 6)
    first = for_you(visitor)
    served._served.clear()
    assert for_you(visitor) == first
    assert len(fine_tunings) == 1


def test_other_fine_tuning_settings_are_never_answered_from_the_kept_rows(
    visitor, parity_site, fine_tunings, settings
):
    click(visitor, 2, 4, 6)
    for_you(visitor)
    settings.NGCF_LEARNING_RATE = settings.NGCF_LEARNING_RATE / 2
    served._served.clear()  # a process started with the new settings
    for_you(visitor)
    assert len(fine_tunings) == 2


def test_another_visitor_with_the_same_history_is_served_from_the_same_list(
    visitor, other_visitor, parity_site, fine_tunings, one_millisecond
):
    """Also when their clicks share one millisecond: each history reads back in
    the order it was clicked, so both are the same input."""
    click(visitor, 2, 4, 6)
    click(other_visitor, 2, 4, 6)
    assert for_you(visitor) == for_you(other_visitor)
    assert len(fine_tunings) == 1


@pytest.mark.parametrize(
    "failure",
    [sqlite3.OperationalError("database or disk is full"), PermissionError("kept")],
    ids=["disk full", "folder not writable"],
)
def test_kept_rows_that_cannot_be_read_or_written_are_a_miss(
    visitor, parity_site, fine_tunings, monkeypatch, failure
):
    click(visitor, 2, 4, 6)
    first = for_you(visitor)

    def broken(*args, **kwargs):
        raise failure

    cache = caches["kept_lists"]
    monkeypatch.setattr(cache, "get", broken)
    monkeypatch.setattr(cache, "set", broken)
    response = visitor.get("/")
    assert response.status_code == 200
    assert [m.pk for m in response.context["for_you"]] == first
    assert len(fine_tunings) == 2  # fine-tuned in the request, as without a cache


def test_a_write_another_process_holds_up_is_dropped_not_waited_for():
    """The warmer (at the lowest CPU priority) may hold a shard's write lock
    while a page writes its row: the page's write gives up, it does not wait."""
    cache = caches["kept_lists"]
    holders = []
    for shard in cache._cache._shards:
        holder = sqlite3.connect(Path(shard.directory) / "cache.db", timeout=0)
        holder.isolation_level = None
        holder.execute("BEGIN IMMEDIATE")  # the write lock, as a writer holds it
        holders.append(holder)
    try:
        started = time.monotonic()
        assert cache.set("row", [1, 2, 3]) is False
        assert time.monotonic() - started < 1.0
    finally:
        for holder in holders:
            holder.rollback()
            holder.close()
    assert cache.set("row", [1, 2, 3]) is True
    assert cache.get("row") == [1, 2, 3]


def test_the_cache_keeps_its_connections_across_requests(
    visitor, parity_site, fine_tunings
):
    """Django closes every cache when a request ends; the kept rows' cache keeps
    its connections (reopening them costs more than the read), and answers the
    next request as before."""
    click(visitor, 2, 4, 6)
    first = for_you(visitor)
    shards = caches["kept_lists"]._cache._shards
    opened = [shard._local.con for shard in shards]
    caches["kept_lists"].close()
    assert for_you(visitor) == first  # a request, which closes the caches
    assert [shard._local.con for shard in shards] == opened
    assert len(fine_tunings) == 1


def test_a_folder_that_cannot_be_made_is_a_miss(
    visitor, parity_site, fine_tunings, settings, tmp_path
):
    """The cache is made on first use; a KEPT_LISTS_DIR that cannot be made
    (here a file stands there) fails that, and the page fine-tunes."""
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    kept = {**settings.CACHES["kept_lists"], "LOCATION": str(blocked)}
    settings.CACHES = {**settings.CACHES, "kept_lists": kept}
    click(visitor, 2, 4, 6)
    for _ in range(2):
        response = visitor.get("/")
        assert response.status_code == 200
        assert len(response.context["for_you"]) == 6
    assert len(fine_tunings) == 2  # nothing kept: fine-tuned in each page
    assert blocked.read_text() == "not a folder"


def test_an_existing_folder_is_made_private(settings, tmp_path):
    """Its values are pickles the web processes load: only the site's user
    may write there, whoever made the folder."""
    folder = tmp_path / "kept"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    kept = {**settings.CACHES["kept_lists"], "LOCATION": str(folder)}
    settings.CACHES = {**settings.CACHES, "kept_lists": kept}
    caches["kept_lists"].set("row", [1])
    assert folder.stat().st_mode & 0o777 == 0o700
