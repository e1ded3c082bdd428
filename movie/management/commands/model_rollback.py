from django.core.management.base import BaseCommand, CommandError

from movie.recommendations.versions import VersionError, roll_back_version


class Command(BaseCommand):
    help = "Make the champion before the current one the champion again."

    def handle(self, *args, **options):
        try:
            version = roll_back_version()
        except VersionError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"rolled back: {version.version} is the champion")
