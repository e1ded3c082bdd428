"""What one outbox relay pass costs on the stack, by the number of rows it sends:
the fixed cost that makes the relay start a pass every RELAY_INTERVAL_S rather
than at once after any pass that sent something.

    make stack-up BROKER_STORAGE=memory
    DJANGO_ENV_FILE=.env.stack python -m benchmarks.relay_pass

Writes N outbox rows (as requests do), then times one `relay_outbox_batch` pass
that sends them to a topic of the run's own, five times per N: the median wall
and CPU milliseconds (`time.process_time`, so the producer's I/O thread counts),
and an empty pass. The machine's reading first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid

import django

from benchmarks.machine import speed_line

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pseudorec.settings")
os.environ["KAFKA_TOPIC"] = f"relay-pass-{uuid.uuid4().hex[:8]}"
django.setup()

from django.conf import settings  # noqa: E402  (needs django.setup())

from movie.eventbus import get_event_bus, get_event_bus_adapter  # noqa: E402
from movie.eventbus.outbox import relay_outbox_batch  # noqa: E402
from movie.events import Event  # noqa: E402

REPEATS = 5


def timed_pass(inner) -> tuple[float, float, int]:
    """(wall ms, CPU ms, rows delivered) of one pass."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = relay_outbox_batch(bus=inner)
    if result.error:
        raise SystemExit(f"relay pass failed: {result.error}")
    wall_ms = (time.perf_counter() - wall) * 1000
    return wall_ms, (time.process_time() - cpu) * 1000, result.delivered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 5, 50, 500])
    args = parser.parse_args()
    if settings.EVENT_BUS != "kafka" or not settings.EVENT_OUTBOX:
        raise SystemExit("run it on the stack: DJANGO_ENV_FILE=.env.stack")
    print(speed_line())
    outbox, inner = get_event_bus(), get_event_bus_adapter()
    timed_pass(inner)  # the producer made, rows of earlier runs sent
    for rows in args.rows:
        walls, cpus = [], []
        for _ in range(REPEATS):
            for i in range(rows):
                outbox.publish(
                    Event(user_key=f"s:bench{i % 7}", kind="click", movie_id=50)
                )
            wall, cpu, delivered = timed_pass(inner)
            if delivered != rows:
                raise SystemExit(f"a pass sent {delivered} of {rows} rows")
            walls.append(wall)
            cpus.append(cpu)
        cpu = statistics.median(cpus)
        print(
            f"{rows} rows: pass {statistics.median(walls):.1f} ms wall, "
            f"{cpu:.1f} ms CPU, {cpu / rows:.2f} ms CPU a row (median of {REPEATS})"
        )
    wall, cpu, _ = timed_pass(inner)
    print(f"empty pass: {wall:.1f} ms wall, {cpu:.1f} ms CPU")
    inner.close()


if __name__ == "__main__":
    main()
