"""Odd input to the pages: 4xx or a sensible page, never a 500 or a copied query."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from movie.models import ClickEvent


def test_nul_in_the_search_query_is_400_not_every_movie(visitor, catalogue):
    response = visitor.get("/search/", {"q": "\x00"})
    assert response.status_code == 400
    assert "Star Wars" not in response.content.decode()
    assert visitor.get("/search/", {"q": "st\x00ar"}).status_code == 400


def test_an_overlong_search_query_is_400(visitor, catalogue):
    assert visitor.get("/search/", {"q": "a" * 201}).status_code == 400
    assert visitor.get("/search/", {"q": "a" * 200}).status_code == 200


def test_a_long_query_string_is_not_copied_into_the_sidebar_forms(visitor, catalogue):
    visitor.post("/movie/50/click/")
    junk = "x" * 8000
    short = visitor.get("/", {"page": "1"}).content
    long = visitor.get("/", {"page": "1", "junk": junk}).content
    assert junk.encode() not in long
    assert len(long) < len(short) + 500
    # A short query still comes back with the visitor.
    assert b'value="/?page=1"' in short


@pytest.mark.parametrize(
    "page", ["abc", "²", "0", "-1", "9" * 5000, "1e9", "2.5", "2", "9999"]
)
def test_a_page_number_that_is_not_a_page_is_404(visitor, catalogue, page):
    response = visitor.get("/", {"page": page})
    assert response.status_code == 404
    assert "Page not found." in response.content.decode()


def test_existing_pages_are_200(visitor, catalogue):
    assert visitor.get("/", {"page": "1"}).status_code == 200
    assert visitor.get("/").status_code == 200
    # A search without results still has its (empty) first page.
    assert visitor.get("/search/", {"q": "xyzzy", "page": "1"}).status_code == 200
    assert visitor.get("/search/", {"q": "xyzzy", "page": "2"}).status_code == 404


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(page=st.text(st.characters(exclude_categories=("Cs",)), max_size=30))
def test_any_page_parameter_is_200_or_404(client, catalogue, page):
    assert client.get("/", {"page": page}).status_code in {200, 404}


@pytest.mark.parametrize("path", ["/movie/99999999999999999999/", "/movie/0/"])
def test_movie_ids_beyond_the_range_are_404(visitor, catalogue, path):
    assert visitor.get(path).status_code == 404
    assert visitor.get(path + "poster.svg").status_code == 404
    assert visitor.post(path + "click/").status_code == 404


def test_the_title_records_the_same_click_as_the_poster(visitor, catalogue):
    html = visitor.get("/").content.decode()
    card = html[html.index('action="/movie/50/click/"') :].split("</form>")[0]
    assert 'class="poster"' in card
    assert 'class="title">Star Wars (1977)</button>' in card  # same form
    response = visitor.post("/movie/50/click/")
    assert response.status_code == 302 and response["Location"] == "/movie/50/"
    assert ClickEvent.objects.get().movie_id == 50
