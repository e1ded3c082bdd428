"""The site learns from its visitors: a clique of visitors who click the same
rarely-rated movies reaches the model through `train_ngcf --include-clicklog
--promote`, and the running process serves the new champion."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from movie import services
from movie.models import Interaction, ModelVersion, Movie
from movie.recommendations.selectors import recommendations_for_movies

RARE = [41, 42, 43, 44]


@pytest.fixture
def clique_site(parity_ratings, settings, tmp_path):
    """The parity world plus four movies rated once each, and eight visitors who
    all clicked those four."""
    settings.NGCF_CHECKPOINT = tmp_path / "ngcf.pt"
    Movie.objects.bulk_create(Movie(id=m, title=f"Rare {m}") for m in RARE)
    Interaction.objects.bulk_create(
        Interaction(ml_user_id=u, movie_id=m, rating=3, timestamp=5000)
        for u, m in zip((2, 4, 6, 8), RARE, strict=True)
    )
    for visitor in range(8):
        for movie_id in RARE:
            services.record_click(user_key=f"v:clique{visitor}", movie_id=movie_id)


def train(**options):
    out = StringIO()
    call_command("train_ngcf", stdout=out, stderr=StringIO(), epochs=40, **options)
    return out.getvalue()


def recommended(movie_ids):
    recs = recommendations_for_movies(movie_ids=movie_ids, k=10)
    return recs.model_version, {item.movie.pk for item in recs.items}


def test_visitors_clicks_reach_the_served_model(clique_site, settings):
    train(promote=True)
    first = ModelVersion.objects.get(status="champion")
    assert first.data_snapshot["source"] == "movielens"
    version, before = recommended([41, 42])
    assert version == first.version and not {43, 44} & before

    settings.MODEL_GATE_TOLERANCE = 0.05  # the tiny world's test split is noisy
    output = train(promote=True, include_clicklog=True)
    assert "8 with at least 3 events become user nodes" in output
    second = ModelVersion.objects.get(status="champion")
    assert second.pk != first.pk and second.data_snapshot["visitor_users"] == 8
    assert second.data_snapshot["visitor_events"] == 32
    assert ModelVersion.objects.get(pk=first.pk).status == "retired"
    version, after = recommended([41, 42])
    assert version == second.version and {43, 44} <= after


def test_deleted_events_and_small_visitors_are_not_trained_on(clique_site):
    for visitor in range(8):
        services.clear_history(user_key=f"v:clique{visitor}")
    services.record_click(user_key="v:small", movie_id=41)
    output = train(include_clicklog=True)
    assert "1 events of 1 visitors, 0 with at least 3" in output


def test_an_unreadable_click_log_registers_nothing(clique_site, settings):
    settings.CLICKLOG_BACKEND = "dynamodb"
    settings.DYNAMODB_TABLE = "missing"
    settings.DYNAMODB_ENDPOINT_URL = "http://127.0.0.1:9"
    settings.AWS_DEFAULT_REGION = "us-east-1"
    with pytest.raises(CommandError, match="click-log store .* cannot be read"):
        train(include_clicklog=True)
    assert not ModelVersion.objects.exists()


def test_the_schedule_retrains_and_promotes_through_the_gate(clique_site, settings):
    import threading

    from movie.recommendations.jobs import TrainJob, retrain_loop

    stop = threading.Event()
    lines = []

    def say(line):
        lines.append(line)
        if line.startswith("scheduled retraining registered"):
            stop.set()

    job = TrainJob(
        out=settings.NGCF_CHECKPOINT, epochs=20, include_clicklog=True, promote=True
    )
    assert retrain_loop(job=job, stop=stop, interval_s=0.01, say=say) == 1
    champion = ModelVersion.objects.get(status="champion")
    assert champion.data_snapshot["visitor_users"] == 8
