"""Promotion and rollback while gunicorn serves concurrent requests: no error,
every response names a version that was champion during the request, and every
worker of the running (not restarted) site serves the new champion within 10 s.
And the running site learns from its visitors: after `train_ngcf
--include-clicklog --promote` it recommends what the clique clicked together."""

import os
import sqlite3
import subprocess
import sys
import time
import uuid

import pytest
import requests
from django.db import connection

from benchmarks.model_swap import manage, site_prepare, swap_run
from benchmarks.servers import ROOT, gunicorn
from tests.movie.recommendations.test_learning_loop import RARE
from tests.worlds import parity_likes


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


def _clique_site(tmp_path):
    """A file database with the parity world, four rarely-rated movies and eight
    visitors who clicked all four (tests/movie/recommendations/
    test_learning_loop.py, served here by gunicorn)."""
    db = tmp_path / "site.sqlite3"
    env = {
        "DATABASE_URL": f"sqlite:///{db}",
        "DATA_DIR": str(tmp_path / "data"),
        "NGCF_CHECKPOINT": str(tmp_path / "ngcf.pt"),
        "MODEL_GATE_TOLERANCE": "0.05",
    }
    manage(env, "migrate", "--no-input", "-v0")
    ratings = [
        (u, m, 4, 1000 + (m * 7 + u) % 40)
        for u, liked in parity_likes(30, 40, first_id=1).items()
        for m in liked
        if (m + u) % 5
    ] + [(u, m, 3, 5000) for u, m in zip((2, 4, 6, 8), RARE, strict=True)]
    clicks = [
        (uuid.uuid4().hex, f"v:clique{v}", m, "click", None, 1_700_000_000_000 + v)
        for v in range(8)
        for m in RARE
    ]
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO movie_movie (id, title, popularity) VALUES (?, ?, 0)",
            [(m, f"Movie {m}") for m in range(1, 45)],
        )
        conn.executemany(
            "INSERT INTO movie_interaction (ml_user_id, movie_id, rating, timestamp)"
            " VALUES (?, ?, ?, ?)",
            ratings,
        )
        conn.executemany(
            "INSERT INTO movie_clickevent (event_id, user_key, movie_id, kind, rating,"
            " ts) VALUES (?, ?, ?, ?, ?, ?)",
            clicks,
        )
    return env


def _recommended(url):
    with requests.Session() as http:
        token = http.get(f"{url}/api/csrf", timeout=30).json()["csrfToken"]
        answer = http.post(
            f"{url}/api/recommendations",
            json={"movie_ids": [41, 42], "k": 10},
            headers={"X-CSRFToken": token, "Referer": f"{url}/"},
            timeout=60,
        ).json()
    return answer["model_version"], {r["movie_id"] for r in answer["recommendations"]}


@pytest.mark.slow
def test_the_running_site_learns_from_its_visitors(transactional_db, tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("serves a file SQLite database of its own")
    env = _clique_site(tmp_path)
    manage(env, "train_ngcf", "--epochs", "40", "--promote")
    # at the configured neighbour weight, as in the learning-loop test: the
    # per-visitor weight fit lifts 44 for a two-movie visitor in this tiny world
    # before any click is trained on
    served = {
        **env,
        "EVENT_OUTBOX": "0",
        "MODEL_SWAP_DELAY": "2",
        "NGCF_NEIGHBOUR_WEIGHT_LR": "0",
    }
    with gunicorn(env=served, log=tmp_path / "gunicorn.log") as (_, url):
        before, shown = _recommended(url)
        assert not {43, 44} & shown
        manage(env, "train_ngcf", "--epochs", "40", "--include-clicklog", "--promote")
        promoted = time.monotonic()
        while (after := _recommended(url))[0] == before:
            assert time.monotonic() - promoted < 10, "new champion not served"
            time.sleep(0.2)
        assert {43, 44} <= after[1]


@pytest.mark.slow
def test_two_trainings_at_once_finish_with_distinct_versions(
    transactional_db, tmp_path
):
    if connection.vendor != "sqlite":
        pytest.skip("serves a file SQLite database of its own")
    env = {**os.environ, **_clique_site(tmp_path)}
    command = [sys.executable, "manage.py", "train_ngcf", "--epochs", "5"]
    runs = [
        subprocess.Popen(
            [*command, "--include-clicklog"] if n else command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for n in range(2)
    ]
    outputs = [run.communicate(timeout=300)[0].decode() for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    with sqlite3.connect(tmp_path / "site.sqlite3") as conn:
        names = [r[0] for r in conn.execute("SELECT version FROM movie_modelversion")]
    assert len(set(names)) == 2
    assert all(any(name in out for out in outputs) for name in names)
