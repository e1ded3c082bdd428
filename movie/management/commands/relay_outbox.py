from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from movie.eventbus import get_event_bus_adapter
from movie.eventbus.outbox import RELAY_INTERVAL_S, relay_outbox
from movie.management.stopping import stop_on_signals


class Command(BaseCommand):
    help = (
        "Deliver the events in the outbox to EVENT_BUS, oldest first, in batches: "
        "with Kafka every event (requests only write the outbox), with the direct "
        "bus those its requests could not deliver. Loops until SIGTERM unless --once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument(
            "--interval",
            type=float,
            help="seconds from the start of one pass to the next, unless it was "
            "full (default "
            f"{RELAY_INTERVAL_S[True]} with Kafka, {RELAY_INTERVAL_S[False]} with "
            "the direct bus)",
        )

    def handle(self, *args, **options):
        stop = stop_on_signals()
        try:
            totals = relay_outbox(
                bus=get_event_bus_adapter(),
                stop=stop,
                interval_s=options["interval"],
                once=options["once"],
            )
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"relay_outbox: delivered={totals.delivered} pending={totals.pending}"
            + (f" last_error={totals.error}" if totals.error else "")
        )
