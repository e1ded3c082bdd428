"""The site learns from its visitors: a clique of visitors who click the same
rarely-rated movies reaches the model through `train_ngcf --include-clicklog
--promote`, and the running process serves the new champion."""

import time
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
    # What the training learns from the click log, at the configured neighbour
    # weight: for a two-movie visitor in this tiny world the per-visitor weight
    # fit (tested in tests/pytorch_models/ngcf) drops it from 4 to 0.4, and the
    # node alone lifts 44 into the top 10 on its even co-raters before any click
    # is trained on.
    settings.NGCF_NEIGHBOUR_WEIGHT_LR = 0.0
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

    from movie.recommendations.jobs import TrainJob, retrain_periodically

    stop = threading.Event()
    lines = []

    def say(line):
        lines.append(line)
        if line.startswith("scheduled retraining registered"):
            stop.set()

    job = TrainJob(
        out=settings.NGCF_CHECKPOINT, epochs=20, include_clicklog=True, promote=True
    )
    assert retrain_periodically(job=job, stop=stop, interval_s=0.01, say=say) == 1
    champion = ModelVersion.objects.get(status="champion")
    assert champion.data_snapshot["visitor_users"] == 8


def _served(user_key):
    from movie.recommendations.selectors import recommendations_for

    recs = recommendations_for(user_key=user_key, k=10)
    return recs.served_from, [item.movie.pk for item in recs.items], recs.items


def _unfitted(user_key, settings):
    """What the visitor is served with no fine-tuning at all (zero epochs)."""
    epochs = settings.NGCF_FINETUNE_EPOCHS
    settings.NGCF_FINETUNE_EPOCHS = 0
    try:
        return _served(user_key)
    finally:
        settings.NGCF_FINETUNE_EPOCHS = epochs


@pytest.fixture
def trained_clique(clique_site, settings):
    settings.MODEL_GATE_TOLERANCE = 1.0  # the gate is not what is tested here
    train(promote=True, include_clicklog=True)


def test_a_visitor_node_is_served_from_its_trained_embedding(trained_clique, settings):
    path, served, items = _served("v:clique0")
    assert path == "trained"
    assert not set(RARE) & set(served) and len(served) == 10
    # no newer event: nothing is fine-tuned, the epochs change nothing
    assert _unfitted("v:clique0", settings) == ("trained", served, items)


def test_a_later_event_of_a_visitor_node_is_fine_tuned_on(trained_clique, settings):
    services.record_click(user_key="v:clique1", movie_id=2)
    path, served, items = _served("v:clique1")
    assert path == "trained+finetuned"
    assert not {2, *RARE} & set(served)
    unfitted_path, _, unfitted = _unfitted("v:clique1", settings)
    assert unfitted_path == "trained"
    assert [i.score for i in items] != [i.score for i in unfitted]


def test_an_unknown_visitor_is_folded_in(trained_clique):
    for movie_id in RARE[:3]:
        services.record_click(user_key="v:stranger", movie_id=movie_id)
    path, served, _ = _served("v:stranger")
    assert path == "fold-in" and not set(RARE[:3]) & set(served)


def test_a_deleted_trained_event_folds_the_visitor_in(trained_clique):
    """The node was trained on the deleted click: it must not steer the list."""
    from movie.selectors import history_for

    event = next(e.event for e in history_for(user_key="v:clique2"))
    services.delete_event(user_key="v:clique2", event_id=event.event_id)
    path, served, _ = _served("v:clique2")
    assert path == "fold-in" and event.movie_id in served
    services.clear_history(user_key="v:clique3")
    services.record_click(user_key="v:clique3", movie_id=41)
    assert _served("v:clique3")[0] == "fold-in"


def test_a_checkpoint_without_visitor_nodes_still_serves(clique_site, settings):
    import torch

    train(include_clicklog=True)  # a candidate only: the file is what is served
    old = torch.load(settings.NGCF_CHECKPOINT, weights_only=True)
    assert old["keyed_users"]["digests"]
    old["format_version"] = 3
    del old["keyed_users"]
    torch.save(old, settings.NGCF_CHECKPOINT)
    path, served, _ = _served("v:clique0")
    assert path == "fold-in" and len(served) == 10


def test_the_artifact_names_visitors_by_digest_only(trained_clique, settings):
    from pytorch_models.checkpoint import key_digest, load_checkpoint

    champion = ModelVersion.objects.get(status="champion")
    artifact = settings.ARTIFACT_DIR / champion.artifact_uri.rsplit("/", 1)[-1]
    blob = artifact.read_bytes()
    assert b"v:clique" not in blob and b"clique0" not in blob
    keyed = load_checkpoint(artifact).keyed_users
    assert sorted(keyed.digests) == sorted(key_digest(f"v:clique{n}") for n in range(8))
    assert keyed.trained_until == champion.data_snapshot["last_event_ts"]


def test_a_visitor_nodes_dislikes_are_not_trained_as_likes(clique_site, settings):
    """Low stars and "not interested" (the newest judgement of each movie) are
    no positives of the node: a trained node must not like what they disliked."""
    from movie.recommendations.predictor import get_predictor
    from pytorch_models.checkpoint import key_digest

    settings.MODEL_GATE_TOLERANCE = 1.0
    services.record_rating(user_key="v:clique4", movie_id=41, rating=1.0)
    services.record_not_interested(user_key="v:clique4", movie_id=42)
    services.record_rating(user_key="v:clique5", movie_id=43, rating=1.0)
    time.sleep(0.002)  # a later millisecond: the newer judgement
    services.record_rating(user_key="v:clique5", movie_id=43, rating=5.0)
    train(promote=True, include_clicklog=True)
    predictor = get_predictor().predictor
    node = predictor.trained_node(key_digest("v:clique4"))
    assert node.movie_ids == {43, 44}
    assert predictor.trained_node(key_digest("v:clique5")).movie_ids == set(RARE)
    assert _served("v:clique4")[0] == "trained"


def test_the_ngcf_page_and_the_for_you_row_serve_a_visitor_node(trained_clique, client):
    """The pages read the history once and hand it on: the trained node still
    serves the visitor there, not a fold-in."""
    from movie.identity import ANON_KEY

    session = client.session
    session[ANON_KEY] = "v:clique0"
    session.save()
    page = client.get("/movie/ngcf/")
    assert page.status_code == 200
    assert page.context["recs"].served_from == "trained"
    assert page.context["recs"].source == "ngcf"
    home = client.get("/")
    assert [m.pk for m in home.context["for_you"]] == _served("v:clique0")[1][:6]
