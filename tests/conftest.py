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


PARITY_MOVIES = 20


@pytest.fixture(scope="session")
def parity_checkpoint(tmp_path_factory):
    """A small NGCF trained on a parity world: even visitors like even movie ids,
    odd visitors odd ids (movie ids 1..20)."""
    from pytorch_models.checkpoint import save_checkpoint
    from pytorch_models.data import Interactions
    from pytorch_models.ngcf import NGCFConfig
    from pytorch_models.training import TrainConfig, save_training_curve, train_ngcf

    parts = {"train": [], "valid": [], "test": []}
    for u in range(24):
        liked = [m for m in range(1, PARITY_MOVIES + 1) if m % 2 == u % 2]
        liked = liked[u % len(liked) :] + liked[: u % len(liked)]
        parts["train"] += [(u + 1, m) for m in liked[:6]]
        parts["valid"].append((u + 1, liked[6]))
        parts["test"].append((u + 1, liked[7]))
    data = [
        Interactions.from_pairs([p[0] for p in v], [p[1] for p in v])
        for v in parts.values()
    ]
    config = TrainConfig(
        model=NGCFConfig(embedding_dim=16, layer_sizes=(16, 16), message_dropout=0.0),
        learning_rate=0.05,
        batch_size=32,
        num_negatives=2,
        max_epochs=30,
        patience=30,
    )
    result = train_ngcf(*data, config)
    path = save_checkpoint(
        result.checkpoint, tmp_path_factory.mktemp("ngcf") / "parity.pt"
    )
    save_training_curve(result.history, path.with_suffix(".png"))
    return path


@pytest.fixture
def parity_site(db, settings, parity_checkpoint):
    """Movies 1..20 in the catalogue and the parity checkpoint in use."""
    from movie import recommender

    for m in range(1, PARITY_MOVIES + 1):
        Movie.objects.create(id=m, title=f"Movie {m}", year=1990, popularity=100 - m)
    settings.NGCF_CHECKPOINT = parity_checkpoint
    recommender.reset()
    yield
    recommender.reset()
