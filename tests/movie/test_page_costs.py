"""What a page costs the server: one read of the click log, posters from memory,
URLs reversed once per process; and the cheaper answers are the same answers."""

import re

from django.db import connection
from django.template import engines
from django.test import Client
from django.test.utils import CaptureQueriesContext

from movie import page_slots, views
from movie.models import Genre, Movie
from movie.templatetags import movie_extras


def _reads_of(table: str, queries) -> int:
    quoted = f"FROM {connection.ops.quote_name(table)}"  # "t" on SQLite, `t` on MySQL
    return sum(quoted in q["sql"] for q in queries)


def test_a_page_reads_the_click_log_once(visitor, catalogue):
    for movie_id in (50, 100, 127):
        visitor.post(f"/movie/{movie_id}/click/")
    visitor.post("/movie/181/not-interested/")
    for url in ["/", "/movie/50/", "/movie/ngcf/", "/genre/drama/", "/search/?q=s"]:
        with CaptureQueriesContext(connection) as queries:
            page = visitor.get(url)
        assert page.status_code == 200, url
        assert _reads_of("movie_clickevent", queries) == 1, url
    # and what it read still shapes the page: marks, the sidebar, the exclusion
    home = visitor.get("/").content.decode()
    assert "mark-clicked" in home and "Delete all" in home
    assert "/movie/181/poster.svg" not in home


def test_a_page_without_a_visitor_key_reads_no_click_log(catalogue):
    with CaptureQueriesContext(connection) as queries:
        assert Client().get("/").status_code == 200
    assert _reads_of("movie_clickevent", queries) == 0


def test_posters_come_from_memory_once_the_table_is_read(catalogue):
    client = Client()
    first = client.get("/movie/50/poster.svg")
    with CaptureQueriesContext(connection) as queries:
        for movie_id in (50, 100, 127, 181, 1):
            for lang in ("en", "ko"):
                response = client.get(f"/movie/{movie_id}/poster.svg?lang={lang}")
                assert response.status_code == 200
                assert response["Content-Type"] == "image/svg+xml"
    assert len(queries) == 0
    assert client.get("/movie/50/poster.svg").content == first.content
    assert b"The Godfather" in client.get("/movie/127/poster.svg").content


def test_a_poster_from_memory_is_the_one_the_view_renders(catalogue, rf):
    for movie_id in (50, 127, 1):
        for lang in ("en", "ko"):
            url = f"/movie/{movie_id}/poster.svg?lang={lang}"
            remembered = Client().get(url)
            rendered = views.poster(rf.get(url), movie_id=movie_id)
            assert remembered.content == rendered.content
            assert remembered["ETag"] == rendered["ETag"]
            assert remembered["Cache-Control"] == rendered["Cache-Control"]


def test_a_movie_newer_than_the_table_gets_its_poster_from_the_view(catalogue):
    client = Client()
    client.get("/movie/50/poster.svg")  # the table is read
    Movie.objects.bulk_create([Movie(id=999, title="Brand New", year=2001)])
    response = client.get("/movie/999/poster.svg")  # bulk_create: no signal
    assert response.status_code == 200 and b"Brand New" in response.content
    assert client.get("/movie/4242/poster.svg").status_code == 404


def test_a_saved_movie_changes_its_poster_at_once(catalogue):
    client = Client()
    assert b"Fargo" in client.get("/movie/100/poster.svg").content
    movie = Movie.objects.get(pk=100)
    movie.title = "Fargo Redux"
    movie.save()
    assert b"Fargo Redux" in client.get("/movie/100/poster.svg").content


def test_a_poster_from_memory_still_answers_304_and_head(catalogue):
    client = Client()
    etag = client.get("/movie/50/poster.svg")["ETag"]
    assert client.get("/movie/50/poster.svg", HTTP_IF_NONE_MATCH=etag).status_code == (
        304
    )
    head = client.head("/movie/50/poster.svg")
    assert head.status_code == 200 and head.content == b""
    assert client.post("/movie/50/poster.svg").status_code == 405


