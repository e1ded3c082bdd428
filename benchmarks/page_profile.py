"""Where a page's milliseconds go: the site's pages rendered in-process (Django's
test client, DEBUG off) on a copy of the site's database, for a visitor with ten
clicks, each millisecond given to exactly one part.

    python -m benchmarks.page_profile --views 20
    python -m benchmarks.page_profile --views 20 --tree ngcf   # pyinstrument's tree
    python -m benchmarks.page_profile --views 100 --pages home home-click home-warmed

`home-click` is the home page right after a new event: before each view (not
timed, not in the parts) the visitor deletes its previous extra click and clicks
a movie it has not clicked, so the For-you row is fine-tuned in every view at a
constant history length, as `ngcf_http --click-first` does over HTTP.
`home-warmed` is the same after the For-you warmer's work for that click (also
not timed): the visitor came back after the warmer kept their new row.

Needs `make model` first (the database with the catalogue and the checkpoint).
The parts are exclusive: SQL inside the impression write counts as the
impression write, SQL run while a template renders (a lazy sidebar) as SQL, a
`{% url %}` inside a template as URL reversal; "template rendering" is what the
templates cost beyond those, "view, middleware" everything else. Only Django's
handler is timed: what runs after the response (the impressions' writes, the
catalogue's read-ahead) is in no part and no time, so "impression write" is
making the impression; the query count takes in every query of the view.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import itertools
import os
import shutil
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from benchmarks.machine import speed_line

ROOT = Path(__file__).resolve().parent.parent
PAGES = {
    "home-new": "/",  # a new visitor each view: no cookie, no history
    "home": "/",
    "home-click": "/",  # a new click before each view (_NewClicks)
    "home-warmed": "/",  # the same, and the warmer's work for it
    "ngcf": "/movie/ngcf/",
    "detail": "/movie/50/",
    "genre": "/genre/sci-fi/",
    "poster": "/movie/50/poster.svg",
}
CLICKS = (50, 100, 181, 258, 1, 288, 286, 294, 300, 121)
PARTS = (
    "model",
    "impression write",
    "SQL",
    "URL reversal",
    "template rendering",
    "view, middleware",
)


class Ledger:
    """Exclusive time per part: entering a part pauses the one it runs inside."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self._stack: list[tuple[str, float]] = []

    def _switch(self) -> float:
        now = time.perf_counter()
        if self._stack:
            part, since = self._stack[-1]
            self.seconds[part] += now - since
        return now

    @contextlib.contextmanager
    def part(self, name: str):
        self.calls[name] += 1
        self._stack.append((name, self._switch()))
        try:
            yield
        finally:
            self._switch()
            self._stack.pop()
            if self._stack:
                self._stack[-1] = (self._stack[-1][0], time.perf_counter())

    def wrap(self, owner: object, attribute: str, name: str) -> None:
        original: Callable = getattr(owner, attribute)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            with self.part(name):
                return original(*args, **kwargs)

        setattr(owner, attribute, timed)

    @property
    def inside(self) -> bool:
        """Whether a part runs (the timed handler, or one inside it)."""
        return bool(self._stack)

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()


def _environment(database: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "pseudorec.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "DATABASE_URL": f"sqlite:///{database}",
            # rows kept by an earlier run would answer this one's views
            "KEPT_LISTS_DIR": str(database.parent / "kept-lists"),
            "FOR_YOU_WARMER_SOCKET": "",
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "TORCH_THREADS": "1",
            "LOG_LEVEL": "WARNING",
        }
    )


def _instrument(ledger: Ledger) -> None:
    import django.template.backends.django as backend
    import django.template.defaulttags as defaulttags
    from django.db import connection

    import movie.services
    from movie.templatetags import movie_extras
    from pytorch_models.ngcf.predictor import NgcfPredictor

    ledger.wrap(NgcfPredictor, "recommend", "model")
    ledger.wrap(NgcfPredictor, "similar", "model")
    ledger.wrap(movie.services, "record_impression", "impression write")
    ledger.wrap(defaulttags.URLNode, "render", "URL reversal")
    with contextlib.suppress(AttributeError):  # the per-process cache, once there
        ledger.wrap(movie_extras, "_reversed", "URL reversal")
    ledger.wrap(backend.Template, "render", "template rendering")

    def sql(execute, sql, params, many, context):
        if not ledger.inside:  # after the response: not the page's time
            return execute(sql, params, many, context)
        with ledger.part("SQL"):
            return execute(sql, params, many, context)

    # Installed on the connection of the thread that serves the test client.
    connection.execute_wrappers.append(sql)


def _visitor():
    from django.test import Client

    client = Client()
    client.get("/")
    for movie_id in CLICKS:
        client.post(f"/movie/{movie_id}/click/")
    return client


class _Pauses:
    """The garbage collector's full (generation 2) collections and their ms."""

    def __init__(self) -> None:
        self.full: list[float] = []
        self._start = 0.0

    def callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        elif info["generation"] == 2:
            self.full.append((time.perf_counter() - self._start) * 1000)


def _collector_pauses() -> _Pauses:
    pauses = _Pauses()
    gc.callbacks.append(pauses.callback)
    return pauses


