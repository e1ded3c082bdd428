"""Visitor journeys for locust (`make bench-load`, python -m benchmarks.load).

`Visitor`: a visitor as a browser makes one: the home page and its posters (each
poster once, as a browser keeps them for a week), clicks on posters (the click,
then the movie page it leads to and that page's posters), a rating now and then,
the NGCF page, a genre, a search, and the JSON API. `NgcfReader`: a visitor with
ten clicks who reloads the NGCF page without pause (the throughput bar).

Requests are named by endpoint, not by URL, so each row of the report is one
kind of page. Every answer is checked: a wrong status or a page that is not
what it should be counts as an error.
"""

from __future__ import annotations

import os
import random
import re

from locust import FastHttpUser, between, constant, task

POSTER = re.compile(r'src="(/movie/(\d+)/poster\.svg\?lang=\w+)"')
CLICKS = (50, 100, 181, 258, 1, 288, 286, 294, 300, 121)
GENRES = ("action", "comedy", "drama", "sci-fi", "horror", "film-noir")
SEARCHES = ("star", "godfather", "alien", "toy story", "fargo")
# Seconds a visitor reads a page before the next one (LOAD_THINK_SECONDS=0: none).
THINK = float(os.environ.get("LOAD_THINK_SECONDS", "1"))


class _Site(FastHttpUser):
    abstract = True

    def _page(self, path: str, name: str, must_contain: bytes = b"</html>") -> str:
        with self.client.get(path, name=name, catch_response=True) as response:
            if response.status_code != 200 or must_contain not in response.content:
                response.failure(f"{response.status_code}, no {must_contain!r}")
                return ""
            return response.text

    def _post(self, path: str, name: str, **fields: str) -> None:
        token = next(c.value for c in self.client.cookiejar if c.name == "csrftoken")
        with self.client.post(
            path,
            name=name,
            data={"csrfmiddlewaretoken": token, **fields},
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"{response.status_code}, not a redirect")
            else:
                response.success()

    def _click(self, movie_id: int) -> None:
        self._post(f"/movie/{movie_id}/click/", "click")


class Visitor(_Site):
    wait_time = between(0.5 * THINK, 1.5 * THINK)

    def on_start(self) -> None:
        self.posters_seen: set[str] = set()
        self.shown: list[int] = []
        self.home()

    def _posters(self, html: str) -> None:
        """The page's posters a browser does not have yet."""
        for url, movie_id in POSTER.findall(html):
            self.shown.append(int(movie_id))
            if url not in self.posters_seen:
                self.posters_seen.add(url)
                self._page(url, "poster.svg", must_contain=b"</svg>")
        self.shown = self.shown[-40:]

    @task(4)
    def home(self) -> None:
        self._posters(self._page("/", "home"))

    @task(4)
    def click_a_poster(self) -> None:
        movie_id = random.choice(self.shown or CLICKS)
        self._click(movie_id)
        self._posters(self._page(f"/movie/{movie_id}/", "movie page"))

    @task(1)
    def rate(self) -> None:
        movie_id = random.choice(self.shown or CLICKS)
        rating = random.choice(("5.0", "4.5", "4.0", "3.0", "1.0"))
        self._post(f"/movie/{movie_id}/rate/", "rate", rating=rating)

    @task(3)
    def ngcf(self) -> None:
        self._posters(self._page("/movie/ngcf/", "ngcf page"))

    @task(1)
    def genre(self) -> None:
        self._posters(self._page(f"/genre/{random.choice(GENRES)}/", "genre page"))

    @task(1)
    def search(self) -> None:
        query = random.choice(SEARCHES)
        self._posters(self._page(f"/search/?q={query}", "search page"))

    @task(2)
    def api(self) -> None:
        self._page("/api/recommendations", "api recommendations", b'"recommendations"')
        self._page("/api/history", "api history", b'"events"')


class NgcfReader(_Site):
    wait_time = constant(0)

    def on_start(self) -> None:
        self._page("/", "home")
        for movie_id in CLICKS:
            self._click(movie_id)

    @task
    def ngcf(self) -> None:
        self._page("/movie/ngcf/", "ngcf page", b"Because you clicked")
