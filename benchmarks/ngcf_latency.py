"""Model work per NGCF request (fine-tuning + ranking), p50 / p95, on one thread.

    python benchmarks/ngcf_latency.py --checkpoint data/checkpoints/ngcf-ml100k.pt
    python benchmarks/ngcf_latency.py --synthetic original --synthetic 10x

`--synthetic original` builds a graph of the original deployment's size (15,039
users, 27,761 items, about 430,000 interactions, power-law item popularity) and
`10x` ten times that; each is trained for ONE epoch (about eight full-graph steps)
just to have a checkpoint of the right shape: the timing does not depend on the
weights' quality.
Histories of 1 to 50 clicks are drawn with the items' popularity.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pytorch_models.checkpoint import save_checkpoint  # noqa: E402
from pytorch_models.data import Interactions  # noqa: E402
from pytorch_models.ngcf.predictor import NgcfPredictor  # noqa: E402
from pytorch_models.training import TrainConfig, train_ngcf  # noqa: E402

SIZES = {
    "original": (15_039, 27_761, 430_000),
    "10x": (150_390, 277_610, 4_300_000),
}


def synthetic_interactions(n_users: int, n_items: int, n_pairs: int, seed: int = 0):
    """Unique (user, item) pairs: Zipf-like item popularity (exponent 1), lognormal
    user activity, and at least one interaction for every user and item."""
    rng = np.random.default_rng(seed)
    item_p = 1.0 / np.arange(1, n_items + 1)
    item_p /= item_p.sum()
    item_perm = rng.permutation(n_items)  # popular items are not the low ids
    activity = rng.lognormal(mean=0.0, sigma=1.0, size=n_users)
    draws = int(n_pairs * 1.15)
    users = rng.choice(n_users, size=draws, p=activity / activity.sum())
    items = item_perm[rng.choice(n_items, size=draws, p=item_p)]
    # every item and every user gets at least one interaction, so the whole
    # catalogue is in the graph
    first = rng.integers(0, n_users, size=n_items)
    users = np.concatenate([first, np.arange(n_users), users])
    items = np.concatenate(
        [np.arange(n_items), rng.integers(0, n_items, n_users), items]
    )
    keys = users.astype(np.int64) * n_items + items
    _, where = np.unique(keys, return_index=True)
    keys = keys[np.sort(where)][:n_pairs]  # the guaranteed pairs come first
    return Interactions(keys // n_items + 1, keys % n_items + 1), item_p[
        np.argsort(item_perm)
    ]


def one_epoch_checkpoint(data: Interactions, folder: Path, name: str) -> Path:
    path = folder / f"synthetic-{name}-one-epoch.pt"
    if path.exists():
        print(f"  reusing {path}", flush=True)
        return path
    rng = np.random.default_rng(1)
    # a small validation sample keeps the one evaluation cheap
    valid_rows = rng.choice(len(data), size=min(500, len(data) // 10), replace=False)
    mask = np.zeros(len(data), dtype=bool)
    mask[valid_rows] = True
    train, valid = data.take(np.flatnonzero(~mask)), data.take(valid_rows)
    empty = Interactions.from_pairs([], [])
    # about eight steps, whatever the size: each step propagates the whole graph
    config = TrainConfig(max_epochs=1, batch_size=max(65_536, len(train) // 8))
    t0 = time.perf_counter()
    result = train_ngcf(train, valid, empty, config)
    print(f"  one training epoch: {time.perf_counter() - t0:.1f}s", flush=True)
    return save_checkpoint(result.checkpoint, path)


def time_requests(
    predictor: NgcfPredictor, popularity: np.ndarray | None, requests: int, seed: int
) -> list[float]:
    rng = np.random.default_rng(seed)
    ids = predictor.item_ids
    p = None if popularity is None else popularity / popularity.sum()
    for warm in range(5):
        predictor.recommend(ids[:10].tolist(), k=10, seed=warm)
    times = []
    for r in range(requests):
        size = int(rng.integers(1, 51))
        history = rng.choice(ids, size=size, replace=False, p=p).tolist()
        t0 = time.perf_counter()
        predictor.recommend(history, k=10, epochs=10, seed=r)
        times.append(time.perf_counter() - t0)
    return times


def report(name: str, predictor: NgcfPredictor, times: list[float]) -> None:
    ms = np.array(times) * 1000
    n_items = predictor.n_items
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"| {name} | {n_items:,} | {len(ms)} | {np.percentile(ms, 50):.2f} | "
        f"{np.percentile(ms, 95):.2f} | {statistics.mean(ms):.2f} | {rss:,.0f} |",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", action="append", default=[])
    parser.add_argument("--synthetic", action="append", default=[], choices=SIZES)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--cache-dir",
        default=None,
        help="keep the synthetic checkpoints here and reuse them (default: a "
        "temporary folder, rebuilt each run)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"threads: torch {torch.get_num_threads()}, "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}"
    )
    results = []  # (name, predictor, times)
    for path in args.checkpoint:
        predictor = NgcfPredictor.load(path)
        # histories drawn with the training popularity (degree + 1)
        degree = predictor.checkpoint.item_degree.numpy().astype(np.float64) + 1.0
        times = time_requests(predictor, degree, args.requests, args.seed)
        results.append((Path(path).name, predictor, times))
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.cache_dir or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for size in args.synthetic:
            print(f"building synthetic graph '{size}' {SIZES[size]}", flush=True)
            data, item_p = synthetic_interactions(*SIZES[size], seed=args.seed)
            predictor = NgcfPredictor.load(one_epoch_checkpoint(data, folder, f"{size}-seed{args.seed}"))
            popularity = item_p[predictor.item_ids - 1]
            times = time_requests(predictor, popularity, args.requests, args.seed)
            results.append((f"synthetic {size} (1-epoch checkpoint)", predictor, times))
    print()
    print("| model | items | requests | p50 ms | p95 ms | mean ms | peak RSS MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, predictor, times in results:
        report(name, predictor, times)


if __name__ == "__main__":
    main()
