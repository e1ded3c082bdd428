"""What a click's event id costs, random (uuid4, the site's ids before) against
time-ordered (`movie.events.new_event_id`, UUIDv7), interleaved in one process,
and how many ids made one after another sort in the order they were made.

    python -m benchmarks.event_ids [--calls 100000] [--rounds 5]

Each round makes `--calls` ids each way and prints the CPU microseconds per id
(`time.thread_time`, `benchmarks.cpu_rounds`); the machine's reading first.
The stores order a visitor's events of one millisecond by their ids, so the
second figure is how many of two quick events read back in their order.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable

import django

from benchmarks.cpu_rounds import interleaved_us, median_lines, rounds_arguments
from benchmarks.machine import speed_line

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pseudorec.settings")
django.setup()

from movie.events import new_event_id  # noqa: E402  (needs django.setup())

WAYS: dict[str, Callable[[], uuid.UUID]] = {
    "uuid4": uuid.uuid4,
    "new_event_id": new_event_id,
}


def in_order(make: Callable[[], uuid.UUID], calls: int) -> int:
    """Of `calls` pairs of ids made one after the other, how many sort in the
    order they were made."""
    ids = [make() for _ in range(calls + 1)]
    return sum(earlier < later for earlier, later in itertools.pairwise(ids))


def main() -> None:
    calls, rounds = rounds_arguments(__doc__.splitlines()[0], calls=100_000)
    print(speed_line())
    results = interleaved_us(WAYS, calls=calls, rounds=rounds)
    print("\n".join(median_lines(results, per="id", digits=2)))
    for name, make in WAYS.items():
        print(
            f"{name}: in the order made: {in_order(make, calls):,} of {calls:,} pairs"
        )


if __name__ == "__main__":
    main()
