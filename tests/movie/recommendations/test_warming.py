"""The For-you row warmed off the request: a web process names the visitor whose
history it stored, the warmer fine-tunes their row into the host's kept lists,
and their next home page, on any process, is answered from it."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError

from movie import telemetry
from movie.identity import ANON_KEY
from movie.management.commands import warm_for_you
from movie.recommendations import warming
from movie.recommendations.doorbell import (
    Doorbell,
    DoorbellDeaf,
    DoorbellTaken,
    histories_stored,
)
from movie.recommendations.warming import WarmTotals, warm_visitors

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def doorbell():
    bell = Doorbell(settings.FOR_YOU_WARMER_SOCKET)
    yield bell
    bell.close()


@pytest.fixture
def committed(django_capture_on_commit_callbacks, monkeypatch):
    """Each request's commit callbacks run when it ends, as they would outside
    the test's transaction."""
    from django.test import Client

    request = Client.request

    def request_committed(self, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return request(self, **kwargs)

    monkeypatch.setattr(Client, "request", request_committed)


def heard(doorbell: Doorbell) -> list[str]:
    """Every visitor named until the doorbell is quiet for 0.3 s (its reading
    thread may still be taking the last datagrams), each once."""
    named: dict[str, None] = {}
    first = True
    while batch := doorbell.wait(1.0 if first else 0.3):
        named.update(dict.fromkeys(batch))
        first = False
    return list(named)


def click(client, *movie_ids):
    for movie_id in movie_ids:
        assert client.post(f"/movie/{movie_id}/click/").status_code == 302


def for_you(client) -> list[int]:
    return [m.pk for m in client.get("/").context["for_you"]]


def test_the_warmed_row_serves_the_next_home_page_without_fine_tuning(
    visitor, parity_site, fine_tunings, doorbell, committed
):
    click(visitor, 2, 4, 6)
    named = heard(doorbell)
    assert named == [visitor.session[ANON_KEY]]
    totals = WarmTotals()
    warm_visitors(named, totals)
    assert (totals.warmed, totals.failed) == (1, 0)
    assert fine_tunings == [6]
    row = for_you(visitor)
    assert fine_tunings == [6]  # the page fine-tuned nothing
    assert len(row) == 6 and not {2, 4, 6} & set(row)
    caches["kept_lists"].clear()
    assert for_you(visitor) == row  # what the page fine-tunes itself
    assert fine_tunings == [6, 6]


def test_a_visitor_who_moved_the_dial_is_fine_tuned_in_the_request(
    visitor, parity_site, fine_tunings, doorbell, committed
):
    assert visitor.post("/movie/ngcf/dial/", {"centring": "0.0"}).status_code == 302
    click(visitor, 2, 4, 6)
    warm_visitors(heard(doorbell), WarmTotals())
    for_you(visitor)
    assert fine_tunings == [6, 6]  # the warmer knows only the dial's default


def test_a_page_view_names_nobody(visitor, parity_site, doorbell, committed):
    click(visitor, 2, 4)
    heard(doorbell)
    for page in ("/", "/movie/ngcf/", "/movie/2/"):
        assert visitor.get(page).status_code == 200  # impressions recorded
    assert heard(doorbell) == []


def test_deleting_an_event_names_the_visitor(visitor, parity_site, doorbell, committed):
    click(visitor, 2, 4)
    heard(doorbell)
    history = visitor.get("/api/history").json()
    event_id = history["events"][0]["event_id"]
    assert visitor.delete(f"/api/history/{event_id}").status_code == 204
    assert heard(doorbell) == [visitor.session[ANON_KEY]]


@pytest.mark.parametrize("socket_file", ["missing", "left by a dead warmer"])
def test_without_a_warmer_a_click_is_stored_and_answered(
    visitor, parity_site, committed, socket_file
):
    path = Path(settings.FOR_YOU_WARMER_SOCKET)
    if socket_file != "missing":
        dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        dead.bind(str(path))
        dead.close()  # the file stays, nobody reads it
    try:
        click(visitor, 2)
        events = visitor.get("/api/history").json()["events"]
        assert [e["movie_id"] for e in events] == [2]
    finally:
        path.unlink(missing_ok=True)


def test_a_visitor_that_fails_does_not_stop_the_others(db):
    def warm(user_key: str) -> bool:
        if user_key == "v:broken":
            raise RuntimeError("boom")
        return user_key != "v:no-row"

    totals = WarmTotals()
    warm_visitors(["v:broken", "v:a", "v:no-row", "v:b"], totals, warm=warm)
    assert (totals.warmed, totals.without_row, totals.failed) == (2, 1, 1)


def test_the_loop_warms_what_the_doorbell_names_until_stopped(
    parity_site, doorbell, fine_tunings, visitor, committed
):
    click(visitor, 2, 4, 6)
    heard(doorbell)  # the clicks' own datagrams
    stop, totals = threading.Event(), WarmTotals()
    user_key = visitor.session[ANON_KEY]

    def web_process() -> None:  # rings, then stops the loop once it warmed
        histories_stored([user_key])
        for _ in range(500):
            if totals.warmed:
                break
            stop.wait(0.02)
        stop.set()

    ringer = threading.Thread(target=web_process, daemon=True)
    ringer.start()
    warming.warm_until(stop, doorbell, totals, 0.05)  # this thread: the test's DB
    ringer.join()
    assert totals.warmed == 1 and fine_tunings == [6]


def test_the_command_refuses_an_empty_socket_setting(settings):
    settings.FOR_YOU_WARMER_SOCKET = ""
    with pytest.raises(CommandError, match="FOR_YOU_WARMER_SOCKET"):
        call_command("warm_for_you", nice=0)


@pytest.mark.parametrize("settle", [-1.0, float("nan"), 61.0])
def test_the_command_refuses_a_settle_time_out_of_range(settle):
    with pytest.raises(CommandError, match="--settle"):
        call_command("warm_for_you", nice=0, settle=settle)
    assert not Path(settings.FOR_YOU_WARMER_SOCKET).exists()  # nothing bound


class _Bound(Exception):
    """Stops the command where it binds its socket."""


@pytest.fixture
def at_bind(monkeypatch):
    """What the command had done when it made its doorbell: the quiet time it
    gave it, whether the model was loaded and the click log's store made by
    then. The command stops there."""
    from movie.recommendations import predictor

    seen = {}
    stores = []
    store_make = warming.get_clicklog_store

    def store_made():
        stores.append(store_make())
        return stores[-1]

    def doorbell(path, settle_s):
        model = predictor._served.get("state")
        seen.update(settle=settle_s, model=model, stores=len(stores))
        raise _Bound

    monkeypatch.setattr(warming, "get_clicklog_store", store_made)

    monkeypatch.setattr(warm_for_you, "Doorbell", doorbell)
    return seen


def _run_until_bound(**options) -> None:
    with pytest.raises(_Bound):
        call_command("warm_for_you", nice=0, **options)


def test_the_warmer_loads_before_it_listens(parity_site, at_bind):
    """Its first visitor does not wait for the model and the click log's client
    to load, at the lowest priority, while the traffic that named them goes on."""
    _run_until_bound()
    assert at_bind["model"] is not None and not at_bind["model"].problem
    assert at_bind["stores"] == 1


def test_the_warmer_listens_without_a_model(db, settings, at_bind, tmp_path):
    settings.NGCF_CHECKPOINT = tmp_path / "missing.pt"
    out = StringIO()
    _run_until_bound(stderr=out)
    assert at_bind["model"].problem and "no model served yet" in out.getvalue()


def test_a_warmer_that_cannot_load_stops_with_an_error(monkeypatch):
    def cannot(*args, **kwargs):
        raise ImproperlyConfigured("CLICKLOG_BACKEND=dynamodb needs boto3")

    monkeypatch.setattr(warm_for_you, "warmer_prepare", cannot)
    with pytest.raises(CommandError, match="needs boto3"):
        call_command("warm_for_you", nice=0)
    assert not Path(settings.FOR_YOU_WARMER_SOCKET).exists()  # nothing bound


def test_the_quiet_time_follows_the_bus(db, settings, at_bind):
    """The direct bus names a visitor at each event, the Kafka consumer once
    per batch it stores: a quiet time of 0.1 s would warm a visitor who is
    still clicking between two of the consumer's batches."""
    settings.EVENT_BUS = "direct"
    _run_until_bound()
    assert at_bind["settle"] == 0.1
    settings.EVENT_BUS = "kafka"
    settings.KAFKA_BOOTSTRAP_SERVERS = "127.0.0.1:1"  # never connected to
    settings.KAFKA_TOPIC = "clicklog"
    _run_until_bound()
    assert at_bind["settle"] == 0.5
    _run_until_bound(settle=0.2)
    assert at_bind["settle"] == 0.2


def test_a_doorbell_whose_socket_fails_says_so(settings):
    bell = Doorbell(settings.FOR_YOU_WARMER_SOCKET)
    try:
        bell._socket.close()  # as a socket that fails under its reading thread
        with pytest.raises(DoorbellDeaf):
            bell.wait(5.0)
    finally:
        bell.close()


def test_the_command_stops_with_an_error_when_its_doorbell_fails(db, monkeypatch):
    def deaf(*args, **kwargs):
        raise DoorbellDeaf("the socket failed")

    monkeypatch.setattr(warm_for_you, "warm_until", deaf)
    monkeypatch.setattr(warm_for_you, "stop_on_signals", threading.Event)
    with pytest.raises(CommandError, match="stopped listening"):
        call_command("warm_for_you", nice=0)
    assert not Path(settings.FOR_YOU_WARMER_SOCKET).exists()  # let go


def test_a_visitor_named_again_is_warmed_once_their_events_settle(settings):
    """Events within moments of each other are warmed once, after the last:
    a visitor named again goes behind one named since, and waits the quiet
    time from their last naming."""
    settle = 0.6
    bell = Doorbell(settings.FOR_YOU_WARMER_SOCKET, settle_s=settle)
    try:
        histories_stored(["v:a", "v:b"])
        time.sleep(settle / 2)  # v:b is due half a settle before v:a
        named_last = time.monotonic()  # before the reading thread's stamp
        histories_stored(["v:a"])
        seen: dict[str, float] = {}
        for _ in range(10):
            for user_key in bell.wait(5.0):
                assert user_key not in seen  # each once
                seen[user_key] = time.monotonic()
            if len(seen) == 2:
                break
        assert list(seen) == ["v:b", "v:a"]
        assert seen["v:a"] - named_last >= settle
        assert bell.wait(settle + 0.2) == []  # nothing else was waiting
    finally:
        bell.close()


def test_another_process_reads_what_this_one_kept():
    caches["kept_lists"].set("row", [1, 2, 3])
    script = (
        "import django, json; django.setup();"
        "from django.core.cache import caches;"
        "print(json.dumps(caches['kept_lists'].get('row')))"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "pseudorec.settings"}
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [1, 2, 3]


def test_an_event_with_the_clients_id_names_the_visitor(
    visitor, parity_site, doorbell, committed
):
    token = visitor.get("/api/csrf").json()["csrfToken"]
    response = visitor.post(
        "/api/events",
        {"movie_id": 2, "kind": "click", "event_id": str(uuid.uuid4())},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 201
    assert heard(doorbell) == [visitor.session[ANON_KEY]]


def test_logging_in_names_the_account_the_history_moved_to(
    visitor,
    parity_site,
    doorbell,
    committed,
    django_user_model,
    django_capture_on_commit_callbacks,
):
    click(visitor, 2)
    heard(doorbell)
    user = django_user_model.objects.create_user("fan", password="pw-long-enough")
    with django_capture_on_commit_callbacks(execute=True):
        visitor.force_login(user)  # the login merges the visitor's history
    assert heard(doorbell) == [f"u:{user.pk}"]


def test_a_socket_left_by_a_dead_warmer_is_taken_over(settings):
    path = Path(settings.FOR_YOU_WARMER_SOCKET)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dead.bind(str(path))
    dead.close()
    bell = Doorbell(path)
    try:
        histories_stored(["v:a"])
        assert heard(bell) == ["v:a"]
    finally:
        bell.close()
    assert not path.exists()


def test_a_second_warmer_is_refused_and_the_first_keeps_listening(doorbell):
    with pytest.raises(DoorbellTaken):
        Doorbell(doorbell.path)
    histories_stored(["v:a"])
    assert heard(doorbell) == ["v:a"]


def test_a_path_that_is_not_a_socket_is_left_alone(tmp_path):
    path = tmp_path / "not-a-socket"
    path.write_text("keep me")
    with pytest.raises(FileExistsError):
        Doorbell(path)
    assert path.read_text() == "keep me"


def test_many_names_at_once_are_each_read_once_in_order(doorbell):
    """More than the kernel queues (net.unix.max_dgram_qlen): the reading
    thread empties it while nobody waits. Each name is sent twice in a row; a
    wait that took the first copy before the second was read gives the name
    again at the start of the next wait (a change after the one taken), and
    never otherwise."""
    names = [f"v:{n}" for n in range(300)]
    full = telemetry.WARMER_RINGS.labels(outcome="queue full")
    dropped_before = full._value.get()
    for name in names:
        histories_stored([name])
        histories_stored([name])
    batches: list[list[str]] = []
    while batch := doorbell.wait(1.0 if not batches else 0.3):
        batches.append(batch)
    for batch in batches:
        assert batch == list(dict.fromkeys(batch))  # each once within a wait
    seen: list[str] = []
    for batch in batches:
        if seen and batch[0] == seen[-1]:
            batch = batch[1:]  # the second copy, read after the first was taken
        seen += batch
    assert seen == list(dict.fromkeys(seen))  # each once, apart from that
    read = set(seen)
    assert seen == [name for name in names if name in read]  # in the sent order
    dropped = full._value.get() - dropped_before  # datagrams, two per name
    assert 2 * (len(names) - len(seen)) <= dropped  # each lost one was counted


def test_a_full_queue_is_counted_not_raised(settings, tmp_path):
    path = tmp_path / "nobody-reads.sock"
    settings.FOR_YOU_WARMER_SOCKET = str(path)
    deaf = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    deaf.bind(str(path))
    try:
        full = telemetry.WARMER_RINGS.labels(outcome="queue full")
        before = full._value.get()
        histories_stored(f"v:{n}" for n in range(500))
        assert full._value.get() > before
    finally:
        deaf.close()
