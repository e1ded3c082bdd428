from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from movie.recommendations.jobs import evaluate_foldin


class Command(BaseCommand):
    help = (
        "Hold out 20% of users, reveal each one's first 10 interactions, and compare "
        "in-request fine-tuning with retraining, popularity and the original design."
    )

    def add_arguments(self, parser):
        default = settings.DATA_DIR / "reports" / "foldin"
        parser.add_argument("--out-json", default=str(default.with_suffix(".json")))
        parser.add_argument("--out-md", default=str(default.with_suffix(".md")))
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--threads", type=int, default=1)

    def handle(self, *args, **options):
        try:
            report = evaluate_foldin(
                out_json=Path(options["out_json"]),
                out_markdown=Path(options["out_md"]),
                seed=options["seed"],
                threads=options["threads"],
                say=self.stdout.write,
            )
        except (ValueError, OSError) as exc:  # DataError is a ValueError
            raise CommandError(str(exc)) from exc
        self.stdout.write(report.markdown())
