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
    assert report["heldout_users"] == 6
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
