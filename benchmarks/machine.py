"""How fast this machine runs Python right now, printed beside the benchmarks'
figures.

The development machine is a virtual machine whose speed changed by a factor of
two within an hour on 2026-12-02 (docs/BENCHMARKS.md, "Machine"), with the load
average near zero throughout: a figure means little without the speed it was
measured at. The reading is the best of three runs of a fixed pure-Python loop
(ten million additions), on one core, in seconds: lower is faster.
"""

from __future__ import annotations

import time

LOOP = 10_000_000


def _loop_seconds() -> float:
    started = time.perf_counter()
    total = 0
    for i in range(LOOP):
        total += i
    return time.perf_counter() - started


def speed_line() -> str:
    best = min(_loop_seconds() for _ in range(3))
    with open("/proc/loadavg") as loadavg:
        load = loadavg.read().split()[0]
    return (
        f"machine: {LOOP:,} Python additions in {best:.2f} s (best of 3), load {load}"
    )


if __name__ == "__main__":
    print(speed_line())
