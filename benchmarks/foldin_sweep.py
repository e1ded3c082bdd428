"""Fold-in quality as the predictor's settings change, on one fold-in split.

    python benchmarks/foldin_sweep.py --seed 1 --neighbour-weights 0 0.5 1 2 4 \
        --prior-weights 0 1 2 --lrs 0 1e-3 2e-3 5e-3 1e-2

Pretrains once without the held-out users (the protocol of `manage.py
evaluate_foldin`), then reports Recall@20 / NDCG@20 of in-request fine-tuning for
each pair of neighbour-term and popularity-prior weights (at the default step
size), each Adam step size (at the default weights; 0 means the warm start alone),
plain popularity, and the EASE reference for each L2 weight. Use a seed other
than the reported one (0) to choose settings.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pytorch_models.data import read_interactions  # noqa: E402
from pytorch_models.foldin import (  # noqa: E402
    FoldinConfig,
    pretraining_split,
    rank_ease,
    rank_foldin,
    ranking_quality,
    split_heldout_users,
)
from pytorch_models.ngcf.predictor import FinetuneConfig, NgcfPredictor  # noqa: E402
from pytorch_models.training import train_ngcf  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "data" / "ml-100k" / "ml-100k.inter"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--neighbour-weights", type=float, nargs="*", default=[0, 0.5, 1, 2, 4]
    )
    parser.add_argument("--prior-weights", type=float, nargs="*", default=[0, 1, 2])
    parser.add_argument("--lrs", type=float, nargs="*", default=[0, 1e-3, 2e-3, 1e-2])
    parser.add_argument(
        "--ease-l2s", type=float, nargs="*", default=[50, 100, 200, 500, 1000]
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = FoldinConfig(seed=args.seed)
    interactions, _ = read_interactions(DATA)
    pretrain, heldout = split_heldout_users(interactions, config)
    train, valid, empty = pretraining_split(pretrain, args.seed)
    result = train_ngcf(train, valid, empty, replace(config.train, seed=args.seed))
    print(f"split seed {args.seed}: {len(heldout.users)} held-out users")
    print("| setting | Recall@20 | NDCG@20 |")
    print("| --- | ---: | ---: |")

    def row(name: str, ranked: dict[int, list[int]]) -> None:
        quality = ranking_quality(ranked, heldout, 20)
        print(f"| {name} | {quality.recall:.4f} | {quality.ndcg:.4f} |")

    default = FinetuneConfig()
    settings = [
        (
            f"neighbour {a:g}, prior {b:g}, lr {default.learning_rate:g}",
            replace(default, neighbour_weight=a, popularity_weight=b),
            10,
        )
        for a in args.neighbour_weights
        for b in args.prior_weights
    ]
    for lr in args.lrs:
        name = (
            f"neighbour {default.neighbour_weight:g}, "
            f"prior {default.popularity_weight:g}, lr {lr:g}"
        )
        settings.append((name, replace(default, learning_rate=lr), 10 if lr else 0))
    for name, finetune, epochs in settings:
        predictor = NgcfPredictor(result.checkpoint, finetune)
        row(name, rank_foldin(predictor, heldout, 20, epochs, args.seed))
    degree = result.checkpoint.item_degree.numpy()
    item_ids = result.checkpoint.item_ids.numpy()
    order = item_ids[np.argsort(-degree, kind="stable")].tolist()
    row(
        "popularity alone",
        {
            u: [i for i in order if i not in set(heldout.revealed[u].tolist())][:20]
            for u in heldout.users
        },
    )
    for l2 in args.ease_l2s:
        row(f"EASE, L2 {l2:g}", rank_ease(pretrain, heldout, l2, 20))


if __name__ == "__main__":
    main()
