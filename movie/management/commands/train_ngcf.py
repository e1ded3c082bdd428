from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from movie.artifacts import ArtifactError
from movie.recommendations.jobs import TrainJob, train_ngcf
from movie.recommendations.versions import VersionError, register_first_version
from pytorch_models.checkpoint import FORMAT_VERSION, CheckpointError, load_checkpoint
from pytorch_models.data import DataError


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _format_version(path: Path) -> int | None:
    """The checkpoint's format version, or None when it is not one we can read."""
    try:
        return load_checkpoint(path).format_version
    except (CheckpointError, OSError):
        return None


class Command(BaseCommand):
    help = (
        "Train NGCF (on the imported ratings with a seeded per-user 80/10/10 split, "
        "or on TSV files) and write the checkpoint the site serves."
    )

    def add_arguments(self, parser):
        parser.add_argument("--train", help="TSV: user_id<TAB>item_id[<TAB>timestamp]")
        parser.add_argument("--valid", help="TSV, same columns")
        parser.add_argument("--test", help="TSV, same columns")
        parser.add_argument("--out", default=str(settings.NGCF_CHECKPOINT))
        parser.add_argument("--epochs", type=int, help="maximum number of epochs")
        parser.add_argument("--threads", type=int, default=1)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--metrics-json", help="also write the metrics here")
        parser.add_argument(
            "--include-clicklog",
            action="store_true",
            help="also train on the visitors' events in the click-log store",
        )
        parser.add_argument(
            "--min-visitor-events",
            type=int,
            default=3,
            help="events a visitor needs to become a user node (default 3)",
        )
        parser.add_argument(
            "--promote",
            action="store_true",
            help="make the new version the champion if the promotion gate passes",
        )
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="do nothing when the checkpoint already exists (a checkpoint of "
            "an older format is replaced)",
        )

    def handle(self, *args, **options):
        out = Path(options["out"])
        if options["if_missing"] and out.exists():
            version = _format_version(out)
            if version is None or version >= FORMAT_VERSION:
                self.stdout.write(f"checkpoint {out} exists; not retraining")
                self._register_first(out)
                return
            self.stdout.write(
                f"checkpoint {out} has format version {version}, older than "
                f"{FORMAT_VERSION}; retraining"
            )
        try:
            job = TrainJob(
                out=out,
                train=_path(options["train"]),
                valid=_path(options["valid"]),
                test=_path(options["test"]),
                epochs=options["epochs"],
                threads=options["threads"],
                seed=options["seed"],
                metrics_json=_path(options["metrics_json"]),
                include_clicklog=options["include_clicklog"],
                min_visitor_events=options["min_visitor_events"],
                promote=options["promote"],
            )
        except DataError as exc:
            raise CommandError(str(exc)) from exc
        bar = tqdm(total=job.epochs, unit="epoch", desc="NGCF", dynamic_ncols=True)

        def progress(report) -> None:
            if report.phase == "refit" and report.epoch == 1:
                bar.set_description("NGCF refit on train+valid")
            postfix = {"loss": f"{report.loss:.4f}", "best": report.best_epoch}
            if report.valid_recall_at_20 is not None:
                postfix["valid R@20"] = f"{report.valid_recall_at_20:.4f}"
            bar.set_postfix(postfix, refresh=False)
            bar.update(1)

        try:
            result = train_ngcf(job, progress=progress, say=self.stdout.write)
        except (DataError, OSError, ArtifactError, VersionError) as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        metrics = result.metrics
        self.stdout.write(
            f"best epoch {metrics.best_epoch} of {metrics.epochs}, "
            f"{metrics.train_seconds_per_epoch:.3f} s/epoch; test recall@20 "
            f"{metrics.test['recall@20']:.4f} ndcg@20 {metrics.test['ndcg@20']:.4f}"
        )

    def _register_first(self, out: Path) -> None:
        try:
            version = register_first_version(checkpoint=out)
        except ArtifactError as exc:
            raise CommandError(str(exc)) from exc
        if version is not None:
            self.stdout.write(f"registered {out} as model version {version.version}")
