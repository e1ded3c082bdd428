"""Model work per NGCF request (fine-tuning + ranking), p50 / p95, on one thread.

    python benchmarks/ngcf_latency.py --checkpoint data/checkpoints/ngcf-ml100k.pt
    python benchmarks/ngcf_latency.py --synthetic original --synthetic 10x

`--synthetic original` builds a graph of the original deployment's size (15,039
users, 27,761 items, about 430,000 interactions, power-law item popularity) and
`10x` ten times that; each is trained for ONE epoch (about eight full-graph steps)
just to have a checkpoint of the right shape: the timing does not depend on the
weights' quality.
Histories of 1 to 50 clicks are drawn with the items' popularity. Catalogues
above the predictor's exact_ranking_limit are ranked from its candidate index; the
last column says how much of the exact top 10 (a full scan, same fine-tuned
visitor) the timed path returned. `--cache-dir` keeps the synthetic checkpoints
(and their candidate indexes) for the next run.

The synthetic checkpoints name `--requests` of their users by a key, as the site
names visitors who became user nodes, and those users are timed on the trained
path too: their own node as trained (no newer events), and that node fine-tuned
on 1 to 5 newer movies.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pytorch_models.checkpoint import key_digest  # noqa: E402
from pytorch_models.data import Interactions  # noqa: E402
from pytorch_models.ngcf.candidates import CandidateIndex  # noqa: E402
from pytorch_models.ngcf.predictor import NgcfPredictor  # noqa: E402
from pytorch_models.ngcf.signals import recency_weights  # noqa: E402
from pytorch_models.records import TrainConfig  # noqa: E402
from pytorch_models.training import train_ngcf  # noqa: E402

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


def bench_key(user: int) -> str:
    return f"bench:{user}"


def one_epoch_checkpoint(
    data: Interactions, folder: Path, name: str, keyed: int = 0
) -> Path:
    """A checkpoint trained for one epoch, naming ``keyed`` users by bench_key
    (none by default: every visitor folds in)."""
    path = folder / f"synthetic-{name}-one-epoch-keyed{keyed}.pt"
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
    config = TrainConfig(
        max_epochs=1, batch_size=max(65_536, len(train) // 8), refit=False
    )
    t0 = time.perf_counter()
    users = np.random.default_rng(2).choice(np.unique(train.users), keyed, False)
    user_keys = {int(u): key_digest(bench_key(int(u))) for u in users}
    result = train_ngcf(train, valid, empty, config, user_keys=user_keys)
    print(f"  one training epoch: {time.perf_counter() - t0:.1f}s", flush=True)
    return result.checkpoint.save(path)


def draw_histories(
    predictor: NgcfPredictor, popularity: np.ndarray | None, requests: int, seed: int
) -> list[list[int]]:
    """Histories of 1 to 50 distinct movies drawn with the given popularity."""
    rng = np.random.default_rng(seed)
    ids = predictor.item_ids
    p = None if popularity is None else popularity / popularity.sum()
    return [
        rng.choice(ids, size=int(rng.integers(1, 51)), replace=False, p=p).tolist()
        for _ in range(requests)
    ]


def time_requests(predictor: NgcfPredictor, histories: list[list[int]]) -> list[float]:
    """Model work per request as the site calls it: every other movie rated
    (0.5 to 5 stars), recency weights, the last movie marked not interested."""
    ids = predictor.item_ids
    for warm in range(5):
        predictor.recommend(ids[:10].tolist(), k=10, seed=warm)
    rng = np.random.default_rng(0)
    times = []
    for r, history in enumerate(histories):
        liked, hidden = (
            history[:-1] or history,
            history[-1:] if len(history) > 1 else [],
        )
        seconds, _ = timed_request(
            predictor, liked, history, history, rng, r, negative_ids=hidden
        )
        times.append(seconds)
    return times


def timed_request(
    predictor: NgcfPredictor,
    movie_ids: list[int],
    history: list[int],
    rated: list[int],
    rng: np.random.Generator,
    seed: int,
    **options,
):
    """(Wall, CPU) seconds of one recommend() as the site calls it: every other movie of
    ``rated`` rated (0.5 to 5 stars), recency weights over ``history``."""
    stars = rng.integers(1, 11, size=len(history)) / 2
    ratings = {m: float(s) for m, s in zip(rated[::2], stars[::2], strict=False)}
    weights = dict(zip(history, recency_weights(len(history), 10.0), strict=True))
    t0, c0 = time.perf_counter(), time.thread_time()
    recs = predictor.recommend(
        movie_ids,
        k=10,
        epochs=10,
        seed=seed,
        ratings=ratings,
        weights=weights,
        **options,
    )
    return (time.perf_counter() - t0, time.thread_time() - c0), recs


def time_trained_requests(
    predictor: NgcfPredictor, newer_counts: range, seed: int
) -> list[float]:
    """Model work per request of the keyed users on their trained nodes, as the
    site calls it, with 0 (just the trained node) or 1 to 5 newer movies."""
    rng = np.random.default_rng(seed)
    times = []
    for r, digest in enumerate(predictor.trained_digests):
        node = predictor.trained_node(digest)
        fresh = [m for m in predictor.item_ids.tolist() if m not in node.movie_ids]
        count = int(rng.choice(newer_counts))
        newer = rng.choice(fresh, size=count, replace=False).tolist()
        history = [*newer, *sorted(node.movie_ids)]
        seconds, recs = timed_request(
            predictor, history, history, newer, rng, r, trained=node, newer_ids=newer
        )
        assert recs.served_from != "fold-in"
        times.append(seconds)
    return times


def served_config():
    """The site's fine-tuning settings (pseudorec.settings NGCF_*)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pseudorec.settings")
    django.setup()
    from movie.recommendations.config import served_finetune_config

    return served_finetune_config()


