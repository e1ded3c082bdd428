"""Proportional set size (PSS) of gunicorn workers serving one NGCF checkpoint:
does each host hold one copy of the model's item matrices?

    python -m benchmarks.serving_pss --synthetic 10x --cache-dir data/bench

Serves the checkpoint (default: the one-epoch synthetic 10x model of
benchmarks/ngcf_latency.py, built or reused from ``--cache-dir``) through
gunicorn with 1 worker, then with 4, each worker one thread. Each worker gets
NGCF page views until it has loaded the model (its /proc/<pid>/maps shows the
item matrix file); then PSS and RSS are read from /proc/<pid>/smaps_rollup. PSS
divides every shared page by the processes that map it, so the sum over the
master and the workers is what the host really holds (the master loads the
model before forking, gunicorn.conf.py). The checkpoint's shared files (item
matrices, candidate index) are written once by a process of their own before
gunicorn starts. The site's database is copied with its model registry emptied,
so the workers serve that checkpoint (NGCF_CHECKPOINT), not the champion.
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from benchmarks import ngcf_latency
from benchmarks.http_visitor import Visitor
from benchmarks.ngcf_http import worker_pids
from benchmarks.servers import gunicorn

HISTORY = (50, 100, 181, 258, 1, 288, 286, 294, 300, 121)
ROOT = Path(__file__).resolve().parent.parent


def _database_without_champion(folder: Path) -> Path:
    """A copy of the site's SQLite database whose registry names no champion:
    the site then serves the NGCF_CHECKPOINT file."""
    copy = folder / "db.sqlite3"
    shutil.copyfile(ROOT / "db.sqlite3", copy)
    with sqlite3.connect(copy) as db:
        db.execute("DELETE FROM movie_championchange")
    return copy


def _prepare(path: str) -> None:
    from pytorch_models.ngcf.predictor import NgcfPredictor

    NgcfPredictor.load(path)


def rollup_mib(pid: int) -> dict[str, float]:
    """Pss and Rss of ``pid`` in MiB, from /proc/<pid>/smaps_rollup."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("Pss", "Rss"):
            values[name] = int(rest.split()[0]) / 1024
    return values


def _maps_model(pid: int, marker: str) -> bool:
    return marker in Path(f"/proc/{pid}/maps").read_text()


def measure(
    checkpoint: Path, workers: int, database: Path, limit_s: float = 600
) -> tuple[dict, list[dict]]:
    """PSS/RSS of the gunicorn master and of each worker, once every worker has
    the model (loaded by the master before the fork, or by the worker)."""
    marker = f"{checkpoint.name}.item_final.npy"
    env = {"NGCF_CHECKPOINT": str(checkpoint), "DATABASE_URL": f"sqlite:///{database}"}
    with gunicorn(workers=workers, threads=1, env=env) as (server, base):
        visitor = Visitor(base)
        for movie_id in HISTORY:
            visitor.click(movie_id)
        deadline = time.monotonic() + limit_s
        pids = worker_pids(server.pid)
        while not all(_maps_model(pid, marker) for pid in pids):
            if time.monotonic() > deadline:
                raise RuntimeError("not every worker loaded the model in time")
            visitor.reconnect()  # any worker
            visitor.request("GET", "/movie/ngcf/")
        for _ in range(4 * workers):  # a few more requests on warm workers
            visitor.reconnect()
            visitor.request("GET", "/movie/ngcf/")
        return rollup_mib(server.pid), [rollup_mib(pid) for pid in pids]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--synthetic", default="10x", choices=ngcf_latency.SIZES)
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.cache_dir or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        if args.checkpoint:
            path = Path(args.checkpoint).resolve()
        else:
            data, _ = ngcf_latency.synthetic_interactions(
                *ngcf_latency.SIZES[args.synthetic], seed=0
            )
            path = ngcf_latency.one_epoch_checkpoint(
                data, folder, f"{args.synthetic}-seed0"
            ).resolve()
        context = multiprocessing.get_context("spawn")
        prepare = context.Process(target=_prepare, args=(str(path),))
        prepare.start()
        prepare.join()
        print(f"checkpoint: {path.name}")
        print(
            "| workers | master PSS MiB | PSS per worker MiB | total PSS MiB "
            "(master + workers) | RSS per worker MiB |"
        )
        print("| ---: | ---: | --- | ---: | --- |")
        totals = {}
        database = _database_without_champion(Path(scratch))
        for workers in (1, 4):
            master, rows = measure(path, workers, database)
            totals[workers] = master["Pss"] + sum(r["Pss"] for r in rows)
            pss = ", ".join(f"{r['Pss']:.0f}" for r in rows)
            rss = ", ".join(f"{r['Rss']:.0f}" for r in rows)
            print(
                f"| {workers} | {master['Pss']:.0f} | {pss} | {totals[workers]:.0f} "
                f"| {rss} |",
                flush=True,
            )
        print(f"total PSS with 4 workers / with 1 worker: {totals[4] / totals[1]:.2f}")


if __name__ == "__main__":
    main()
