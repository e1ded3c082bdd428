"""Train NGCF on MovieLens-100k with the default config, one split seed at a time.

    python benchmarks/train_ngcf_ml100k.py --threads 1 --seeds 0 1 2

Each seed makes a per-user random 80/10/10 split (pytorch_models.split_per_user),
trains the default TrainConfig (early stopping, then the refit on train + valid)
and reports timings, test Recall/NDCG@20 and the peak RSS. "to-best s" is the
early-stopping run until its best epoch, "refit s" the refit, "total s" everything
until the final checkpoint. Every seed runs in a fresh process, so the RSS is that
seed's own peak.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import resource
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / "data" / "ml-100k" / "ml-100k.inter"


def run_seed(
    data: str, seed: int, threads: int, max_epochs: int | None, overrides: dict
) -> dict:
    """Split with ``seed``, train (training seed = split seed), return one table row."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    sys.path.insert(0, str(ROOT))
    import dataclasses
    import logging

    import torch

    from pytorch_models import (
        NGCFConfig,
        TrainConfig,
        read_interactions,
        split_per_user,
        train_ngcf,
    )

    torch.set_num_threads(threads)
    logging.basicConfig(level=logging.WARNING, format=f"  [seed {seed}] %(message)s")
    interactions, _ = read_interactions(data)
    split, _ = split_per_user(interactions, seed=seed)
    config = TrainConfig(seed=seed)
    if max_epochs is not None:
        config = dataclasses.replace(config, max_epochs=max_epochs)
    model = {k[6:]: v for k, v in overrides.items() if k.startswith("model.")}
    rest = {k: v for k, v in overrides.items() if not k.startswith("model.")}
    config = dataclasses.replace(
        config, model=dataclasses.replace(NGCFConfig(), **model), **rest
    )
    result = train_ngcf(split.train, split.valid, split.test, config)
    m = result.metrics
    return {
        "seed": seed,
        "best_epoch": m.best_epoch,
        "epochs": m.epochs,
        "s_per_epoch": m.train_seconds_per_epoch,
        "cpu_per_epoch": m.cpu_seconds_per_epoch,
        "to_best_s": m.seconds_to_best,
        "refit_s": m.refit_seconds,
        "cpu_to_best_s": m.cpu_seconds_to_best,
        "total_s": m.train_seconds,
        "valid_recall20": m.valid["recall@20"],
        "recall20": m.test["recall@20"],
        "ndcg20": m.test["ndcg@20"],
        # Linux reports ru_maxrss in KiB.
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def add_set_argument(parser: argparse.ArgumentParser, help: str) -> None:
    """`--set FIELD=VALUE`, repeatable: TrainConfig overrides for the runs."""
    parser.add_argument(
        "--set", action="append", default=[], metavar="FIELD=VALUE", help=help
    )


def config_overrides(args: argparse.Namespace) -> dict:
    """The `--set` overrides as {field: value}, each value read as JSON (and
    printed, so the output says what ran)."""
    overrides = {}
    for item in args.set:
        name, _, value = item.partition("=")
        overrides[name] = json.loads(value)
    if overrides:
        print(f"overrides: {overrides}")
    return overrides


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="interaction TSV")
    parser.add_argument("--threads", type=int, default=1, help="torch/BLAS threads")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-epochs", type=int, default=None, help="override cap")
    add_set_argument(
        parser,
        "override a TrainConfig field (model.FIELD for NGCFConfig), value in "
        "JSON, e.g. --set negative_pool=1 --set refit=false",
    )
    args = parser.parse_args(argv)
    overrides = config_overrides(args)

    header = (
        f"{'seed':>4} {'best':>5} {'epochs':>6} {'s/epoch':>8} {'cpu s/ep':>8} "
        f"{'to-best s':>9} {'cpu to-best':>11} {'refit s':>7} {'total s':>8} "
        f"{'val R@20':>8} "
        f"{'test R@20':>9} {'test N@20':>9} {'peak RSS MiB':>12}"
    )
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min)")
    print(header)
    rows = []
    context = multiprocessing.get_context("spawn")
    for seed in args.seeds:
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
            row = pool.submit(
                run_seed, args.data, seed, args.threads, args.max_epochs, overrides
            ).result()
        rows.append(row)
        print(
            f"{row['seed']:>4} {row['best_epoch']:>5} {row['epochs']:>6} "
            f"{row['s_per_epoch']:>8.3f} {row['cpu_per_epoch']:>8.3f} "
            f"{row['to_best_s']:>9.1f} {row['cpu_to_best_s']:>11.1f} "
            f"{row['refit_s']:>7.1f} {row['total_s']:>8.1f} "
            f"{row['valid_recall20']:>8.4f} "
            f"{row['recall20']:>9.4f} {row['ndcg20']:>9.4f} "
            f"{row['peak_rss_mib']:>12.0f}",
            flush=True,
        )
    if len(rows) > 1:
        mean = {k: sum(r[k] for r in rows) / len(rows) for k in rows[0] if k != "seed"}
        print(
            f"{'mean':>4} {mean['best_epoch']:>5.0f} {mean['epochs']:>6.0f} "
            f"{mean['s_per_epoch']:>8.3f} {mean['cpu_per_epoch']:>8.3f} "
            f"{mean['to_best_s']:>9.1f} {mean['cpu_to_best_s']:>11.1f} "
            f"{mean['refit_s']:>7.1f} {mean['total_s']:>8.1f} "
            f"{mean['valid_recall20']:>8.4f} "
            f"{mean['recall20']:>9.4f} {mean['ndcg20']:>9.4f} "
            f"{mean['peak_rss_mib']:>12.0f}"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f} (1 min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
