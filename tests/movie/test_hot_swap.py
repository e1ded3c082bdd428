"""Promotion and rollback while gunicorn serves concurrent requests: no error,
every response names a version that was champion during the request, and every
worker of the running (not restarted) site serves the new champion within 10 s.
Also: the site picks up a version trained from the click log."""

import pytest
from django.db import connection

from benchmarks.model_swap import site_prepare, swap_run


@pytest.mark.slow
def test_promotion_and_rollback_under_concurrent_requests(
    transactional_db, tmp_path, parity_checkpoint
):
    if connection.vendor != "sqlite":
        pytest.skip("serves a file SQLite database of its own")
    site = site_prepare(tmp_path, parity_checkpoint, n_movies=20)
    log = tmp_path / "gunicorn.log"
    report = swap_run(site, workers=2, clients=4, log=log)
    assert report.requests > 20
    assert (report.errors, report.not_champion) == (0, 0), (
        report.first_errors,
        log.read_text()[-3000:],
    )
    assert len(report.seconds_to_all_workers) == 2
    assert max(report.seconds_to_all_workers) < 10
