"""Real-browser fixtures: Playwright for Python driving Debian's chromium (never a
downloaded browser) against Django's live server on 127.0.0.1.

`make test` installs the `chromium` package when /usr/bin/chromium is missing. Run
by hand without it, these tests skip with the reason; on CI (CI set) they fail.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from devservers.browser import CHROMIUM, DESKTOP, chromium_launch
from movie.models import Genre, Movie
from movie.movielens import genres_of

SCREENSHOTS = Path(django_settings.BASE_DIR) / "artifacts" / "screenshots"

# The parity catalogue (movies 1..20, tests/conftest.py) under MovieLens titles and
# genres (the item file's class field, "unknown" for none), so pages and
# screenshots look like the real site.
TITLES = {
    1: ("Toy Story", 1995, "Animation Comedy"),
    2: ("GoldenEye", 1995, "Action Thriller"),
    3: ("Four Rooms", 1995, "Thriller"),
    4: ("Get Shorty", 1995, "Action Comedy"),
    5: ("Copycat", 1995, "Drama Thriller"),
    6: ("Shanghai Triad", 1995, "Drama"),
    7: ("Twelve Monkeys", 1995, "Drama Sci-Fi"),
    8: ("Babe", 1995, "Comedy Drama"),
    9: ("Dead Man Walking", 1995, "Drama"),
    10: ("Richard III", 1995, "Drama War"),
    11: ("Seven (Se7en)", 1995, "Thriller"),
    12: ("Usual Suspects, The", 1995, "Thriller"),
    13: ("Mighty Aphrodite", 1995, "Comedy"),
    14: ("Postino, Il", 1994, "Drama Romance"),
    15: ("Mr. Holland's Opus", 1995, "Drama"),
    16: ("French Twist (Gazon maudit)", 1995, "Comedy Romance"),
    17: ("From Dusk Till Dawn", 1996, "Action Horror"),
    18: ("White Balloon, The", 1995, "Drama"),
    19: ("Good Morning", 1971, "unknown"),  # MovieLens: no genre
    20: ("Angels and Insects", 1995, "Drama Romance"),
}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def live_server(request):
    """pytest-django's live server, bound to 127.0.0.1 (not `localhost`, which may
    resolve to ::1) on a free port unless --liveserver says otherwise."""
    from pytest_django.live_server_helper import LiveServer

    addr = (
        request.config.getvalue("liveserver")
        or os.environ.get("DJANGO_LIVE_TEST_SERVER_ADDRESS")
        or "127.0.0.1:0"
    )
    server = LiveServer(addr)
    yield server
    server.stop()


@pytest.fixture(scope="package")
def browser():
    """One headless chromium for all browser tests."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (requirements-dev.txt)")
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread, so Django would
    # refuse ORM calls from test code (fixtures, flushes) as "async"; they are not.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = chromium_launch(playwright)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class Visitor:
    """One browser context (its own cookies: one visitor) and its page."""

    context: object
    page: object
    base_url: str
    offsite: list[str] = field(default_factory=list)
    # Content-Security-Policy violations, console errors and uncaught exceptions,
    # on any page of the context: `new_visitor` fails the test on any.
    page_errors: list[str] = field(default_factory=list)

    def open(self, path: str):
        self.page.goto(self.base_url + path)
        return self.page

    def snap(self, name: str) -> Path:
        """Save a screenshot into artifacts/screenshots/ (git-ignored)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        # A full-page picture shows posters below the fold too: load them all.
        self.page.evaluate(
            """() => Promise.all([...document.images].map(img => {
              img.loading = "eager";
              return img.complete ? null : new Promise(done => {
                img.onload = img.onerror = done; });
            }))"""
        )
        self.page.screenshot(path=str(path), full_page=True)
        return path


# Runs in every document before its own scripts: each Content-Security-Policy
# violation is handed to the test at once (a list kept on `window` would be lost
# with the document at the next navigation).
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.reportCspViolation(
    `${e.effectiveDirective} refused ${e.blockedURI || "(inline)"}` +
    ` on ${e.documentURI} (${e.sourceFile || "inline"}:${e.lineNumber})`);
});
"""


def _document_status(message) -> bool:
    """Chromium's console line for a page that answered 4xx itself (a test opening
    a missing page on purpose checks its status); a failed image, script or
    stylesheet names its own URL instead and stays an error."""
    page = message.page
    return (
        message.text.startswith("Failed to load resource")
        and page is not None
        and message.location.get("url") == page.url
    )


def _collect_page_errors(context, visitor: Visitor) -> None:
    def violation(text: str) -> None:
        visitor.page_errors.append(f"CSP violation: {text}")

    def console(message) -> None:
        if message.type == "error" and not _document_status(message):
            visitor.page_errors.append(f"console error: {message.text}")

    def uncaught(error) -> None:
        visitor.page_errors.append(f"uncaught: {error.error}")

    context.expose_function("reportCspViolation", violation)
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    context.on("console", console)
    context.on("weberror", uncaught)


@pytest.fixture
def new_visitor(browser, live_server):
    """Factory: a fresh visitor (browser context) with a given viewport. Requests to
    anything but the live server are blocked and recorded in `offsite`. A
    Content-Security-Policy violation, console error or uncaught exception on any
    of its pages fails the test at teardown."""
    visitors = []

    def make(viewport: dict | None = None, **options) -> Visitor:
        context = browser.new_context(viewport=viewport or DESKTOP, **options)
        context.set_default_timeout(10_000)
        visitor = Visitor(context, None, live_server.url)
        local = (live_server.url + "/", "data:", "about:", "blob:")

        def block(route):
            visitor.offsite.append(route.request.url)
            route.abort()

        context.route(lambda url: not url.startswith(local), block)
        _collect_page_errors(context, visitor)
        visitor.page = context.new_page()
        visitors.append(visitor)
        return visitor

    yield make
    for visitor in visitors:
        # Let the last page finish loading (its posters) before the database is
        # flushed under the live server's feet.
        for page in visitor.context.pages:
            page.wait_for_load_state("load")
        visitor.context.close()
    assert [e for v in visitors for e in v.page_errors] == []


@pytest.fixture
def site(parity_site, live_server):
    """The parity catalogue with real titles and genres, served live."""
    genres = {}
    for pk, (title, year, classes) in TITLES.items():
        Movie.objects.filter(pk=pk).update(title=title, year=year)
        names = genres_of(classes)  # as the import reads them
        for name in names:
            if name not in genres:
                genres[name] = Genre.objects.create(name=name, slug=name.lower())
        Movie.objects.get(pk=pk).genres.set([genres[n] for n in names])
    return live_server
