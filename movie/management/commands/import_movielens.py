from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from movie.movielens import DatasetError, import_movielens


class Command(BaseCommand):
    help = "Import the MovieLens-100k movies and ratings into the database."

    def add_arguments(self, parser):
        parser.add_argument("--source", default=str(settings.MOVIELENS_DIR))
        parser.add_argument(
            "--name", default="ml-100k", help="file stem: <name>.item, <name>.inter"
        )

    def handle(self, *args, **options):
        try:
            summary = import_movielens(
                source=Path(options["source"]), name=options["name"]
            )
        except (DatasetError, ValueError, IndexError) as exc:
            raise CommandError(f"import failed, nothing stored: {exc}") from exc
        self.stdout.write(
            f"catalogue: {summary.movies} movies ({summary.created_movies} new), "
            f"{summary.genres} genres, {summary.interactions} interactions "
            f"({summary.created_interactions} new)"
        )
