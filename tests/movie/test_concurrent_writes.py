"""Many visitors writing at once through the real HTTP stack (gunicorn, several
workers and threads) never get an error and never lose or double an event.

On SQLite this runs against a file database of its own (the in-memory test
database cannot be shared with gunicorn's processes) with the project's settings
(WAL, immediate transactions, busy timeout); on MariaDB against the test database.
"""

import sqlite3
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from benchmarks.event_load import run_load
from benchmarks.servers import gunicorn
from movie.models import ClickEvent, Movie

VISITORS, EVENTS = 16, 20
MOVIE_IDS = list(range(1, 31))


def _sqlite_site(tmp_path):
    path = tmp_path / "site.sqlite3"
    url = f"sqlite:///{path}"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
        cwd=settings.BASE_DIR,
        env={**_env(), "DATABASE_URL": url},
        check=True,
        timeout=300,
    )
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO movie_movie (id, title, year, popularity) VALUES (?, ?, ?, ?)",
            [(m, f"Movie {m}", 1990, 100 - m) for m in MOVIE_IDS],
        )

    def stored() -> int:
        with sqlite3.connect(path) as db:
            return db.execute("SELECT COUNT(*) FROM movie_clickevent").fetchone()[0]

    return url, stored


def _mysql_site():
    Movie.objects.bulk_create(
        Movie(id=m, title=f"Movie {m}", year=1990, popularity=100 - m)
        for m in MOVIE_IDS
    )
    s = connection.settings_dict
    url = f"mysql://{s['USER']}:{s['PASSWORD']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"
    return url, ClickEvent.objects.count


def _env():
    import os

    return {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}


@pytest.mark.slow
def test_concurrent_visitors_lose_and_double_nothing(transactional_db, tmp_path):
    if connection.vendor == "sqlite":
        url, stored = _sqlite_site(tmp_path)
    else:
        url, stored = _mysql_site()
    env = {"DATABASE_URL": url, "EVENT_OUTBOX": "0", "WEB_CONCURRENCY": "2"}
    with gunicorn(env=env, log=tmp_path / "gunicorn.log") as (_, base_url):
        report = run_load(
            base_url, visitors=VISITORS, events=EVENTS, movie_ids=MOVIE_IDS
        )
    assert (report.errors, report.missing, report.duplicated) == (0, 0, 0), (
        report.first_errors,
        (tmp_path / "gunicorn.log").read_text()[-3000:],
    )
    assert stored() == VISITORS * EVENTS
