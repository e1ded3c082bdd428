"""CPU of one session read: Django's database backend against the site's engine
(`pseudorec.session_store`), interleaved in one process, on the database of the
settings (SQLite by default; DJANGO_ENV_FILE=.env.stack for MariaDB).

    python -m benchmarks.session_read [--loads 2000] [--rounds 5]

Each round loads one saved session `--loads` times with each engine and prints
the CPU microseconds per load (`time.thread_time`); the machine's reading first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import django

from benchmarks.machine import speed_line

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pseudorec.settings")
django.setup()

from django.contrib.sessions.backends import db  # noqa: E402  (needs django.setup())

from pseudorec import session_store  # noqa: E402

ENGINES = {"django db": db.SessionStore, "session_store": session_store.SessionStore}


def per_load_us(engine: type, key: str, loads: int) -> float:
    started = time.thread_time()
    for _ in range(loads):
        if not engine(session_key=key).load():
            raise RuntimeError("the saved session did not load")
    return (time.thread_time() - started) * 1e6 / loads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(speed_line())
    saved = db.SessionStore()
    saved["anon_visitor_key"] = "v:session-read-benchmark"
    saved.save()
    try:
        results: dict[str, list[float]] = {name: [] for name in ENGINES}
        for engine in ENGINES.values():  # warm both
            per_load_us(engine, saved.session_key, 50)
        for _ in range(args.rounds):
            for name, engine in ENGINES.items():
                results[name].append(per_load_us(engine, saved.session_key, args.loads))
        for name, values in results.items():
            rounds = ", ".join(f"{v:.0f}" for v in values)
            print(
                f"{name}: median {statistics.median(values):.0f} us CPU per load "
                f"(rounds: {rounds})"
            )
    finally:
        saved.delete()


if __name__ == "__main__":
    main()