def test_cached_url_is_the_url_tag_and_reverses_once(catalogue, monkeypatch):
    engine = engines["django"]
    ours = engine.from_string(
        "{% load movie_extras %}{% cached_url 'movie:click' 50 %} "
        "{% cached_url 'movie:genre' 'sci-fi' %} {% cached_url 'movie:home' %}"
    )
    django_s = engine.from_string(
        "{% url 'movie:click' 50 %} {% url 'movie:genre' 'sci-fi' %} "
        "{% url 'movie:home' %}"
    )
    assert ours.render({}) == django_s.render({}) == "/movie/50/click/ /genre/sci-fi/ /"
    calls = []
    real = movie_extras.reverse
    monkeypatch.setattr(
        movie_extras, "reverse", lambda *a, **k: calls.append(a) or real(*a, **k)
    )
    movie_extras._reversed.cache_clear()
    for _ in range(5):
        ours.render({})
    assert len(calls) == 3


def _genre_bar(page) -> str:
    html = page.content.decode()
    start = html.index('<nav class="genres"')
    return html[start : html.index("</nav>", start)]


def test_what_pages_keep_of_the_catalogue_follows_a_save(visitor, catalogue):
    # `visitor` saw a page before `catalogue` saved its genres: none kept since
    assert "Drama</a>" in _genre_bar(visitor.get("/"))
    genre = Genre.objects.get(slug="drama")
    genre.name = "Western"
    genre.save()
    movie = Movie.objects.get(pk=100)
    movie.title = "Fargo Redux"
    movie.save()
    home = visitor.get("/")
    assert "Western</a>" in _genre_bar(home) and "Drama</a>" not in _genre_bar(home)
    html = home.content.decode()
    assert "Open Fargo Redux (1996)" in html and "Open Fargo (1996)" not in html


def test_a_stale_poster_table_is_read_again_keeping_unchanged_posters(
    catalogue, settings
):
    from movie.poster_cache import POSTERS

    client = Client()
    client.get("/movie/50/poster.svg")
    client.get("/movie/100/poster.svg")
    kept = POSTERS._posters[(50, "en")]
    Movie.objects.filter(pk=100).update(title="Fargo Again")  # no signal
    settings.CATALOGUE_CACHE_SECONDS = 0
    assert b"Fargo Again" in client.get("/movie/100/poster.svg").content
    assert POSTERS._posters[(50, "en")] is kept  # not rendered again


def _form_tokens(html: str) -> set[str]:
    return set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]*)"', html))


