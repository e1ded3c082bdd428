"""Time to retrain on MovieLens-100k plus synthetic visitor events from the click
log (`train_ngcf --include-clicklog`, the scheduled retraining's job).

A database of its own (a temporary SQLite file) gets the MovieLens catalogue and
ratings and `--events` synthetic clicks in the SQL click-log store: visitors of
20 clicks each, every visitor copying 20 movies of a random MovieLens user (so
the clicks co-occur as real tastes do). Each size is one full training (early
stopping, then the refit), registered as a model version. Printed per size:
events, visitor user nodes, training pairs, seconds to read the click log, wall
and CPU seconds of the training job, epochs, test NDCG@20 on the gate split.

    python -m benchmarks.retrain_clicklog --events 10000 100000 --threads 1
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVENTS_PER_VISITOR = 20


def _setup(tmp: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pseudorec.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ARTIFACT_DIR = tmp / "artifacts"
    call_command("migrate", "--no-input", verbosity=0)
    call_command("import_movielens", verbosity=0)


def events_fill(n_events: int, seed: int = 0) -> int:
    """Replace the click log with `n_events` synthetic clicks; return visitors."""
    import numpy as np

    from movie.models import ClickEvent, Interaction

    rng = np.random.default_rng(seed)
    histories: dict[int, list[int]] = {}
    for user, movie in Interaction.objects.values_list("ml_user_id", "movie_id"):
        histories.setdefault(user, []).append(movie)
    tastes = [h for h in histories.values() if len(h) >= EVENTS_PER_VISITOR]
    ClickEvent.objects.all().delete()
    visitors = n_events // EVENTS_PER_VISITOR
    rows = []
    for v in range(visitors):
        taste = tastes[rng.integers(len(tastes))]
        for k, movie in enumerate(rng.choice(taste, EVENTS_PER_VISITOR, replace=False)):
            rows.append(
                ClickEvent(
                    event_id=uuid.uuid4(),
                    user_key=f"v:bench{v}",
                    movie_id=int(movie),
                    kind="click",
                    ts=1_700_000_000_000 + v * 1000 + k,
                )
            )
    ClickEvent.objects.bulk_create(rows, batch_size=5000)
    return visitors


def run_size(n_events: int, threads: int, tmp: Path) -> dict:
    from movie.clicklog import get_clicklog_store
    from movie.recommendations.jobs import TrainJob, train_ngcf

    events_fill(n_events)
    start = time.perf_counter()
    read = sum(1 for _ in get_clicklog_store().events_scan())
    read_s = time.perf_counter() - start
    job = TrainJob(
        out=tmp / f"ngcf-{n_events}.pt", threads=threads, include_clicklog=True
    )
    start, cpu = time.perf_counter(), time.process_time()
    trained = train_ngcf(job, say=lambda line: None)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    m = trained.metrics
    return {
        "events": read,
        "users": m.n_users,
        "train": m.n_train,
        "read_s": read_s,
        "wall_s": wall,
        "cpu_s": cpu,
        "epochs": f"{m.epochs}+{m.refit_epochs}",
        "ndcg": m.test["ndcg@20"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min)")
    header = (
        f"{'events':>7} {'users':>6} {'train pairs':>11} {'read s':>7} "
        f"{'train s':>8} {'cpu s':>8} {'epochs':>7} {'test N@20':>9}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        _setup(Path(tmp))
        print(header)
        for n in args.events:
            r = run_size(n, args.threads, Path(tmp))
            print(
                f"{r['events']:7d} {r['users']:6d} {r['train']:11d} "
                f"{r['read_s']:7.2f} {r['wall_s']:8.1f} {r['cpu_s']:8.1f} "
                f"{r['epochs']:>7} {r['ndcg']:9.4f}",
                flush=True,
            )
    print(f"load average after: {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
