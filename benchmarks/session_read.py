"""CPU of one session read: Django's database backend against the site's engine
(`pseudorec.session_store`), interleaved in one process, on the database of the
settings (SQLite by default; DJANGO_ENV_FILE=.env.stack for MariaDB).

    python -m benchmarks.session_read [--loads 2000] [--rounds 5]

Each round loads one saved session `--loads` times with each engine and prints
the CPU microseconds per load (`time.thread_time`); the machine's reading first.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import django

from benchmarks.cpu_rounds import interleaved_us, median_lines, rounds_arguments
from benchmarks.machine import speed_line

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pseudorec.settings")
django.setup()

from django.contrib.sessions.backends import db  # noqa: E402  (needs django.setup())

from pseudorec import session_store  # noqa: E402

ENGINES = {"django db": db.SessionStore, "session_store": session_store.SessionStore}


def _loading(engine: type, key: str) -> Callable[[], None]:
    def load() -> None:
        if not engine(session_key=key).load():
            raise RuntimeError("the saved session did not load")

    return load


def main() -> None:
    loads, rounds = rounds_arguments(__doc__.splitlines()[0], calls=2000, per="loads")
    print(speed_line())
    saved = db.SessionStore()
    saved["anon_visitor_key"] = "v:session-read-benchmark"
    saved.save()
    try:
        key = saved.session_key
        ways = {name: _loading(engine, key) for name, engine in ENGINES.items()}
        results = interleaved_us(ways, calls=loads, rounds=rounds)
        print("\n".join(median_lines(results, per="load")))
    finally:
        saved.delete()


if __name__ == "__main__":
    main()
