from django.core.management.base import BaseCommand, CommandError

from movie.recommendations.versions import VersionError, version_rollback


class Command(BaseCommand):
    help = "Make the champion before the current one the champion again."

    def handle(self, *args, **options):
        try:
            version = version_rollback()
        except VersionError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"rolled back: {version.version} is the champion")
