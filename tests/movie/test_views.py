import pytest
from django.contrib.auth.models import User
from django.test import Client

from movie import selectors
from movie.models import ClickEvent


def history_ids(client):
    return [e["movie_id"] for e in client.get("/api/history").json()["events"]]


def test_home_lists_popular_movies_with_posters(visitor, catalogue):
    response = visitor.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Star Wars (1977)") < html.index("Fargo (1996)")
    assert "/movie/50/poster.svg" in html
    assert 'alt="Poster of Star Wars (1977)"' in html


def test_home_paginates(visitor, catalogue, settings):
    settings.MOVIES_PER_PAGE = 2
    page2 = visitor.get("/?page=2").content.decode()
    assert "Return of the Jedi" in page2 and "Star Wars (1977)" not in page2
    assert visitor.get("/?page=abc").status_code == 404
    assert visitor.get("/?page=3").status_code == 200
    assert visitor.get("/?page=4").status_code == 404


def test_search_finds_star_wars(visitor, catalogue):
    response = visitor.get("/search/", {"q": "star wars"})
    assert response.status_code == 200
    assert "Star Wars (1977)" in response.content.decode()
    assert "Fargo" not in response.content.decode().split("<main")[1]


def test_genre_page_and_unknown_genre(visitor, catalogue):
    html = visitor.get("/genre/sci-fi/").content.decode()
    assert "Return of the Jedi" in html and "Fargo (1996)" not in html
    assert visitor.get("/genre/no-such/").status_code == 404


def test_the_genre_bar_marks_the_genre_page_it_is_on(visitor, catalogue):
    """Each genre page's bar (kept per genre) names its own genre as the
    current page, and no other page's bar names one."""
    for slug, other in (("sci-fi", "drama"), ("drama", "sci-fi")):
        html = visitor.get(f"/genre/{slug}/").content.decode()
        assert f'href="/genre/{slug}/" aria-current="page"' in html
        assert f'href="/genre/{other}/" aria-current' not in html
    assert 'aria-current="page"' not in visitor.get("/").content.decode()


def test_detail_page_and_bad_ids(visitor, catalogue):
    assert "Star Wars (1977)" in visitor.get("/movie/50/").content.decode()
    assert visitor.get("/movie/99999/").status_code == 404
    assert visitor.get("/movie/abc/").status_code == 404
    assert visitor.get("/movie/-1/").status_code == 404


