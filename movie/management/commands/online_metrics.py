import json

from django.core.management.base import BaseCommand

from movie.online_metrics import compute_online_metrics


class Command(BaseCommand):
    help = "Online metrics per model version, surface and day (CTR and clicks)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print JSON rows")

    def handle(self, *args, **options):
        rows = compute_online_metrics()
        if options["json"]:
            self.stdout.write(json.dumps([r.to_dict() for r in rows], indent=2))
            return
        self.stdout.write(
            f"{'day':10} {'model_version':32} {'surface':8} {'shown':>7} "
            f"{'clicked':>7} {'ctr':>6} {'share':>6}  clicks by position"
        )
        for r in rows:
            positions = ", ".join(
                f"{p}:{n}" for p, n in sorted(r.clicks_by_position.items())
            )
            self.stdout.write(
                f"{r.day:10} {r.model_version:32} {r.surface:8} {r.impressions:7d} "
                f"{r.clicked_lists:7d} {r.ctr:6.3f} {r.share_of_clicks:6.3f}  "
                f"{positions}"
            )
