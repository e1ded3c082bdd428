"""/metrics, the staff dashboard, /api/model and the version in recommendation
responses."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from movie import telemetry
from movie.models import OutboxEvent


def test_metrics_answer_loopback_in_the_prometheus_format(visitor, parity_site):
    visitor.post("/movie/2/click/")
    visitor.get("/movie/ngcf/")
    response = visitor.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    for name in (
        'pseudorec_request_seconds_count{view="movie:ngcf"}',
        "pseudorec_ngcf_model_seconds_count",
        'pseudorec_impressions_total{surface="ngcf"}',
        'pseudorec_clicks_total{kind="click"}',
        'pseudorec_model_version_served{pid="',
    ):
        assert name in text


def _scraped(client) -> dict[str, float]:
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def _waiting(*attempts: int) -> None:
    """Outbox rows, oldest first, with these send attempts; the first 90 s old."""
    for n, tries in enumerate(attempts):
        OutboxEvent.objects.create(
            event_id=uuid.uuid4(), user_key=f"v{n}", payload={}, attempts=tries
        )
    oldest = OutboxEvent.objects.order_by("id")[:1].get()
    OutboxEvent.objects.filter(pk=oldest.pk).update(
        created=timezone.now() - timedelta(seconds=90)
    )


def test_metrics_show_the_outbox_backlog(db):
    """Waiting events, the oldest one's age, the failed ones and the most
    attempts, as the database holds them now."""
    empty = _scraped(Client())
    assert empty["pseudorec_outbox_events"] == 0
    assert empty["pseudorec_outbox_oldest_seconds"] == 0
    assert empty["pseudorec_outbox_failed_events"] == 0
    assert empty["pseudorec_outbox_attempts_max"] == 0
    _waiting(7, 0, 1)
    scraped = _scraped(Client())
    assert scraped["pseudorec_outbox_events"] == 3
    assert 90 <= scraped["pseudorec_outbox_oldest_seconds"] < 120
    assert scraped["pseudorec_outbox_failed_events"] == 2
    assert scraped["pseudorec_outbox_attempts_max"] == 7


def test_metrics_count_the_oldest_events_up_to_a_limit(db, monkeypatch):
    """A large outbox (the bus away for long) is not scanned whole at every
    scrape: the count stops at the limit, the failed events and attempts are
    those of the oldest rows, and the age is the oldest row's."""
    monkeypatch.setattr(telemetry.OutboxBacklog, "SCAN_LIMIT", 2)
    _waiting(7, 0, 9)  # the 9 past the limit
    scraped = _scraped(Client())
    assert scraped["pseudorec_outbox_events"] == 2
    assert 90 <= scraped["pseudorec_outbox_oldest_seconds"] < 120
    assert scraped["pseudorec_outbox_failed_events"] == 1
    assert scraped["pseudorec_outbox_attempts_max"] == 7


def test_metrics_answer_without_the_outbox_when_the_database_fails(db, caplog):
    asked = []

    def gone(execute, sql, params, many, context):
        if OutboxEvent._meta.db_table in sql:
            asked.append(True)
            raise OperationalError("server has gone away")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(gone):
        scraped = _scraped(Client())
    assert asked, "the outbox was not read"
    assert "pseudorec_outbox_events" not in scraped
    assert any(name.startswith("pseudorec_") for name in scraped)
    assert "outbox backlog not read" in caplog.text


@pytest.mark.parametrize("address", ["10.0.0.5", "192.168.1.2", "::ffff:10.0.0.1"])
def test_metrics_refuse_other_addresses(db, address):
    response = Client().get("/metrics", REMOTE_ADDR=address)
    assert response.status_code == 403 and b"pseudorec" not in response.content


def test_the_allowed_addresses_are_a_setting(db, settings):
    settings.METRICS_ALLOWED_IPS = ["10.0.0.5"]
    assert Client().get("/metrics", REMOTE_ADDR="10.0.0.5").status_code == 200
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


def test_dashboard_is_for_staff_only(db, parity_site, visitor):
    visitor.get("/")
    assert visitor.get("/dashboard/").status_code == 302  # to the login page
    assert visitor.get("/dashboard/ctr.svg").status_code == 302
    member = Client()
    member.force_login(User.objects.create_user("ann"))
    assert member.get("/dashboard/").status_code == 403
    assert member.get("/dashboard/ctr.svg").status_code == 403
    staff = Client()
    staff.force_login(User.objects.create_user("boss", is_staff=True))
    page = staff.get("/dashboard/")
    assert page.status_code == 200 and b"Online CTR per version" in page.content
    assert b"popular" in page.content  # the fixture's home page was shown
    plot = staff.get("/dashboard/ctr.svg")
    assert plot["Content-Type"] == "image/svg+xml" and b"<svg" in plot.content


def test_api_model_and_recommendations_name_the_version(visitor, parity_site):
    model = visitor.get("/api/model").json()
    assert model["version"] == "unregistered" and model["status"] is None
    assert model["metrics"]["best_epoch"] >= 1
    recs = visitor.post(
        "/api/recommendations",
        {"movie_ids": [2, 4]},
        content_type="application/json",
    ).json()
    assert recs["model_version"] == "unregistered" and recs["recommendations"]
    empty = visitor.get("/api/recommendations").json()
    assert empty["model_version"] == "popular"
