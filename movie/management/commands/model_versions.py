import json

from django.core.management.base import BaseCommand

from movie.recommendations.versions import GATE_METRIC, list_versions


class Command(BaseCommand):
    help = "List the model versions, newest first, with their status and metrics."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args, **options):
        rows = [
            {
                "version": v.version,
                "status": v.status,
                "created_at": v.created_at.isoformat(),
                GATE_METRIC: (v.metrics.get("test") or {}).get(GATE_METRIC),
                "visitor_users": v.data_snapshot.get("visitor_users", 0),
                "artifact": v.artifact_uri,
            }
            for v in list_versions()
        ]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        if not rows:
            self.stdout.write("no model versions yet: run `manage.py train_ngcf`")
        for row in rows:
            score = row[GATE_METRIC]
            self.stdout.write(
                f"{row['version']:32} {row['status']:9} {row['created_at'][:19]} "
                f"{GATE_METRIC} {score if score is None else f'{score:.4f}'} "
                f"visitor users {row['visitor_users']}"
            )
