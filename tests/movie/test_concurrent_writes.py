"""Many visitors writing at once through the real HTTP stack (gunicorn, several
workers and threads) never get an error and never lose or double an event.

On SQLite this runs against a file database of its own (the in-memory test
database cannot be shared with gunicorn's processes) with the project's settings
(WAL, immediate transactions, busy timeout); on MariaDB against the test database.

The same server (gunicorn.conf.py, as `make run` serves the site) is then checked
for DEBUG off, although its environment asks for DEBUG on (as `.env.dev` does):
the project's own error pages, JSON errors under /api/.
"""

import http.client
import json
import sqlite3
import subprocess
import sys
from urllib.parse import urlsplit

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
def test_concurrent_visitors_lose_nothing_and_debug_is_off(transactional_db, tmp_path):
    if connection.vendor == "sqlite":
        url, stored = _sqlite_site(tmp_path)
    else:
        url, stored = _mysql_site()
    # DJANGO_DEBUG=1 as in .env.dev: gunicorn.conf.py must turn it off.
    env = {
        "DATABASE_URL": url,
        "EVENT_OUTBOX": "0",
        "WEB_CONCURRENCY": "2",
        "DJANGO_DEBUG": "1",
    }
    with gunicorn(env=env, log=tmp_path / "gunicorn.log") as (_, base_url):
        report = run_load(
            base_url, visitors=VISITORS, events=EVENTS, movie_ids=MOVIE_IDS
        )
        _assert_debug_off(base_url)
    assert (report.errors, report.missing, report.duplicated) == (0, 0, 0), (
        report.first_errors,
        (tmp_path / "gunicorn.log").read_text()[-3000:],
    )
    assert stored() == VISITORS * EVENTS


def _get(base_url: str, path: str, host: str | None = None) -> tuple[int, str, str]:
    """(status, content type, body) of a GET, with `host` as the Host header."""
    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        headers = {"Host": host} if host else {}
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read().decode()
        return response.status, response.getheader("Content-Type", ""), body
    finally:
        connection.close()


def _assert_debug_off(base_url: str) -> None:
    """DEBUG on would answer these with Django's technical pages: the URL patterns
    on a 404 (HTML under /api/ too), a traceback and the request on a bad Host."""
    status, content_type, html = _get(base_url, "/no-such-page/")
    assert (status, content_type.split(";")[0]) == (404, "text/html"), html[:500]
    assert "Page not found." in html and "URLconf" not in html, html[:500]
    status, content_type, body = _get(base_url, "/api/no-such-endpoint")
    assert (status, content_type) == (404, "application/json"), body[:500]
    assert json.loads(body) == {"error": "not found"}
    status, _, html = _get(base_url, "/", host="evil.example")
    assert status == 400, html[:500]
    assert "Bad request" in html and "DisallowedHost" not in html, html[:500]