def test_cards_kept_for_every_visitor_carry_each_visitors_token_and_path(
    catalogue,
):
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first_home = first.get("/").content.decode()
    with CaptureQueriesContext(connection) as queries:
        second_home = second.get("/?page=1").content.decode()
    assert _reads_of("movie_movie", queries) == 0  # the kept page and cards
    tokens = _form_tokens(second_home)
    assert len(tokens) == 1 and tokens != _form_tokens(first_home)
    assert page_slots.CSRF_SLOT not in second_home
    assert page_slots.NEXT_SLOT not in second_home
    assert 'name="next" value="/?page=1"' in second_home
    assert 'name="next" value="/"' in first_home
    # the token in the page is the one this visitor's POST needs
    (token,) = tokens
    response = second.post("/movie/50/click/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert _form_tokens(first_home) != tokens
    (other,) = _form_tokens(first_home)
    stolen = second.post("/movie/100/click/", {"csrfmiddlewaretoken": other})
    assert stolen.status_code == 403


def test_a_card_kept_for_one_visitor_shows_another_their_own_mark(visitor, catalogue):
    Client().get("/")  # the cards without a mark are kept
    visitor.post("/movie/50/click/")
    html = visitor.get("/").content.decode()
    assert html.count("mark-clicked") == 1
    assert "mark-clicked" not in Client().get("/").content.decode()


def test_the_popular_list_is_kept_but_never_for_a_visitor_who_hid_a_movie(
    visitor, catalogue
):
    visitor.get("/")
    visitor.post("/movie/50/not-interested/")
    assert "/movie/50/poster.svg" not in visitor.get("/").content.decode()
    assert "/movie/50/poster.svg" in Client().get("/").content.decode()
    Movie.objects.filter(pk=1).update(popularity=10_000)  # no signal: kept
    assert Client().get("/").content.decode().index("Toy Story") > (
        Client().get("/").content.decode().index("Star Wars")
    )
    Movie.objects.get(pk=1).save()  # a save: read again at once
    home = Client().get("/").content.decode()
    assert home.index("Toy Story") < home.index("Star Wars")


def _sidebar(html: str) -> str:
    return html[html.index('<aside class="sidebar"') : html.index("</aside>")]


def test_a_kept_history_entry_follows_what_the_event_does_now(visitor, catalogue):
    visitor.post("/movie/50/not-interested/")
    first = _sidebar(visitor.get("/").content.decode())
    assert "not interested" in first and "superseded" not in first
    visitor.post("/movie/50/rate/", {"rating": "5.0"})  # replaces the judgement
    for page in ("/", "/movie/ngcf/"):
        sidebar = _sidebar(visitor.get(page).content.decode())
        assert "superseded" in sidebar and "rated 5.0" in sidebar, page
        assert page_slots.CSRF_SLOT not in sidebar


def test_movies_a_page_names_are_kept_until_a_save(visitor, catalogue):
    for movie_id in (50, 100):
        visitor.post(f"/movie/{movie_id}/click/")
    # a page with the sidebar and no For-you row (whose popular fallback, when
    # no model is served, is a query of its own)
    page = "/genre/sci-fi/"
    visitor.get(page)
    with CaptureQueriesContext(connection) as queries:
        sidebar = _sidebar(visitor.get(page).content.decode())
    assert _reads_of("movie_movie", queries) == 0
    assert "Fargo (1996)" in sidebar
    movie = Movie.objects.get(pk=100)
    movie.title = "Fargo Redux"
    movie.save()
    assert "Fargo Redux (1996)" in _sidebar(visitor.get(page).content.decode())
    Movie.objects.filter(pk=100).delete()
    assert "movie #100" in _sidebar(visitor.get(page).content.decode())


def test_a_row_of_cards_and_the_sidebar_are_kept_whole(visitor, catalogue):
    for movie_id in (50, 100):
        visitor.post(f"/movie/{movie_id}/click/")
    first = visitor.get("/")
    assert "movie/_card.html" in [t.name for t in first.templates]
    again = visitor.get("/")
    assert "movie/_card.html" not in [t.name for t in again.templates]
    assert again.content.decode().count("mark-clicked") == 2
    assert "Fargo (1996)" in _sidebar(again.content.decode())
    # a new mark: the row and the sidebar again, from the kept cards and entries
    visitor.post("/movie/127/rate/", {"rating": "4.0"})
    html = visitor.get("/").content.decode()
    assert html.count("mark-clicked") == 2 and html.count("mark-rated") == 1
    assert "rated 4.0" in _sidebar(html)


def test_the_kept_top_bar_greets_each_visitor_and_keeps_their_query(catalogue):
    from django.contrib.auth.models import User

    anonymous = Client().get("/").content.decode()
    assert "Log in" in anonymous and "Hi," not in anonymous
    for name in ("ann", "bob"):
        member = Client()
        member.force_login(User.objects.create_user(name))
        home = member.get("/").content.decode()
        assert f"Hi, {name}" in home and "Log in" not in home
    assert "Hi," not in Client().get("/").content.decode()
    for query in ("star", "far"):
        page = Client().get(f"/search/?q={query}").content.decode()
        assert f'value="{query}"' in page
    korean = Client(headers={"accept-language": "ko"}).get("/").content.decode()
    assert "Log in" not in korean and 'name="language"' in korean


def test_an_event_reads_no_movie_row_whichever_movie_it_names(visitor, catalogue):
    """The catalogue's ids are kept per process: clicks on movies no page of
    this process showed read none of their rows; a movie added since (by
    another process: no save signal here) is looked up, an unknown id refused."""
    body = {"movie_id": 50, "kind": "click"}
    assert visitor.post("/api/events", body, "application/json").status_code == 201
    with CaptureQueriesContext(connection) as queries:
        for movie_id in (100, 127, 181, 1):
            body = {"movie_id": movie_id, "kind": "click"}
            response = visitor.post("/api/events", body, "application/json")
            assert response.status_code == 201
    assert _reads_of("movie_movie", queries) == 0
    Movie.objects.bulk_create([Movie(id=32, title="Crumb", year=1994)])
    body = {"movie_id": 32, "kind": "click"}
    assert visitor.post("/api/events", body, "application/json").status_code == 201
    body = {"movie_id": 33, "kind": "click"}
    assert visitor.post("/api/events", body, "application/json").status_code == 400
    latest = visitor.get("/api/history").json()["events"][0]
    assert latest["movie_id"] == 32
    Movie.objects.get(pk=100).delete()  # in this process: forgotten at once
    body = {"movie_id": 100, "kind": "click"}
    assert visitor.post("/api/events", body, "application/json").status_code == 400


def _card(html: str, movie_id: int) -> str:
    start = html.rindex('<li class="card', 0, html.index(f"/movie/{movie_id}/click/"))
    return html[start : html.index("</li>", start)]


def test_a_card_outlives_the_catalogues_time_and_changes_with_what_it_shows(
    catalogue, settings
):
    """Cards are kept by all they show, not for CATALOGUE_CACHE_SECONDS: read
    again, an unchanged catalogue renders no card again; a movie whose genres
    changed (in another process: no signal here) gets a new card."""
    assert "Sci-Fi" in _card(Client().get("/").content.decode(), 50)
    settings.CATALOGUE_CACHE_SECONDS = 0  # the catalogue read for every page
    again = Client().get("/")
    assert "movie/_card.html" not in [t.name for t in again.templates]
    drama = Genre.objects.get(slug="drama")
    Movie.genres.through.objects.filter(movie_id=50).update(genre_id=drama.pk)
    card = _card(Client().get("/").content.decode(), 50)
    assert "Drama" in card and "Sci-Fi" not in card
    assert "Sci-Fi" in _card(Client().get("/").content.decode(), 181)


def test_after_a_response_the_process_keeps_the_catalogue_for_the_next_pages(
    visitor, catalogue
):
    """The first page reads its movies itself; its response read the catalogue
    ahead, so the next one, with a new movie in the sidebar and the genre bar,
    reads no movie, no genre but the page's own, and no count."""
    page = "/genre/sci-fi/"  # the sidebar and no For-you row
    visitor.get(page)
    visitor.post("/movie/100/click/")
    with CaptureQueriesContext(connection) as queries:
        response = visitor.get(page)
    html = response.content.decode()
    assert "Fargo (1996)" in _sidebar(html) and "Drama</a>" in _genre_bar(response)
    assert _reads_of("movie_movie", queries) == 0
    assert _reads_of("movie_movie_genres", queries) == 0
    genre_reads = [q["sql"] for q in queries if "movie_genre" in q["sql"]]
    assert len(genre_reads) == 1 and "slug" in genre_reads[0]  # the page's genre
    assert not any("COUNT(" in q["sql"] for q in queries)


def test_a_failed_read_ahead_is_logged_and_the_pages_go_on(
    visitor, catalogue, monkeypatch, caplog
):
    from django.db import OperationalError

    from movie import selectors

    def fails():
        raise OperationalError("the database went away")

    monkeypatch.setattr(selectors, "catalogue_read", fails)
    assert visitor.get("/").status_code == 200
    assert "reading the catalogue ahead failed" in caplog.text
    home = visitor.get("/")
    assert home.status_code == 200 and "Star Wars" in home.content.decode()


def test_the_genre_bar_is_kept_by_the_genres_it_shows(catalogue, settings, monkeypatch):
    """The bar is kept while the genres are the same (not rendered again when
    the catalogue is read again), and a genre renamed in another process (no
    signal here) shows once this process reads the catalogue again."""
    from movie import selectors

    labels = []
    label = Genre.label
    counted = property(lambda genre: labels.append(genre) or label.fget(genre))
    monkeypatch.setattr(Genre, "label", counted)
    assert "Drama</a>" in _genre_bar(Client().get("/"))
    rendered = len(labels)
    assert rendered >= 2  # the bar's two genres (and the cards')
    settings.CATALOGUE_CACHE_SECONDS = 0.001
    selectors.read_ahead()  # the same genres read again
    settings.CATALOGUE_CACHE_SECONDS = 60
    assert "Drama</a>" in _genre_bar(Client().get("/"))
    assert len(labels) == rendered  # the kept bar
    Genre.objects.filter(slug="drama").update(name="Western")
    assert "Drama</a>" in _genre_bar(Client().get("/"))  # the kept catalogue
    settings.CATALOGUE_CACHE_SECONDS = 0.001
    selectors.read_ahead()
    settings.CATALOGUE_CACHE_SECONDS = 60
    bar = _genre_bar(Client().get("/"))
    assert "Western</a>" in bar and "Drama</a>" not in bar