def agreement_with_exact(predictor: NgcfPredictor, histories: list[list[int]]) -> str:
    """Share of the exact top 10 that the candidate-index path returns."""
    if predictor.candidates is None:
        return "exact"
    exact = copy.copy(predictor)
    exact.candidates = None  # same weights and fine-tuning, full scan
    shared = []
    for r, history in enumerate(histories):
        a = {x.movie_id for x in exact.recommend(history, k=10, seed=r)}
        b = {x.movie_id for x in predictor.recommend(history, k=10, seed=r)}
        shared.append(len(a & b) / max(len(a), 1))
    return f"{np.mean(shared):.3f}"


def report(
    name: str,
    predictor: NgcfPredictor,
    times: list[tuple[float, float]],
    agreement: str,
) -> None:
    """One row: wall p50 / p95 / mean, then CPU p50 / p95 of this thread (what
    a loaded machine does not inflate)."""
    ms = np.array(times)[:, 0] * 1000
    cpu = np.array(times)[:, 1] * 1000
    n_items = predictor.n_items
    print(
        f"| {name} | {n_items:,} | {len(ms)} | {np.percentile(ms, 50):.2f} | "
        f"{np.percentile(ms, 95):.2f} | {statistics.mean(ms):.2f} | "
        f"{np.percentile(cpu, 50):.2f} | {np.percentile(cpu, 95):.2f} | "
        f"{agreement} |",
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
        "--index-nprobe",
        type=int,
        nargs="*",
        default=[],
        help="for each --checkpoint, also rank through a candidate index forced "
        "onto it, scanning this many lists (accuracy check on a trained model)",
    )
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
        predictor = NgcfPredictor.load(path, served_config())
        # histories drawn with the training popularity (degree + 1)
        degree = predictor.item_degree.astype(np.float64) + 1.0
        histories = draw_histories(predictor, degree, args.requests, args.seed)
        times = time_requests(predictor, histories)
        agreement = agreement_with_exact(predictor, histories)
        results.append((Path(path).name, predictor, times, agreement))
        if args.index_nprobe:
            indexed = copy.copy(predictor)
            indexed.candidates = CandidateIndex.build(  # built here, not cached
                predictor.model.item_final,
                predictor.prior,
                nprobe=predictor.config.candidate_nprobe,
            )
            nlist = indexed.candidates.index.nlist
            for nprobe in args.index_nprobe:
                indexed.candidates.nprobe = nprobe
                times = time_requests(indexed, histories)
                agreement = agreement_with_exact(indexed, histories)
                name = f"{Path(path).name}, index forced: {nprobe} of {nlist} lists"
                results.append((name, indexed, times, agreement))
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.cache_dir or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for size in args.synthetic:
            print(f"building synthetic graph '{size}' {SIZES[size]}", flush=True)
            data, item_p = synthetic_interactions(*SIZES[size], seed=args.seed)
            path = one_epoch_checkpoint(
                data, folder, f"{size}-seed{args.seed}", args.requests
            )
            t0 = time.perf_counter()
            predictor = NgcfPredictor.load(path, served_config())
            print(f"  loaded in {time.perf_counter() - t0:.1f}s", flush=True)
            popularity = item_p[predictor.item_ids - 1]
            histories = draw_histories(predictor, popularity, args.requests, args.seed)
            times = time_requests(predictor, histories)
            agreement = agreement_with_exact(predictor, histories)
            name = f"synthetic {size} (1-epoch checkpoint)"
            results.append((name, predictor, times, agreement))
            for label, counts in (
                ("no newer movies", range(0, 1)),
                ("1-5 newer movies fine-tuned", range(1, 6)),
            ):
                times = time_trained_requests(predictor, counts, args.seed)
                name = f"synthetic {size}, trained nodes, {label}"
                results.append((name, predictor, times, "-"))
    print()
    print(
        "| model | items | requests | p50 ms | p95 ms | mean ms | CPU p50 ms | "
        "CPU p95 ms | top-10 shared with exact ranking |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, predictor, times, agreement in results:
        report(name, predictor, times, agreement)


if __name__ == "__main__":
    main()
