import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command


def test_foldin_report_compares_the_four_methods(tmp_path, parity_ratings):
    out = StringIO()
    call_command(
        "evaluate_foldin",
        out_json=str(tmp_path / "f.json"),
        out_md=str(tmp_path / "f.md"),
        stdout=out,
    )
    report = json.loads((tmp_path / "f.json").read_text())
    assert report["heldout_users"] == 6 and report["threads"] == 1
    assert set(report["methods"]) == {
        "foldin",
        "foldin_ngcf_only",
        "retrain",
        "retrain_ngcf_only",
        "popular",
        "ease",
        "original",
    }
    for row in report["methods"].values():
        assert 0 <= row["recall@20"] <= 1 and 0 <= row["ndcg@20"] <= 1
    # in a parity world the visitor's own parity is everything: fine-tuning finds
    # it, popularity (both parities alike) cannot
    assert (
        report["methods"]["foldin"]["ndcg@20"] > report["methods"]["popular"]["ndcg@20"]
    )
    markdown = (tmp_path / "f.md").read_text()
    assert "| (a) in-request fine-tuning (the site) |" in markdown
    assert markdown in out.getvalue()


def test_foldin_without_data_is_a_command_error(tmp_path, db):
    with pytest.raises(CommandError, match="import_movielens"):
        call_command(
            "evaluate_foldin",
            out_json=str(tmp_path / "f.json"),
            out_md=str(tmp_path / "f.md"),
            stdout=StringIO(),
        )


def test_graded_report_goes_beside_the_ungraded_one(settings, tmp_path, parity_ratings):
    from pytorch_models.foldin_graded import GRADED_METHODS, UNGRADED_METHODS

    settings.DATA_DIR = tmp_path
    out = StringIO()
    call_command("evaluate_foldin", graded=True, seeds=[3], stdout=out)
    reports = tmp_path / "reports"
    # its own default files: the ungraded report is not overwritten
    assert sorted(p.name for p in reports.iterdir()) == [
        "foldin-graded.json",
        "foldin-graded.md",
    ]
    report = json.loads((reports / "foldin-graded.json").read_text())
    assert report["threads"] == 1
    (result,) = report["seeds"]
    assert result["seed"] == 3
    assert result["visitors"] == 6  # every rating is 4 stars: all later relevant
    assert set(result["graded"]) == set(GRADED_METHODS)
    assert set(result["ungraded"]) == set(UNGRADED_METHODS)
    assert result["graded"]["graded"]["ndcg"] > result["graded"]["popular"]["ndcg"]
    markdown = (reports / "foldin-graded.md").read_text()
    assert f"| {GRADED_METHODS['graded']} |" in markdown
    assert markdown in out.getvalue()


@pytest.mark.parametrize("graded", [False, True])
def test_foldin_needs_a_thread(tmp_path, parity_ratings, graded):
    with pytest.raises(CommandError, match="--threads must be at least 1"):
        call_command(
            "evaluate_foldin",
            graded=graded,
            threads=0,
            out_json=str(tmp_path / "f.json"),
            out_md=str(tmp_path / "f.md"),
            stdout=StringIO(),
        )
    assert not (tmp_path / "f.json").exists()
