"""The validation's score product in float32 and in bfloat16, on one thread: what
the bfloat16 shortlist (RankingEvaluator's `shortlist_dtype`) rests on.

    python -m benchmarks.block_matmul [--users 1024] [--items 272000]

Scores `--users` random 256-wide user rows against `--items` item rows in
blocks of 2,048 items (the evaluator's `item_batch`), as the 10x validation does,
three times per dtype: the best CPU seconds and the rate in GFLOPS. bfloat16 is
fast only where the CPU has AVX512-BF16 or AMX (`training._shortlist_dtype`
checks); the machine's reading first.
"""

from __future__ import annotations

import argparse
import time

import torch

from benchmarks.machine import speed_line

DIM, BLOCK, REPEATS = 256, 2048, 3


def product_seconds(users: torch.Tensor, items: torch.Tensor) -> float:
    """Best CPU seconds of the blocked product over all items."""
    best = float("inf")
    for _ in range(REPEATS):
        started = time.process_time()
        for start in range(0, items.shape[0], BLOCK):
            torch.matmul(users, items[start : start + BLOCK].T)
        best = min(best, time.process_time() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1024)
    parser.add_argument("--items", type=int, default=272_000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(speed_line())
    generator = torch.Generator().manual_seed(0)
    users = torch.randn(args.users, DIM, generator=generator)
    items = torch.randn(args.items, DIM, generator=generator)
    flops = 2 * args.users * args.items * DIM
    for dtype in (torch.float32, torch.bfloat16):
        seconds = product_seconds(users.to(dtype), items.to(dtype))
        print(
            f"{str(dtype).removeprefix('torch.')}: {seconds:.2f} CPU s for "
            f"{args.users:,} users x {args.items:,} items, "
            f"{flops / seconds / 1e9:.0f} GFLOPS (best of {REPEATS}, 1 thread)"
        )


if __name__ == "__main__":
    main()
