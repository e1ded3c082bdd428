import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from movie.eventbus import get_event_bus_adapter
from movie.management.stopping import stop_on_signals
from movie.recommendations.doorbell import Doorbell, DoorbellDeaf
from movie.recommendations.predictor import get_predictor
from movie.recommendations.warming import WarmTotals, warm_until, warmer_prepare

# The default quiet time (--settle), by whether the bus is asynchronous.
SETTLE_DIRECT_S = 0.1
SETTLE_ASYNCHRONOUS_S = 0.5


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
            default=None,
            metavar="S",
            help="warm a visitor once they were not named again for S seconds "
            "(default 0.1 with the direct bus, where each event names its visitor "
            "as it is stored: events that come within moments are warmed once; "
            "0.5 with Kafka, whose consumer names a visitor once per batch it "
            "stores, a few batches a second: a visitor still clicking is not "
            "warmed between two batches)",
        )

    def handle(self, *args, **options):
        path = settings.FOR_YOU_WARMER_SOCKET
        if not path:
            raise CommandError("FOR_YOU_WARMER_SOCKET is empty: nothing to listen on")
        settle = options["settle"]
        if settle is None:
            asynchronous = get_event_bus_adapter().asynchronous
            settle = SETTLE_ASYNCHRONOUS_S if asynchronous else SETTLE_DIRECT_S
        if not 0 <= settle <= 60:
            raise CommandError("--settle takes seconds from 0 to 60")
        # Before the socket is bound: once it is, the warmer is ready (the
        # benchmarks wait for it), and its first visitor waits for no loading.
        # Visitors named meanwhile are dropped (counted as "no warmer").
        try:
            problem = warmer_prepare()
        except Exception as exc:  # an adapter that cannot be made, a bad model
            raise CommandError(f"cannot load what the warmer needs: {exc}") from exc
        if problem:
            self.stderr.write(f"warm_for_you: no model served yet ({problem})")
        try:
            # its reading thread keeps the priority
            doorbell = Doorbell(path, settle_s=settle)
        except OSError as exc:  # taken by another warmer, not a socket, too long
            raise CommandError(f"cannot listen on {path}: {exc}") from exc
        os.nice(options["nice"])  # this thread only: the one that fine-tunes
        get_predictor()  # its model watcher, started here, keeps this priority
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
