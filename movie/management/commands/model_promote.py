from django.core.management.base import BaseCommand, CommandError

from movie.recommendations.versions import VersionError, promote_version


class Command(BaseCommand):
    help = (
        "Make a model version the champion if its artifact verifies and the "
        "promotion gate passes (--force: skip the gate, not the artifact check)."
    )

    def add_arguments(self, parser):
        parser.add_argument("version")
        parser.add_argument("--force", action="store_true")

    def handle(self, *args, **options):
        try:
            gate = promote_version(version=options["version"], force=options["force"])
        except VersionError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{options['version']} is the champion ({gate.reason})")
