"""Impressions and clicks through outbox -> Kafka -> consumer -> DynamoDB, then
online metrics and a training that reads the table with the parallel scan."""

import json
from io import StringIO

from django.core.management import call_command
from django.test import Client

from movie.clicklog import get_clicklog_store
from movie.models import ModelVersion
from tests.stack.conftest import consume_until_idle, relay_all


def test_the_stack_carries_impressions_and_trains_on_its_clicks(
    transactional_db, stack_settings, kafka_config, parity_ratings, tmp_path
):
    stack_settings.NGCF_CHECKPOINT = tmp_path / "ngcf.pt"
    for _ in range(4):
        client = Client()
        client.post("/movie/2/click/")  # gives the visitor its key
        client.get("/")  # the popular grid: an impression
        for movie_id in (4, 6, 8):
            client.post(f"/movie/{movie_id}/click/")
    store = get_clicklog_store()
    relay_all()
    stats = consume_until_idle(kafka_config, store)
    assert stats.failed == 0
    keys = store.user_keys(prefix="v:")
    assert len(keys) == 4
    assert all(len(store.history(k)) == 4 for k in keys)  # no impressions in there
    assert sum(len(store.impressions(k)) for k in keys) == 4
    out = StringIO()
    call_command("online_metrics", json=True, stdout=out)
    popular = [r for r in json.loads(out.getvalue()) if r["surface"] == "popular"]
    assert sum(r["impressions"] for r in popular) >= 4
    assert sum(r["clicked_lists"] for r in popular) == 4
    out = StringIO()
    call_command(
        "train_ngcf", epochs=5, include_clicklog=True, stdout=out, stderr=StringIO()
    )
    assert "16 events of 4 visitors, 4 with at least 3 events" in out.getvalue()
    version = ModelVersion.objects.get()
    assert version.data_snapshot["clicklog_backend"] == "dynamodb"
    assert version.data_snapshot["visitor_users"] == 4
    # the file just trained is served (no champion yet): the visitors are its
    # user nodes, their histories read back from DynamoDB
    answer = client.get("/api/recommendations").json()
    assert answer["served_from"] == "trained"
    client.post("/movie/10/click/")
    relay_all()
    assert consume_until_idle(kafka_config, store).failed == 0
    answer = client.get("/api/recommendations").json()
    assert answer["served_from"] == "trained+finetuned"
    assert 10 not in {r["movie_id"] for r in answer["recommendations"]}
