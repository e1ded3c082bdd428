import pytest
from django.test import Client

from movie.models import Genre, Movie


@pytest.fixture
def catalogue(db):
    """A handful of movies with genres and popularity, like the imported data."""
    scifi = Genre.objects.create(name="Sci-Fi", slug="sci-fi")
    drama = Genre.objects.create(name="Drama", slug="drama")
    rows = [
        (50, "Star Wars", 1977, 583, [scifi]),
        (100, "Fargo", 1996, 508, [drama]),
        (127, "Godfather, The", 1972, 413, [drama]),
        (181, "Return of the Jedi", 1983, 507, [scifi]),
        (1, "Toy Story", 1995, 452, []),
    ]
    movies = {}
    for pk, title, year, popularity, genres in rows:
        movie = Movie.objects.create(
            id=pk, title=title, year=year, popularity=popularity
        )
        movie.genres.set(genres)
        movies[pk] = movie
    return movies


@pytest.fixture
def visitor(db):
    """A browser-like client that already has its session (first page loaded)."""
    client = Client()
    client.get("/")
    return client


@pytest.fixture
def other_visitor(db):
    client = Client()
    client.get("/")
    return client
