import json
from io import StringIO

import pytest
import torch
from django.core.management import CommandError, call_command

from movie.models import Interaction, Movie
from pytorch_models.checkpoint import FORMAT_VERSION, load_checkpoint
from tests.worlds import parity_split

METRIC_KEYS = {"recall@10", "recall@20", "ndcg@10", "ndcg@20", "hit@10", "precision@10"}


def write_tsv(path, rows, header="user_id\titem_id\ttimestamp"):
    path.write_text(
        header + "\n" + "".join("\t".join(map(str, r)) + "\n" for r in rows)
    )
    return path


@pytest.fixture
def tsv_split(tmp_path):
    parts = parity_split(20, 20, n_train=6, first_id=1)
    return {
        name: write_tsv(
            tmp_path / f"{name}.tsv",
            [(u, m, 100 * (1 + k) + m) for u, m in zip(p.users, p.items, strict=True)],
        )
        for k, (name, p) in enumerate(
            zip(("train", "valid", "test"), parts, strict=True)
        )
    }


def train(tmp_path, **options):
    out = StringIO()
    options.setdefault("out", str(tmp_path / "model.pt"))
    call_command("train_ngcf", stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def test_train_on_tsv_files_writes_checkpoint_curve_and_metrics(
    tmp_path, tsv_split, db
):
    metrics_path = tmp_path / "m" / "metrics.json"
    output = train(
        tmp_path,
        epochs=3,
        threads=1,
        seed=1,
        metrics_json=str(metrics_path),
        **{k: str(v) for k, v in tsv_split.items()},
    )
    assert "test recall@20" in output
    metrics = json.loads(metrics_path.read_text())
    assert set(metrics["valid"]) >= METRIC_KEYS and set(metrics["test"]) >= METRIC_KEYS
    assert metrics["epochs"] == 3 and 1 <= metrics["best_epoch"] <= 3
    assert metrics["train_seconds_per_epoch"] > 0
    assert metrics["config"]["seed"] == 1 and metrics["threads"] == 1
    checkpoint = load_checkpoint(tmp_path / "model.pt")
    assert sorted(checkpoint.item_ids.tolist()) == list(range(1, 21))
    assert (tmp_path / "model.png").read_bytes().startswith(b"\x89PNG")
    assert json.loads((tmp_path / "model.json").read_text())["epochs"] == 3


def test_train_on_the_imported_ratings(tmp_path, db):
    movies = [Movie(id=m, title=f"M{m}") for m in range(1, 25)]
    Movie.objects.bulk_create(movies)
    Interaction.objects.bulk_create(
        Interaction(ml_user_id=u, movie_id=m, rating=4, timestamp=u * 100 + m)
        for u in range(1, 16)
        for m in range(1, 25)
        if (m + u) % 3
    )
    output = train(tmp_path, epochs=2)
    assert "split (seed 0): 15 users" in output
    assert load_checkpoint(tmp_path / "model.pt").n_users == 15


def test_if_missing_keeps_an_existing_checkpoint(tmp_path, db):
    (tmp_path / "model.pt").write_bytes(b"existing")
    assert "not retraining" in train(tmp_path, if_missing=True)
    assert (tmp_path / "model.pt").read_bytes() == b"existing"


def test_if_missing_replaces_a_checkpoint_of_an_older_format(
    tmp_path, db, parity_checkpoint
):
    old = torch.load(parity_checkpoint, weights_only=True)
    old["format_version"] = 1
    for key in ("item_neighbour_embeddings", "item_neighbour_scale", "user_mean_final"):
        del old[key]
    torch.save(old, tmp_path / "model.pt")
    Movie.objects.bulk_create(Movie(id=m, title=f"M{m}") for m in range(1, 25))
    Interaction.objects.bulk_create(
        Interaction(ml_user_id=u, movie_id=m, rating=4, timestamp=u * 100 + m)
        for u in range(1, 16)
        for m in range(1, 25)
        if (m + u) % 3
    )
    output = train(tmp_path, if_missing=True, epochs=2)
    assert f"format version 1, older than {FORMAT_VERSION}; retraining" in output
    loaded = load_checkpoint(tmp_path / "model.pt")
    assert loaded.format_version == FORMAT_VERSION and loaded.n_users == 15
    assert loaded.item_neighbour_embeddings is not None
    # and now it is current: kept
    assert "not retraining" in train(tmp_path, if_missing=True)


def test_empty_database_is_a_command_error(tmp_path, db):
    with pytest.raises(CommandError, match="import_movielens"):
        train(tmp_path, epochs=1)


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "empty"),
        ("user_id\titem_id\n", "no interactions"),
        ("user\titem\n1\t2\n", "user_id"),
        ("user_id\tmovie\n1\t2\n", "item_id"),
        ("user_id\titem_id\n1\tx\n", "integer"),
    ],
)
def test_bad_train_file_is_a_command_error(tmp_path, tsv_split, db, content, message):
    (tmp_path / "bad.tsv").write_text(content)
    with pytest.raises(CommandError, match=message):
        train(
            tmp_path,
            epochs=1,
            train=str(tmp_path / "bad.tsv"),
            valid=str(tsv_split["valid"]),
            test=str(tsv_split["test"]),
        )
    assert not (tmp_path / "model.pt").exists()


def test_missing_file_and_partial_options(tmp_path, tsv_split, db):
    with pytest.raises(CommandError):
        train(
            tmp_path,
            train=str(tmp_path / "nope.tsv"),
            valid=str(tsv_split["valid"]),
            test=str(tsv_split["test"]),
        )
    with pytest.raises(CommandError, match="all three"):
        train(tmp_path, train=str(tsv_split["train"]))
    with pytest.raises(CommandError, match="threads"):
        train(tmp_path, threads=0, **{k: str(v) for k, v in tsv_split.items()})


def test_duplicates_single_users_and_unseen_ids_are_reported(tmp_path, tsv_split, db):
    rows = tsv_split["train"].read_text().splitlines()
    # a duplicate row and a user with a single interaction
    (tmp_path / "train2.tsv").write_text("\n".join(rows + [rows[1], "99\t3\t1"]) + "\n")
    valid = tsv_split["valid"].read_text() + "1\t777\t5\n"  # item never in train
    (tmp_path / "valid2.tsv").write_text(valid)
    test = tsv_split["test"].read_text() + "555\t2\t5\n"  # user never in train
    (tmp_path / "test2.tsv").write_text(test)
    output = train(
        tmp_path,
        epochs=1,
        train=str(tmp_path / "train2.tsv"),
        valid=str(tmp_path / "valid2.tsv"),
        test=str(tmp_path / "test2.tsv"),
    )
    assert "duplicate" in output
    assert "valid: dropped 1 rows whose user or item never occurs in train" in output
    assert "test: dropped 1 rows whose user or item never occurs in train" in output
    assert torch.load(tmp_path / "model.pt", weights_only=True)["n_users"] == 21
