"""CPU per call of a few ways of doing one thing, interleaved in one process:
what the benchmarks comparing two ways of a read or a write share."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable


def per_call_us(call: Callable[[], object], calls: int) -> float:
    """CPU microseconds of this thread per call, over `calls` calls."""
    started = time.thread_time()
    for _ in range(calls):
        call()
    return (time.thread_time() - started) * 1e6 / calls


def interleaved_us(
    ways: dict[str, Callable[[], object]], *, calls: int, rounds: int
) -> dict[str, list[float]]:
    """Each way warmed (50 calls), then `rounds` rounds of `calls` calls of each
    way in turn: the CPU microseconds per call of each round, by way."""
    for call in ways.values():
        per_call_us(call, 50)
    results: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(rounds):
        for name, call in ways.items():
            results[name].append(per_call_us(call, calls))
    return results


def median_lines(
    results: dict[str, list[float]],
    *,
    prefix: str = "",
    per: str = "call",
    digits: int = 0,
) -> list[str]:
    """One line per way: its median and every round, with `digits` decimals."""
    lines = []
    for name, values in results.items():
        rounds = ", ".join(f"{v:.{digits}f}" for v in values)
        lines.append(
            f"{prefix}{name}: median {statistics.median(values):.{digits}f} us CPU "
            f"per {per} (rounds: {rounds})"
        )
    return lines


def rounds_arguments(
    description: str, *, calls: int, per: str = "calls"
) -> tuple[int, int]:
    """The command line of such a benchmark: calls of each way per round
    (`--calls`, or `--loads` and the like with `per`), and `--rounds`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        f"--{per}", type=int, default=calls, dest="calls", metavar=per.upper()
    )
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    return args.calls, args.rounds
