import atexit
import os
import shutil
import tempfile
import types
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.test import Client

from movie import after_response
from movie.models import Genre, Interaction, Movie
from movie.poster_cache import POSTERS
from movie.selectors import shared_pages_clear
from tests.worlds import parity_timeline

# The run's own kept lists and warmer socket (the site's are in data/), also for
# the servers the tests start: set before any test reads the cache.
_RUN_DIR = Path(tempfile.mkdtemp(prefix="pseudorec-tests-"))
atexit.register(shutil.rmtree, _RUN_DIR, ignore_errors=True)
os.environ["KEPT_LISTS_DIR"] = str(_RUN_DIR / "kept-lists")
os.environ["FOR_YOU_WARMER_SOCKET"] = str(_RUN_DIR / "for-you-warmer.sock")
django_settings.CACHES["kept_lists"]["LOCATION"] = os.environ["KEPT_LISTS_DIR"]
django_settings.FOR_YOU_WARMER_SOCKET = os.environ["FOR_YOU_WARMER_SOCKET"]


@pytest.fixture(autouse=True)
def _no_catalogue_of_an_earlier_test():
    """Each test has its own catalogue: no poster table or genre bar kept from an
    earlier one (a process reads them again after CATALOGUE_CACHE_SECONDS)."""
    POSTERS.clear()
    shared_pages_clear()
    after_response.forget()  # no request of an earlier test left open
    caches["template_fragments"].clear()
    caches["kept_lists"].clear()


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
def one_millisecond(monkeypatch):
    """Every event and impression made from now on has the same timestamp (a
    fast client, or a busy server, makes several within one millisecond)."""
    import movie.events

    frozen = movie.events.time.time_ns()
    monkeypatch.setattr(
        movie.events, "time", types.SimpleNamespace(time_ns=lambda: frozen)
    )


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


PARITY_MOVIES = 20


@pytest.fixture(scope="session")
def parity_checkpoint(tmp_path_factory):
    """A small NGCF trained on the parity world (tests/worlds.py): even visitors
    like even movie ids, odd visitors odd ids (movie ids 1..20)."""
    from pytorch_models.training import save_training_curve, train_ngcf
    from tests.worlds import parity_split, small_config

    data = parity_split(24, PARITY_MOVIES, n_train=6, first_id=1)
    config = small_config(16, batch_size=32, max_epochs=30, num_negatives=2)
    result = train_ngcf(*data, config)
    path = result.checkpoint.save(tmp_path_factory.mktemp("ngcf") / "parity.pt")
    save_training_curve(result.history, path.with_suffix(".png"))
    return path


@pytest.fixture
def parity_site(db, settings, parity_checkpoint):
    """Movies 1..20 in the catalogue and the parity checkpoint in use."""
    for m in range(1, PARITY_MOVIES + 1):
        Movie.objects.create(id=m, title=f"Movie {m}", year=1990, popularity=100 - m)
    settings.NGCF_CHECKPOINT = parity_checkpoint


@pytest.fixture
def parity_ratings(db):
    """30 users; even users rate even movies, odd users odd ones (40 movies)."""
    Movie.objects.bulk_create(Movie(id=m, title=f"M{m}") for m in range(1, 41))
    Interaction.objects.bulk_create(
        Interaction(ml_user_id=u, movie_id=m, rating=4, timestamp=ts)
        for u, m, ts in parity_timeline()
    )


@pytest.fixture(autouse=True)
def _no_model_watcher(settings, tmp_path):
    """Tests refresh the served model inline (no watcher thread per process),
    and each starts with no model loaded."""
    from movie.recommendations import predictor

    settings.MODEL_SWAP_INTERVAL = 0
    settings.MODEL_SWAP_DELAY = 0
    settings.ARTIFACT_DIR = tmp_path / "artifacts"
    settings.MODEL_CACHE_DIR = tmp_path / "model-cache"
    predictor._served.clear()


@pytest.fixture(autouse=True)
def _default_language_after_each_test():
    """A request in Korean leaves Korean active in the thread (LocaleMiddleware
    activates, nothing deactivates); code a later test calls outside a request
    must see the default language again."""
    yield
    from django.utils import translation

    translation.deactivate()
