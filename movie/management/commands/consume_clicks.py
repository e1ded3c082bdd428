from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from movie.clicklog import get_clicklog_store
from movie.eventbus.consumer import ConsumerConfig, consume_clicks
from movie.eventbus.kafka import KafkaConfig
from movie.management.stopping import stop_on_signals


class Command(BaseCommand):
    help = (
        "Consume the Kafka click topic into the ClickLog store (CLICKLOG_BACKEND), "
        "committing offsets only after each write. Stops cleanly on SIGTERM/SIGINT."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--idle-timeout",
            type=float,
            default=None,
            help="stop after this many seconds without a message (default: never)",
        )
        parser.add_argument("--session-timeout-ms", type=int, default=10_000)
        parser.add_argument("--log-interval", type=float, default=30.0)
        parser.add_argument(
            "--workers", type=int, default=4, help="store-writing threads"
        )

    def handle(self, *args, **options):
        stop = stop_on_signals()
        try:
            config = ConsumerConfig(
                kafka=KafkaConfig.from_settings(),
                session_timeout_ms=options["session_timeout_ms"],
                idle_timeout_s=options["idle_timeout"],
                log_interval_s=options["log_interval"],
                workers=options["workers"],
            )
            stats = consume_clicks(config=config, store=get_clicklog_store(), stop=stop)
        except (ImproperlyConfigured, ConnectionError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"consume_clicks stopped: {stats.line()}")
