"""NGCF training cost per epoch on synthetic graphs of growing size, 1 and 2 threads.

    python -m benchmarks.train_ngcf_scale --sizes ml100k original 10x --threads 1 2

Each graph has power-law item popularity (benchmarks/ngcf_latency.py's
``synthetic_interactions``) and is split per user 80/10/10 (the test part is not
used). Each (size, threads) runs the default TrainConfig for ``--epochs`` epochs
without the refit in a fresh process, so its peak RSS is its own. Reported per
epoch, as the mean over the epochs after the first (the first pays one-off
allocations): training seconds (the steps), validation seconds (early stopping's
ranking of the sampled validation users) and CPU seconds, plus the steps per
epoch and the batch size.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import os
import resource
import statistics
import sys
import time
from pathlib import Path

from benchmarks.train_ngcf_ml100k import add_set_argument, config_overrides

ROOT = Path(__file__).resolve().parents[1]

SIZES = {
    "ml100k": (943, 1_682, 100_000),
    "original": (15_039, 27_761, 430_000),
    "10x": (150_390, 277_610, 4_300_000),
}


def run(size: str, threads: int, epochs: int, overrides: dict) -> dict:
    """Train ``size`` on ``threads`` threads for ``epochs`` epochs (TrainConfig
    fields replaced by ``overrides``); one table row."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    sys.path.insert(0, str(ROOT))
    import dataclasses

    import torch

    from benchmarks.ngcf_latency import synthetic_interactions
    from pytorch_models.data import Interactions, split_per_user
    from pytorch_models.records import TrainConfig
    from pytorch_models.training import epoch_batch_size, train_ngcf

    torch.set_num_threads(threads)
    data, _ = synthetic_interactions(*SIZES[size], seed=0)
    split, _ = split_per_user(data, seed=0)
    config = TrainConfig(max_epochs=epochs, patience=epochs, refit=False)
    config = dataclasses.replace(config, **overrides)
    reports = []
    started = time.perf_counter()
    result = train_ngcf(
        split.train,
        split.valid,
        Interactions.from_pairs([], []),
        config,
        progress=reports.append,
    )
    later = reports[1:] or reports
    n_train = result.metrics.n_train
    batch = epoch_batch_size(n_train, config)
    return {
        "size": size,
        "threads": threads,
        "users": result.metrics.n_users,
        "items": result.metrics.n_items,
        "edges": n_train,
        "steps": -(-n_train // batch),
        "batch": batch,
        "valid_users": result.metrics.n_valid_users,
        "train_s": statistics.mean(r.seconds - r.valid_seconds for r in later),
        "valid_s": statistics.mean(r.valid_seconds for r in later),
        "epoch_s": statistics.mean(r.seconds for r in later),
        "cpu_s": statistics.mean(r.cpu_seconds for r in later),
        "total_s": time.perf_counter() - started,
        # Linux reports ru_maxrss in KiB
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=SIZES)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--epochs", type=int, default=3)
    add_set_argument(
        parser,
        "override a TrainConfig field, value in JSON, e.g. --set hub_order=false",
    )
    args = parser.parse_args(argv)
    overrides = config_overrides(args)
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min)")
    print(
        "| graph | threads | users | items | train edges | steps x batch | "
        "valid users | train s/epoch | valid s/epoch | epoch s | CPU s/epoch | "
        "peak RSS MiB |"
    )
    print("| --- |" + " ---: |" * 11)
    context = multiprocessing.get_context("spawn")
    for size in args.sizes:
        for threads in args.threads:
            with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
                r = pool.submit(run, size, threads, args.epochs, overrides).result()
            print(
                f"| {r['size']} | {r['threads']} | {r['users']:,} | {r['items']:,} | "
                f"{r['edges']:,} | {r['steps']} x {r['batch']:,} | "
                f"{r['valid_users']:,} | {r['train_s']:.2f} | {r['valid_s']:.2f} | "
                f"{r['epoch_s']:.2f} | {r['cpu_s']:.2f} | {r['peak_mib']:,.0f} |",
                flush=True,
            )
    print(f"load average after: {os.getloadavg()[0]:.2f} (1 min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
