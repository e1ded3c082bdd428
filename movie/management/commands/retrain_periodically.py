from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from movie.management.stopping import stop_on_signals
from movie.recommendations.jobs import TrainJob, retrain_periodically
from pytorch_models.data import DataError


class Command(BaseCommand):
    help = (
        "Every RETRAIN_INTERVAL seconds, train on MovieLens plus the click log and "
        "promote the new version if the gate passes. Loops until SIGTERM."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval", type=float, default=None, help="seconds (RETRAIN_INTERVAL)"
        )
        parser.add_argument("--threads", type=int, default=1)

    def handle(self, *args, **options):
        interval = options["interval"] or settings.RETRAIN_INTERVAL
        try:
            job = TrainJob(
                out=settings.NGCF_CHECKPOINT,
                threads=options["threads"],
                include_clicklog=True,
                promote=True,
            )
        except DataError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"retraining every {interval:.0f} s")
        runs = retrain_periodically(
            job=job, stop=stop_on_signals(), interval_s=interval, say=self.stdout.write
        )
        self.stdout.write(f"retrain_periodically: {runs} trainings")
