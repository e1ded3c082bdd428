from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from movie.clicklog import get_clicklog_store
from movie.visitor_rekey import rekey_clicklog


class Command(BaseCommand):
    help = (
        'Replace old "s:<session key>" visitor keys in the click log '
        "(CLICKLOG_BACKEND, e.g. the DynamoDB table) and the sessions by opaque "
        "ones, keeping every history. Safe to run again."
    )

    def handle(self, *args, **options):
        try:
            result = rekey_clicklog(store=get_clicklog_store(), session_model=Session)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"rekeyed {result.sessions} sessions; moved {result.events} events "
            f"of {result.visitors} visitors to new keys"
        )
