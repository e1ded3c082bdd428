"""CPU of the two statements of the click path and the pages that the site runs
without building the ORM's query each time, against the ORM's way of running
them, interleaved in one process, on the database of the settings (SQLite by
default; DJANGO_ENV_FILE=.env.stack for MariaDB).

    python -m benchmarks.plain_statements [--calls 2000] [--rounds 5]

- history: a visitor's ten events, newest first (`SqlClickLogStore.history`,
  every page of a visitor with clicks), against the ORM's queryset of the same
  rows made into events.
- outbox write: one click's outbox row (`write_outbox_row`, every click when
  events leave the database), against `OutboxEvent.objects.create`. Each call
  commits on its own; the CPU counts, not the wait for the commit.

Each round runs each way `--calls` times and prints the CPU microseconds per
call (`time.thread_time`, `benchmarks.cpu_rounds`); the machine's reading
first. The rows it writes are deleted at the end.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import django

from benchmarks.cpu_rounds import interleaved_us, median_lines, rounds_arguments
from benchmarks.machine import speed_line

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pseudorec.settings")
django.setup()

# noqa: E402 below: these need django.setup()
from movie.clicklog.sql import SqlClickLogStore  # noqa: E402
from movie.eventbus.outbox import write_outbox_row  # noqa: E402
from movie.events import Event  # noqa: E402
from movie.models import ClickEvent, OutboxEvent  # noqa: E402

VISITOR = "v:plain-statements-benchmark"
COLUMNS = ("event_id", "user_key", "kind", "movie_id", "rating", "ts")


def orm_history() -> list[Event]:
    """The read as the store made it before: model rows made into events."""
    rows = ClickEvent.objects.filter(user_key=VISITOR).order_by("-ts", "-event_id")
    return [Event(**{name: getattr(row, name) for name in COLUMNS}) for row in rows]


def site_history() -> list[Event]:
    return SqlClickLogStore().history(VISITOR)


CLICK = Event(user_key=VISITOR, kind="click", movie_id=50)


def orm_outbox_write() -> None:
    OutboxEvent.objects.create(
        event_id=CLICK.event_id,
        user_key=CLICK.user_key,
        payload=CLICK.to_dict(),
        last_error="",
    )


def site_outbox_write() -> None:
    write_outbox_row(CLICK)


WAYS: dict[str, dict[str, Callable[[], object]]] = {
    "history": {"ORM": orm_history, "site": site_history},
    "outbox write": {"ORM": orm_outbox_write, "site": site_outbox_write},
}


def _events() -> list[Event]:
    return [
        Event(user_key=VISITOR, kind="click", movie_id=50 + i, ts=1_000_000 + i)
        for i in range(10)
    ]


def main() -> None:
    calls, rounds = rounds_arguments(__doc__.splitlines()[0], calls=2000)
    print(speed_line())
    store = SqlClickLogStore()
    for event in _events():
        store.add(event)
    try:
        if orm_history() != site_history() or len(site_history()) != 10:
            raise RuntimeError("the two history reads differ")
        for name, ways in WAYS.items():
            results = interleaved_us(ways, calls=calls, rounds=rounds)
            print("\n".join(median_lines(results, prefix=f"{name}, ")))
    finally:
        ClickEvent.objects.filter(user_key=VISITOR).delete()
        OutboxEvent.objects.filter(user_key=VISITOR).delete()


if __name__ == "__main__":
    main()
