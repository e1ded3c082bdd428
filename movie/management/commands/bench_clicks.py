from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from movie.eventbus.benchmark import BenchConfig, clicks_benchmark


class Command(BaseCommand):
    help = (
        "Measure end-to-end clicks per second on the configured stack: HTTP POST "
        "/api/events (gunicorn) -> outbox -> Kafka -> consume_clicks -> DynamoDB."
    )

    def add_arguments(self, parser):
        parser.add_argument("--clicks", type=int, default=2000)
        parser.add_argument("--visitors", type=int, default=20)
        parser.add_argument("--client-threads", type=int, default=4)
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--web-threads", type=int, default=4)
        parser.add_argument("--consumer-workers", type=int, default=4)

    def handle(self, *args, **options):
        config = BenchConfig(
            clicks=options["clicks"],
            visitors=options["visitors"],
            client_threads=options["client_threads"],
            web_workers=options["web_workers"],
            web_threads=options["web_threads"],
            consumer_workers=options["consumer_workers"],
        )
        try:
            result = clicks_benchmark(config=config, log=self.stdout.write)
        except (ImproperlyConfigured, RuntimeError) as exc:
            raise CommandError(str(exc)) from exc
        for line in result.lines():
            self.stdout.write(line)
