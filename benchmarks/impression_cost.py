"""What recording an impression adds to a page: `services.record_impression` for
a home-page grid (24 movie ids), p50/p95 over `--pages` calls, on a temporary
SQLite file database (WAL, as the site runs) with the embedded default (the
direct bus into the SQL store) and with the outbox in front of it (what the real
stack does before Kafka).

    python -m benchmarks.impression_cost --pages 1000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setup(tmp: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pseudorec.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--no-input", verbosity=0)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.95)]


def measure(pages: int, outbox: bool) -> tuple[float, float]:
    from django.conf import settings

    from movie import services

    settings.EVENT_OUTBOX = outbox
    ids = list(range(1, 25))
    samples = []
    for page in range(pages):
        start = time.perf_counter()
        services.record_impression(
            user_key=f"v:bench{page % 50}",
            surface="popular",
            model_version="popular",
            movie_ids=ids,
            request_id=uuid.uuid4().hex,
        )
        samples.append(time.perf_counter() - start)
    return _percentiles(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min)")
    with tempfile.TemporaryDirectory() as tmp:
        _setup(Path(tmp))
        for name, outbox in (
            ("direct -> sql", False),
            ("outbox -> direct -> sql", True),
        ):
            p50, p95 = measure(args.pages, outbox)
            print(
                f"{name:24} pages={args.pages} p50={p50 * 1000:.2f} ms "
                f"p95={p95 * 1000:.2f} ms"
            )
    print(f"load average after: {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
