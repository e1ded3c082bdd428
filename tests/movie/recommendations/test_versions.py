"""Model versions: registration, the promotion gate, promotion and rollback."""

import json
import os
import shutil
import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from movie.models import ChampionChange, ModelVersion
from movie.recommendations.jobs import interactions_from_database
from movie.recommendations.predictor import get_predictor
from movie.recommendations.versions import evaluate_gate, register_version
from pytorch_models.data import split_per_user


def run(command, *args, **options):
    out = StringIO()
    call_command(command, *args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


@pytest.fixture
def trained(parity_ratings, settings, tmp_path):
    settings.NGCF_CHECKPOINT = tmp_path / "ngcf.pt"
    run("train_ngcf", epochs=40, promote=True)
    return ModelVersion.objects.get()


def test_first_training_is_registered_and_promoted(trained, settings):
    assert trained.status == "champion"
    assert trained.metrics["test"]["ndcg@20"] > 0.3
    assert trained.data_snapshot["gate_split"]
    stored = settings.ARTIFACT_DIR / f"{trained.version}.pt"
    assert trained.artifact_uri == str(stored) and stored.stat().st_size == trained.size
    assert get_predictor().version == trained.version
    assert ChampionChange.objects.get().reason == "promote"


def poor_candidate_files(tmp_path):
    """TSV files whose test part is the champion's gate split and whose training
    part pairs every user with the wrong parity: a deliberately poor model."""
    split, _ = split_per_user(interactions_from_database(), seed=0)
    users = sorted(set(split.train.users.tolist()))
    wrong = [(u, m) for u in users for m in range(1, 41) if (u + m) % 2][::2]
    files = {}
    for name, rows in (
        ("train", wrong),
        ("valid", list(zip(split.valid.users, split.valid.items, strict=True))),
        ("test", list(zip(split.test.users, split.test.items, strict=True))),
    ):
        path = tmp_path / f"{name}.tsv"
        path.write_text("user_id\titem_id\n" + "".join(f"{u}\t{m}\n" for u, m in rows))
        files[name] = str(path)
    return files


def test_the_gate_refuses_a_poor_candidate(trained, tmp_path):
    with pytest.raises(CommandError, match="gate refused .* below the champion"):
        run("train_ngcf", epochs=5, promote=True, **poor_candidate_files(tmp_path))
    poor = ModelVersion.objects.get(status="candidate")
    assert poor.gate["passed"] is False
    assert ModelVersion.objects.get(status="champion") == trained
    output = run("model_promote", poor.version, force=True)
    assert "is the champion" in output
    assert ModelVersion.objects.get(status="champion") == poor
    assert get_predictor().version == poor.version  # this process swaps


def test_rollback_returns_to_the_previous_champion(trained, tmp_path):
    run("train_ngcf", epochs=5, **poor_candidate_files(tmp_path))
    poor = ModelVersion.objects.get(status="candidate")
    run("model_promote", poor.version, force=True)
    assert "rolled back" in run("model_rollback")
    assert ModelVersion.objects.get(status="champion") == trained
    assert ModelVersion.objects.get(pk=poor.pk).status == "retired"
    assert get_predictor().version == trained.version
    listed = json.loads(run("model_versions", json=True))
    assert [r["status"] for r in listed] == ["retired", "champion"]


def test_promoting_an_unknown_or_corrupt_version_changes_nothing(trained, settings):
    with pytest.raises(CommandError, match="no model version 'nope'"):
        run("model_promote", "nope")
    run("train_ngcf", epochs=40)
    candidate = ModelVersion.objects.get(status="candidate")
    path = settings.ARTIFACT_DIR / f"{candidate.version}.pt"
    os.chmod(path, 0o644)
    path.write_bytes(path.read_bytes()[:-100])
    shutil.rmtree(settings.MODEL_CACHE_DIR, ignore_errors=True)
    with pytest.raises(CommandError, match="cannot be served: .* sha256"):
        run("model_promote", candidate.version, force=True)
    assert ModelVersion.objects.get(status="champion") == trained
    with pytest.raises(CommandError, match="already the champion"):
        run("model_promote", trained.version)


def test_a_champion_whose_artifact_vanished_keeps_the_served_model(
    trained, settings, caplog
):
    served = get_predictor()
    run("train_ngcf", epochs=40)
    candidate = ModelVersion.objects.get(status="candidate")
    run("model_promote", candidate.version, force=True)
    # Another host promoted it; here the artifact is gone before this process
    # fetched it.
    (settings.ARTIFACT_DIR / f"{candidate.version}.pt").unlink()
    shutil.rmtree(settings.MODEL_CACHE_DIR)
    assert get_predictor() is served
    assert "cannot load NGCF model" in caplog.text


def test_rollback_without_history_is_a_command_error(db):
    with pytest.raises(CommandError, match="no earlier champion"):
        run("model_rollback")
    assert "no model versions yet" in run("model_versions")


def test_if_missing_registers_an_existing_checkpoint_once(
    db, settings, tmp_path, parity_checkpoint
):
    path = shutil.copy(parity_checkpoint, tmp_path / "ngcf.pt")
    settings.NGCF_CHECKPOINT = path
    output = run("train_ngcf", out=str(path), if_missing=True)
    assert "registered" in output
    version = ModelVersion.objects.get(status="champion")
    assert ChampionChange.objects.get().reason == "first"
    run("train_ngcf", out=str(path), if_missing=True)
    assert ModelVersion.objects.get() == version
    assert get_predictor().version == version.version


def test_the_gate_needs_the_same_gate_split(trained):
    other = ModelVersion(
        version="x", metrics=trained.metrics, data_snapshot={"gate_split": "other"}
    )
    result = evaluate_gate(candidate=other, champion=trained)
    assert not result.passed and "different gate splits" in result.reason
    assert evaluate_gate(candidate=trained, champion=None).passed


def test_two_registrations_at_once_get_distinct_versions(
    transactional_db, tmp_path, parity_checkpoint
):
    if connection.vendor == "sqlite":
        # The in-memory test database is not the site's file database; on
        # SQLite two trainings run as processes (tests/movie/test_hot_swap.py).
        pytest.skip("threads on one in-memory SQLite database")
    names, errors = [], []

    def register():
        try:
            version = register_version(
                checkpoint=parity_checkpoint,
                metrics={},
                data_snapshot={},
                training_config={},
            )
            names.append(version.version)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=register) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(set(names)) == 4