class _NewClicks:
    """Before each `home-click` view: the visitor's previous extra click deleted
    and a movie it never clicked clicked (ids from 400 on are none of CLICKS),
    so the history keeps its length; with `warm`, the For-you warmer's work for
    them after. What this costs is left out of the ledger."""

    def __init__(self, ledger: Ledger, warm: bool = False) -> None:
        from movie.identity import ANON_KEY
        from movie.recommendations.warming import warm_for_you

        self.ledger = ledger
        self.warm = None
        if warm:  # the visitor's row, as the warmer makes it
            self.warm = lambda client: warm_for_you(client.session[ANON_KEY])
        self.movie_ids = itertools.count(400)
        self.extra: str | None = None  # the event id of the previous one

    def __call__(self, client) -> None:
        seconds, calls = self.ledger.seconds.copy(), self.ledger.calls.copy()
        if self.extra is not None:
            response = client.delete(f"/api/history/{self.extra}")
            assert response.status_code == 204, response.status_code
        body = {"kind": "click", "movie_id": next(self.movie_ids)}
        response = client.post("/api/events", body, "application/json")
        assert response.status_code == 201, response.status_code
        self.extra = response.json()["event_id"]
        if self.warm:
            assert self.warm(client)
        self.ledger.seconds, self.ledger.calls = seconds, calls


def _new_clicks(page: str, ledger: Ledger) -> _NewClicks | None:
    """What comes before each view of the page, if anything."""
    if page in ("home-click", "home-warmed"):
        return _NewClicks(ledger, warm=page == "home-warmed")
    return None


def _measure(
    visitor, path: str, views: int, ledger: Ledger, new_click: _NewClicks | None
) -> dict:
    """`visitor`: the visitor's client, or None for a new visitor each view. Times
    Django's handler (middleware, view, templates), not the test client; with
    `new_click` a new click before each view (not timed)."""
    from django.core.handlers.base import BaseHandler
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):  # warm: templates compiled, model loaded
        (visitor or Client()).get(path)
    ledger.reset()
    walls, cpus, queries = [], [], []
    handle = BaseHandler.get_response

    def timed(handler, request):
        if request.method != "GET":  # the clicks of new_click
            return handle(handler, request)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        with ledger.part("view, middleware"):
            response = handle(handler, request)
        walls.append(time.perf_counter() - wall0)
        cpus.append(time.process_time() - cpu0)
        return response

    BaseHandler.get_response = timed
    pauses = _collector_pauses()
    try:
        for _ in range(views):
            client = visitor or Client()
            if new_click:
                new_click(client)
            with CaptureQueriesContext(connection) as captured:
                response = client.get(path)
            queries.append(len(captured))
            assert response.status_code == 200, (path, response.status_code)
    finally:
        BaseHandler.get_response = handle
        gc.callbacks.remove(pauses.callback)
    return {
        "full collections": pauses.full,
        "walls": walls,
        "cpu": statistics.mean(cpus),
        "queries": statistics.mean(queries),
        "seconds": dict(ledger.seconds),
        "calls": dict(ledger.calls),
    }


def _report(name: str, path: str, views: int, result: dict) -> None:
    ms = sorted(w * 1000 for w in result["walls"])
    p95 = ms[int(0.95 * (len(ms) - 1))]
    print(
        f"\n{name} ({path}): {views} views, mean {statistics.mean(ms):.2f} ms, "
        f"p50 {statistics.median(ms):.2f} ms, p95 {p95:.2f} ms, "
        f"CPU {result['cpu'] * 1000:.2f} ms, {result['queries']:.0f} SQL queries, "
        f"{result['calls'].get('URL reversal', 0) / views:.0f} URLs per view"
    )
    full = result["full collections"]
    print(
        f"full garbage collections: {len(full)}"
        + (f", {max(full):.1f} ms the longest" if full else "")
    )
    print("| part | ms per view | share |")
    print("| --- | ---: | ---: |")
    total = sum(result["seconds"].values())
    for part in PARTS:
        seconds = result["seconds"].get(part, 0.0)
        print(f"| {part} | {seconds * 1000 / views:.2f} | {seconds / total:.0%} |")


def _tree(visitor, path_name: str, views: int) -> None:
    from django.test import Client
    from pyinstrument import Profiler

    for _ in range(3):
        (visitor or Client()).get(PAGES[path_name])
    profiler = Profiler(interval=0.0002)
    new_click = _new_clicks(path_name, Ledger())
    for _ in range(views):
        client = visitor or Client()
        if new_click:
            new_click(client)
        with profiler:
            client.get(PAGES[path_name])
    print(profiler.output_text(color=False, unicode=False, show_all=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=20, help="per page")
    parser.add_argument("--pages", nargs="+", choices=PAGES, default=list(PAGES))
    parser.add_argument("--tree", choices=PAGES, help="print pyinstrument's tree")
    parser.add_argument("--database", type=Path, default=ROOT / "db.sqlite3")
    parser.add_argument(
        "--no-freeze",
        action="store_true",
        help="leave what was loaded to the garbage collector (gunicorn's master "
        "freezes it before forking)",
    )
    args = parser.parse_args()
    print(speed_line())
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "db.sqlite3"
        shutil.copyfile(args.database, database)
        _environment(database)
        import django

        django.setup()
        client = _visitor()
        if args.tree:
            visitor = None if args.tree == "home-new" else client
            _tree(visitor, args.tree, args.views)
            return
        ledger = Ledger()
        _instrument(ledger)
        client.get(PAGES["ngcf"])  # the model loaded, as the master preloads it
        if not args.no_freeze:
            gc.freeze()
        print(
            "in-process, DEBUG off, SQLite copy, torch/BLAS 1 thread, 1 thread, "
            + (
                "loaded objects left to the collector"
                if args.no_freeze
                else "gc.freeze() after loading"
            )
        )
        for name in args.pages:
            visitor = None if name == "home-new" else client
            result = _measure(
                visitor, PAGES[name], args.views, ledger, _new_clicks(name, ledger)
            )
            _report(name, PAGES[name], args.views, result)


if __name__ == "__main__":
    main()
