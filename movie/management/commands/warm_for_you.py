import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from movie.management.stopping import stop_on_signals
from movie.recommendations.doorbell import Doorbell, DoorbellDeaf
from movie.recommendations.warming import WarmTotals, warm_until


class Command(BaseCommand):
    help = (
        "Fine-tune the home page's For-you row of each visitor whose history "
        "changed, as soon as a web process names them on FOR_YOU_WARMER_SOCKET, "
        "and keep it for every web process of the host. Runs beside the site, "
        "one per host, at the lowest CPU priority, until SIGTERM."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--nice",
            type=int,
            default=19,
            help="niceness added to this process (default 19: it takes only the "
            "CPU the web processes leave)",
        )
        parser.add_argument(
            "--settle",
            type=float,
            default=0.1,
            metavar="S",
            help="warm a visitor once they were not named again for S seconds "
            "(default 0.1: events that come within moments are warmed once)",
        )

    def handle(self, *args, **options):
        path = settings.FOR_YOU_WARMER_SOCKET
        if not path:
            raise CommandError("FOR_YOU_WARMER_SOCKET is empty: nothing to listen on")
        if not 0 <= options["settle"] <= 60:
            raise CommandError("--settle takes seconds from 0 to 60")
        try:
            # its reading thread keeps the priority
            doorbell = Doorbell(path, settle_s=options["settle"])
        except OSError as exc:  # taken by another warmer, not a socket, too long
            raise CommandError(f"cannot listen on {path}: {exc}") from exc
        os.nice(options["nice"])  # this thread only: the one that fine-tunes
        stop = stop_on_signals()
        totals = WarmTotals()
        self.stdout.write(f"warm_for_you: listening on {path}")
        try:
            warm_until(stop, doorbell, totals)
        except DoorbellDeaf as exc:  # the pages fine-tune for themselves
            raise CommandError(f"stopped listening: {exc}") from exc
        finally:
            doorbell.close()
        self.stdout.write(
            f"warm_for_you: warmed={totals.warmed} without_row={totals.without_row} "
            f"failed={totals.failed}"
        )
