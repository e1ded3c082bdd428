"""The validation ranking with the bfloat16 shortlist against the exact one, epoch
by epoch, on MovieLens-100k (a tuning split) with the item blocks forced on.

    python -m benchmarks.valid_shortlist --shortlist 21 32 --seed 1 --epochs 30

The site ranks from the shortlist only above 32,768 items (RankingEvaluator);
ml-100k's 1,653 items are ranked here in blocks of 256 as if there were more, so
that the two rankings of the same epoch's embeddings can be compared on a real
model's scores. Prints, per shortlist length, how many epochs gave the exact
validation Recall@20 and NDCG@20 and the largest difference.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shortlist", type=int, nargs="+", default=[21, 32])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--data", default=str(ROOT / "data/ml-100k/ml-100k.inter"))
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.path.insert(0, str(ROOT))
    import torch

    import pytorch_models.training as training
    from pytorch_models import TrainConfig, read_interactions, split_per_user
    from pytorch_models.evaluation import RankingEvaluator

    torch.set_num_threads(1)
    differences: dict[int, list[tuple[float, float]]] = {n: [] for n in args.shortlist}

    class Compared(RankingEvaluator):
        """The exact ranking, and beside it the shortlisted ones of each length."""

        def __init__(self, *pairs, **options) -> None:
            super().__init__(*pairs, **options)
            blocked = {
                **options,
                "one_block_limit": 0,
                "item_batch": 256,
                "shortlist_dtype": torch.bfloat16,
            }
            self.coarse = {
                n: RankingEvaluator(*pairs, **blocked, shortlist=n)
                for n in args.shortlist
            }

        def evaluate(self, users, items):
            exact = super().evaluate(users, items)
            for n, evaluator in self.coarse.items():
                got = evaluator.evaluate(users, items)
                differences[n].append(
                    tuple(got[m] - exact[m] for m in ("recall@20", "ndcg@20"))
                )
            return exact

    interactions, _ = read_interactions(args.data)
    split, _ = split_per_user(interactions, seed=args.seed)
    config = TrainConfig(seed=args.seed, max_epochs=args.epochs, refit=False)
    real = training.RankingEvaluator
    training.RankingEvaluator = Compared  # the validation's, and the test's
    try:
        training.train_ngcf(split.train, split.valid, split.test, config)
    finally:
        training.RankingEvaluator = real
    print(f"ml-100k seed {args.seed}, {args.epochs} epochs and the test ranking")
    print("| shortlist | rankings | identical metrics | largest diff R@20 | N@20 |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for n, diffs in differences.items():
        same = sum(1 for d in diffs if d == (0.0, 0.0))
        recall = max(abs(d[0]) for d in diffs)
        ndcg = max(abs(d[1]) for d in diffs)
        print(f"| {n} | {len(diffs)} | {same} | {recall:.5f} | {ndcg:.5f} |")


if __name__ == "__main__":
    main()