def test_a_promotion_takes_effect_after_the_delay(trained, settings, tmp_path):
    from django.utils import timezone

    from movie.recommendations import predictor

    run("train_ngcf", epochs=5, **poor_candidate_files(tmp_path))
    candidate = ModelVersion.objects.get(status="candidate")
    settings.MODEL_SWAP_DELAY = 600
    run("model_promote", candidate.version, force=True)
    predictor._served.clear()  # a process that starts now
    assert get_predictor().version == trained.version  # still in effect
    assert predictor._served["next"].state.version == candidate.version  # loaded
    ChampionChange.objects.filter(version=candidate).update(at=timezone.now())
    predictor._served.clear()
    assert get_predictor().version == candidate.version


def test_the_preload_before_a_fork_starts_no_watcher(trained, settings):
    """The gunicorn master preloads the champion and then forks the workers: a
    watcher thread of the master could be mid-query at the fork and hand the
    worker SQLite's lock state. `get_predictor` in a serving process does start
    it."""
    from movie.recommendations import predictor

    settings.MODEL_SWAP_INTERVAL = 3600
    predictor._watcher.clear()
    try:
        assert predictor.preload_predictor().version == trained.version
        assert "thread" not in predictor._watcher
        assert not any(t.name == "model-watcher" for t in threading.enumerate())
        get_predictor()
        assert predictor._watcher["thread"].is_alive()
    finally:
        if "stop" in predictor._watcher:
            predictor._watcher["stop"].set()
            predictor._watcher["thread"].join()
        predictor._watcher.clear()
