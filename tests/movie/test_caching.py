"""Cacheable responses never carry a session, a cookie, or a Vary they do not need."""

from django.contrib.sessions.models import Session
from django.test import Client


def test_posters_set_no_cookie_and_write_no_session_row(parity_site):
    client = Client()
    for n in range(100):
        response = client.get(f"/movie/{(n % 20) + 1}/poster.svg")
        assert response.status_code == 200
        assert not response.cookies
        assert "Set-Cookie" not in response
        assert "Cookie" not in response.get("Vary", "")
    assert Session.objects.count() == 0


def test_a_visitor_with_a_session_gets_no_cookie_from_posters(visitor, catalogue):
    visitor.post("/movie/50/click/")
    response = visitor.get("/movie/50/poster.svg")
    assert response.status_code == 200 and not response.cookies
    assert "public" in response["Cache-Control"]


def test_training_curve_sets_no_cookie(parity_site):
    client = Client()
    response = client.get("/movie/ngcf/training-curve.png")
    assert response.status_code == 200
    assert not response.cookies
    assert Session.objects.count() == 0


def test_static_files_set_no_cookie(db):
    response = Client().get("/static/movie/site.css")
    assert response.status_code == 200
    assert not response.cookies


def test_visitor_dependent_answers_vary_on_cookie(visitor, catalogue):
    visitor.post("/movie/50/click/")
    for url in ["/", "/api/history", "/api/recommendations"]:
        assert "Cookie" in visitor.get(url)["Vary"], url


def test_head_works_on_the_training_curve(parity_site):
    response = Client().head("/movie/ngcf/training-curve.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"


def test_head_works_wherever_get_does(catalogue):
    client = Client()
    for url in [
        "/",
        "/search/?q=star",
        "/genre/sci-fi/",
        "/movie/50/",
        "/movie/50/poster.svg",
        "/movie/ngcf/",
        "/movie/ngcf/about/",
        "/api/history",
        "/api/recommendations",
        "/api/csrf",
        "/accounts/login/",
    ]:
        response = client.head(url)
        assert response.status_code == 200, url
        assert response.content == b"", url
