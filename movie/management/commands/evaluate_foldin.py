from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from movie.recommendations.jobs import evaluate_foldin, evaluate_foldin_graded


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
        parser.add_argument(
            "--graded",
            action="store_true",
            help="the graded protocol: stars revealed, relevant = later movies "
            "rated 4 or more; today's method, the graded one with and without "
            "fine-tuning, popularity and EASE over --seeds",
        )
        parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])

    def handle(self, *args, **options):
        if options["graded"]:
            self._graded(options)
            return
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

    def _graded(self, options) -> None:
        default = settings.DATA_DIR / "reports" / "foldin-graded"
        out_json = options["out_json"]
        if out_json == str(settings.DATA_DIR / "reports" / "foldin.json"):
            out_json = str(default.with_suffix(".json"))
        out_md = options["out_md"]
        if out_md == str(settings.DATA_DIR / "reports" / "foldin.md"):
            out_md = str(default.with_suffix(".md"))
        try:
            report = evaluate_foldin_graded(
                out_json=Path(out_json),
                out_markdown=Path(out_md),
                seeds=tuple(options["seeds"]),
                threads=options["threads"],
                say=self.stdout.write,
            )
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(report.markdown())
