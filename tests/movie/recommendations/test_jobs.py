import json

import pytest

from movie.recommendations.jobs import TrainJob, evaluate_foldin, train_ngcf
from pytorch_models.checkpoint import load_checkpoint
from pytorch_models.data import DataError


@pytest.mark.parametrize(
    "fields",
    [{"threads": 0}, {"epochs": 0}, {"train": "a.tsv"}],
)
def test_a_bad_train_job_is_a_data_error(tmp_path, fields):
    with pytest.raises(DataError):
        TrainJob(out=tmp_path / "x.pt", **fields)


def test_train_job_writes_checkpoint_curve_and_metrics(tmp_path, parity_ratings):
    out = tmp_path / "ngcf.pt"
    lines = []
    result = train_ngcf(TrainJob(out=out, epochs=2, seed=3), say=lines.append)
    assert load_checkpoint(out).metrics == result.metrics
    assert out.with_suffix(".png").is_file()
    metrics = json.loads(out.with_suffix(".json").read_text())
    assert metrics["epochs"] == result.metrics.epochs == 2
    assert metrics["config"]["seed"] == 3 and metrics["threads"] == 1
    assert any(line.startswith("split (seed 3)") for line in lines)


def test_foldin_job_writes_the_report(tmp_path, parity_ratings):
    report = evaluate_foldin(
        out_json=tmp_path / "r" / "f.json",
        out_markdown=tmp_path / "r" / "f.md",
        say=lambda _: None,
    )
    assert (tmp_path / "r" / "f.md").read_text() == report.markdown()
    data = json.loads((tmp_path / "r" / "f.json").read_text())
    assert data["heldout_users"] == report.heldout_users == 6
    assert data["threads"] == 1