def test_poster_is_deterministic_svg_with_cache_headers(visitor, catalogue):
    first = visitor.get("/movie/50/poster.svg")
    assert first.status_code == 200
    assert first["Content-Type"] == "image/svg+xml"
    assert "max-age" in first["Cache-Control"]
    assert first.content == visitor.get("/movie/50/poster.svg").content
    assert b"Star Wars" in first.content
    again = visitor.get("/movie/50/poster.svg", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert visitor.get("/movie/100/poster.svg").content != first.content
    assert visitor.get("/movie/4242/poster.svg").status_code == 404


def test_first_click_of_a_brand_new_visitor_is_kept(catalogue):
    client = Client(enforce_csrf_checks=False)  # no page loaded before
    response = client.post("/movie/50/click/")
    assert response.status_code == 302
    assert response["Location"] == "/movie/50/"
    assert ClickEvent.objects.count() == 1
    assert history_ids(client) == [50]


def test_click_needs_csrf_token(catalogue):
    client = Client(enforce_csrf_checks=True)
    client.get("/")
    assert client.post("/movie/50/click/").status_code == 403
    assert ClickEvent.objects.count() == 0
    token = client.cookies["csrftoken"].value
    assert (
        client.post("/movie/50/click/", {"csrfmiddlewaretoken": token}).status_code
        == 302
    )
    assert ClickEvent.objects.count() == 1


def test_click_wrong_method_and_unknown_movie(visitor, catalogue):
    assert visitor.get("/movie/50/click/").status_code == 405
    assert visitor.post("/movie/99999/click/").status_code == 404
    assert ClickEvent.objects.count() == 0


def test_rating_is_shown_again_later(visitor, catalogue):
    response = visitor.post("/movie/50/rate/", {"rating": "4.5"})
    assert response.status_code == 302
    html = visitor.get("/movie/50/").content.decode()
    assert "Your rating: <strong>4.5 ★</strong>" in html
    assert "Your rating: 4.5 ★" in visitor.get("/").content.decode()


@pytest.mark.parametrize("value", ["0", "5.5", "abc", "", "4.25"])
def test_bad_rating_form_is_400_and_stores_nothing(visitor, catalogue, value):
    response = visitor.post("/movie/50/rate/", {"rating": value})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "<h1>Bad request</h1>" in html
    assert "Choose a rating from 0.5 to 5.0 stars." in html
    assert ClickEvent.objects.count() == 0


def test_sidebar_shows_own_history_only(visitor, other_visitor, catalogue):
    visitor.post("/movie/50/click/")
    other_visitor.post("/movie/100/click/")
    mine = visitor.get("/").content.decode().split('id="history-heading"')[1]
    theirs = other_visitor.get("/").content.decode().split('id="history-heading"')[1]
    assert "Star Wars" in mine and "Fargo" not in mine
    assert "Fargo" in theirs and "Star Wars" not in theirs


def test_sidebar_delete_one_and_all(visitor, other_visitor, catalogue):
    for movie_id in (50, 100, 127):
        visitor.post(f"/movie/{movie_id}/click/")
    other_visitor.post("/movie/50/click/")
    event = ClickEvent.objects.get(movie_id=100)
    response = visitor.post(
        f"/history/{event.event_id}/delete/", {"next": "/search/?q=x"}
    )
    assert response.status_code == 302 and response["Location"] == "/search/?q=x"
    assert history_ids(visitor) == [127, 50]
    theirs = ClickEvent.objects.get(
        movie_id=50, user_key=other_visitor.session["anon_visitor_key"]
    )
    assert visitor.post(f"/history/{theirs.event_id}/delete/").status_code == 404
    assert (
        visitor.post("/history/clear/", {"next": "https://evil.example/"})["Location"]
        == "/"
    )
    assert history_ids(visitor) == []
    assert history_ids(other_visitor) == [50]


def test_sidebar_lists_last_fifty_newest_first(visitor, catalogue):
    for n in range(55):
        visitor.post(f"/movie/{50 if n % 2 else 100}/click/")
    html = visitor.get("/").content.decode().split('id="history-heading"')[1]
    assert html.count('class="delete"') == 50


def test_signup_keeps_anonymous_history(visitor, catalogue):
    visitor.post("/movie/50/click/")
    visitor.post("/movie/100/rate/", {"rating": "3.0"})
    response = visitor.post(
        "/accounts/signup/",
        {
            "username": "ada",
            "password1": "a-long-pass-123",
            "password2": "a-long-pass-123",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="ada")
    history = selectors.VisitorHistory(user_key=f"u:{user.pk}")
    assert history.signals.movie_ids == [100, 50]
    assert history_ids(visitor) == [100, 50]
    assert "Hi, ada" in visitor.get("/").content.decode()


def test_login_merges_and_logout_starts_fresh(visitor, catalogue):
    user = User.objects.create_user("bob", password="a-long-pass-123")
    visitor.post("/movie/127/click/")
    response = visitor.post(
        "/accounts/login/", {"username": "bob", "password": "a-long-pass-123"}
    )
    assert response.status_code == 302
    history = selectors.VisitorHistory(user_key=f"u:{user.pk}")
    assert history.signals.movie_ids == [127]
    visitor.post("/accounts/logout/")
    assert history_ids(visitor) == []
    visitor.post("/accounts/login/", {"username": "bob", "password": "a-long-pass-123"})
    assert history_ids(visitor) == [127]


def test_signup_form_errors_are_shown(visitor, db):
    response = visitor.post("/accounts/signup/", {"username": "x", "password1": "a"})
    assert response.status_code == 200
    assert User.objects.count() == 0
    assert visitor.put("/accounts/signup/").status_code == 405


def test_titles_read_naturally(visitor, catalogue):
    html = visitor.get("/search/", {"q": "godfather"}).content.decode()
    assert "The Godfather (1972)" in html
    assert b"The Godfather" in visitor.get("/movie/127/poster.svg").content


def _main(response) -> str:
    """The page's main column (not the sidebar or the genre bar)."""
    html = response.content.decode()
    return html.split('<main id="main">')[1].split("</main>")[0]


def test_movie_page_shows_average_year_all_genres_and_own_rating(visitor, catalogue):
    from movie.models import Genre, Interaction, Movie
    from movie.movielens import refresh_catalogue_counts

    war = Genre.objects.create(name="War", slug="war")
    catalogue[50].genres.add(war)
    for user, stars in [(1, 5.0), (2, 4.0), (3, 4.0)]:
        Interaction.objects.create(
            ml_user_id=user, movie_id=50, rating=stars, timestamp=0
        )
    refresh_catalogue_counts(
        movie_model=Movie, genre_model=Genre, interaction_model=Interaction
    )
    html = _main(visitor.get("/movie/50/"))
    assert "★ 4.3 average of 3 ratings" in html
    assert '<dd class="year">1977</dd>' in html
    # Rarest genre first: War has one movie, Sci-Fi two.
    assert html.index("/genre/war/") < html.index("/genre/sci-fi/")
    assert "You have not rated this movie." in html
    visitor.post("/movie/50/rate/", {"rating": "2.5"})
    html = _main(visitor.get("/movie/50/"))
    assert "Your rating: <strong>2.5 ★</strong>" in html
    # The MovieLens average stays MovieLens's: the visitor's rating is not in it.
    assert "★ 4.3 average of 3 ratings" in html


def test_a_movie_without_ratings_says_so(visitor, catalogue):
    assert "Not rated yet" in _main(visitor.get("/movie/1/"))


def test_the_rating_form_starts_unset_for_an_unrated_movie(visitor, catalogue):
    html = _main(visitor.get("/movie/50/"))
    assert '<option value="" selected>Choose…</option>' in html
    assert 'value="4.0" selected' not in html
    visitor.post("/movie/50/rate/", {"rating": "3.5"})
    assert '<option value="3.5" selected>' in _main(visitor.get("/movie/50/"))


def test_search_ranks_and_forgives(visitor, catalogue):
    html = _main(visitor.get("/search/", {"q": "godfahter"}))
    assert "The Godfather (1972)" in html
    html = _main(visitor.get("/search/", {"q": "starwars"}))
    assert "Star Wars (1977)" in html and "Return of the Jedi" not in html


@pytest.mark.parametrize("q", ["", "   ", "\t"])
def test_an_empty_search_says_so(visitor, catalogue, q):
    response = visitor.get("/search/", {"q": q})
    assert response.status_code == 200
    html = _main(response)
    assert "Type a movie title (or part of one) to search." in html
    assert "No movies found." not in html


def _cards(html: str, *movie_ids: int) -> dict[int, str]:
    """Each movie's grid card up to its click form: the card's class."""
    return {
        pk: html.split(f'action="/movie/{pk}/click/"')[0].rsplit("<li", 1)[1]
        for pk in movie_ids
    }


def test_grids_mark_clicked_and_rated_movies(visitor, other_visitor, catalogue):
    visitor.post("/movie/100/click/")
    visitor.post("/movie/50/click/")
    visitor.post("/movie/50/rate/", {"rating": "4.5"})
    html = _main(visitor.get("/"))
    cards = _cards(html, 50, 100, 127)
    assert "mark-rated" in cards[50]
    assert "mark-clicked" in cards[100]
    assert "marked" not in cards[127]
    assert html.count('<span class="mark">Your rating: 4.5 ★</span>') == 1
    assert html.count('<span class="mark">Clicked</span>') == 1
    assert "marked" not in _main(other_visitor.get("/"))


def test_grids_mark_movies_not_interested(visitor, catalogue):
    visitor.post("/movie/181/click/")
    visitor.post("/movie/181/not-interested/", {"next": "/"})
    visitor.post("/movie/50/not-interested/", {"next": "/"})
    # The genre list still shows them (the popular grid leaves them out), marked;
    # "Not interested" outweighs the earlier click.
    html = _main(visitor.get("/genre/sci-fi/"))
    for card in _cards(html, 50, 181).values():
        assert "mark-not-interested" in card
    assert html.count('<span class="mark">Not interested</span>') == 2
    assert '<span class="mark">Clicked</span>' not in html


def test_history_entries_say_what_they_were(visitor, catalogue):
    visitor.post("/movie/100/click/")
    visitor.post("/movie/50/rate/", {"rating": "4.5"})
    sidebar = visitor.get("/").content.decode().split('id="history-heading"')[1]
    # what it was, then what it does for the recommendations when that says more
    assert '<span class="kind kind-rated">rated 4.5 · liked</span>' in sidebar
    assert '<span class="kind kind-clicked">clicked</span>' in sidebar


def test_cards_show_the_most_specific_genres(visitor, catalogue):
    from movie.models import Genre

    Genre.objects.filter(slug="sci-fi").update(movie_count=2)
    Genre.objects.filter(slug="drama").update(movie_count=2)
    war = Genre.objects.create(name="War", slug="war", movie_count=1)
    catalogue[50].genres.add(war)
    html = _main(visitor.get("/"))
    card = html.split('action="/movie/50/click/"')[1].split("</li>")[0]
    assert '<span class="card-genres">War · Sci-Fi</span>' in card


def test_posters_show_the_three_most_specific_genres(visitor, catalogue):
    from movie.models import Genre

    Genre.objects.filter(slug="sci-fi").update(movie_count=2)
    Genre.objects.filter(slug="drama").update(movie_count=3)
    for name, count in (("War", 1), ("Adventure", 5)):
        genre = Genre.objects.create(name=name, slug=name.lower(), movie_count=count)
        catalogue[50].genres.add(genre)
    catalogue[50].genres.add(Genre.objects.get(slug="drama"))
    poster = visitor.get("/movie/50/poster.svg").content.decode()
    # Not the first three by name (Adventure · Drama · Sci-Fi).
    assert ">War · Sci-Fi · Drama</text>" in poster


def test_welcome_after_signup(visitor, db):
    response = visitor.post(
        "/accounts/signup/",
        {
            "username": "ada",
            "password1": "a-long-pass-123",
            "password2": "a-long-pass-123",
        },
        follow=True,
    )
    assert "Welcome, ada!" in response.content.decode()
    # Said once.
    assert "Welcome, ada!" not in visitor.get("/").content.decode()


def test_every_page_links_a_favicon_that_exists(visitor, catalogue):
    html = visitor.get("/").content.decode()
    assert '<link rel="icon" href="/static/movie/favicon.svg"' in html
    response = visitor.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/movie/favicon.svg"
    assert "favicon.svg" in visitor.get("/movie/99999/").content.decode()


def test_posters_speak_the_pages_language_and_keep_their_colours(visitor, catalogue):
    english = visitor.get("/movie/50/poster.svg").content.decode()
    korean = visitor.get("/movie/50/poster.svg", {"lang": "ko"}).content.decode()
    assert "Sci-Fi" in english and "SF" in korean and "Sci-Fi" not in korean
    colour = 'stop-color="#0984e3"'  # Sci-Fi's, whatever the language
    assert colour in english and colour in korean
    # An unknown language is the default one, never an error.
    assert visitor.get("/movie/50/poster.svg", {"lang": "xx"}).content == (
        english.encode()
    )
    # Pages link the poster of their own language.
    page = visitor.get("/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "/movie/50/poster.svg?lang=ko" in page
