"""Promotion and rollback under concurrent requests, through real gunicorn.

A site of its own (a file SQLite database and data folder in a temporary
directory) gets two registered versions of a checkpoint; gunicorn serves it while
client threads ask for recommendations. The first version is promoted, then the
second, then a rollback. Printed: requests, errors, responses that named a
version that was not champion at any moment of the request (expected 0), and per
change the seconds from the promotion's commit to every worker serving the new
champion (polled on GET /api/model; at least MODEL_SWAP_DELAY by design).

    python -m benchmarks.model_swap --checkpoint data/checkpoints/ngcf-ml100k.pt
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from benchmarks.servers import ROOT, gunicorn

REGISTER = (
    "import os; from pathlib import Path; "
    "from movie.recommendations.versions import register_version as r; "
    "print(r(checkpoint=Path(os.environ['SWAP_CHECKPOINT']), metrics={}, "
    "data_snapshot={}, training_config={}).version)"
)


# MODEL_SWAP_DELAY of the served site: every worker switches this long after the
# promotion is committed.
SWAP_DELAY_S = 5.0


@dataclass
class Answer:
    start: float
    end: float
    status: int
    version: str | None


@dataclass
class SwapReport:
    requests: int
    errors: int
    not_champion: int
    seconds_to_all_workers: list[float] = field(default_factory=list)
    first_errors: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        times = " ".join(f"{s:.2f}" for s in self.seconds_to_all_workers)
        return [
            f"requests={self.requests} errors={self.errors} "
            f"not_champion={self.not_champion}",
            f"seconds from the promotion's commit to every worker serving it "
            f"(MODEL_SWAP_DELAY {SWAP_DELAY_S:.0f} s): {times}",
            *(f"  {e}" for e in self.first_errors),
        ]


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)}: {done.stderr[-2000:]}")
    return done.stdout


def site_prepare(root: Path, checkpoint: Path, n_movies: int = 1682) -> dict:
    """A database and data folder under `root` with two versions of
    `checkpoint` registered; returns the environment and the version names."""
    db = root / "site.sqlite3"
    env = {"DATABASE_URL": f"sqlite:///{db}", "DATA_DIR": str(root / "data")}
    manage(env, "migrate", "--no-input", "-v0")
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO movie_movie (id, title, year, popularity) VALUES (?,?,?,?)",
            [(m, f"Movie {m}", 1990, n_movies - m) for m in range(1, n_movies + 1)],
        )
    register = {**env, "SWAP_CHECKPOINT": str(checkpoint)}
    names = [manage(register, "shell", "-c", REGISTER).split()[-1] for _ in "ab"]
    return {"env": env, "db": db, "versions": names}


def champion_intervals(db: Path) -> list[tuple[float, float, str]]:
    """(from, to, version) of each champion, from the ChampionChange rows."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT c.at, v.version FROM movie_championchange c "
            "JOIN movie_modelversion v ON v.id = c.version_id ORDER BY c.at"
        ).fetchall()
    starts = [
        (dt.datetime.fromisoformat(at).replace(tzinfo=dt.UTC).timestamp(), name)
        for at, name in rows
    ]
    ends = [s for s, _ in starts[1:]] + [float("inf")]
    return [(s, e, name) for (s, name), e in zip(starts, ends, strict=True)]


def _client(url: str, stop: threading.Event, answers: list[Answer]) -> None:
    with requests.Session() as http:
        token = http.get(f"{url}/api/csrf", timeout=30).json()["csrfToken"]
        headers = {"X-CSRFToken": token, "Referer": f"{url}/"}
        while not stop.is_set():
            start = time.time()
            try:
                r = http.post(
                    f"{url}/api/recommendations",
                    json={"movie_ids": [50, 181, 1], "k": 10},
                    headers=headers,
                    timeout=60,
                )
                version = r.json().get("model_version") if r.ok else None
                answers.append(Answer(start, time.time(), r.status_code, version))
            except (requests.RequestException, ValueError) as exc:
                answers.append(Answer(start, time.time(), 0, repr(exc)))


def _until_all_workers_serve(url: str, version: str, workers: int) -> float:
    """The time (epoch s) at which `workers` distinct processes had answered
    `version`, each its latest answer."""
    start = time.monotonic()
    serving: set[int] = set()
    while len(serving) < workers:
        if time.monotonic() - start > 60:
            raise RuntimeError(f"{version} not served by every worker within 60 s")
        # A new connection each time, so every worker gets asked.
        response = requests.get(f"{url}/api/model", timeout=30)
        if response.status_code != 200:
            raise RuntimeError(
                f"GET /api/model answered {response.status_code}: {response.text[:500]}"
            )
        answer = response.json()
        if answer["version"] == version:
            serving.add(answer["process"])
        else:
            serving.discard(answer["process"])
        time.sleep(0.02)
    return time.time()


def swap_run(
    site: dict, *, workers: int = 2, clients: int = 4, log: Path | None = None
) -> SwapReport:
    first, second = site["versions"]
    env = {
        **site["env"],
        "EVENT_OUTBOX": "0",
        "MODEL_SWAP_INTERVAL": "1",
        "MODEL_SWAP_DELAY": str(SWAP_DELAY_S),
    }
    manage(env, "model_promote", first, "--force")
    time.sleep(SWAP_DELAY_S)  # the first champion in effect before serving starts
    answers: list[Answer] = []
    stop = threading.Event()
    served_at = []
    with gunicorn(env=env, workers=workers, log=log) as (_, url):
        threads = [
            threading.Thread(target=_client, args=(url, stop, answers))
            for _ in range(clients)
        ]
        for thread in threads:
            thread.start()
        try:
            _until_all_workers_serve(url, first, workers)
            for command in (("model_promote", second, "--force"), ("model_rollback",)):
                manage(env, *command)
                target = second if command[0] == "model_promote" else first
                served_at.append(_until_all_workers_serve(url, target, workers))
        finally:
            stop.set()
            for thread in threads:
                thread.join()
    intervals = champion_intervals(site["db"])
    # Each change was committed SWAP_DELAY_S before the time it takes effect.
    committed = [start - SWAP_DELAY_S for start, _, _ in intervals[1:]]
    seconds = [done - c for done, c in zip(served_at, committed, strict=True)]
    return _report(answers, intervals, seconds)


def _report(
    answers: list[Answer], intervals: list[tuple[float, float, str]], seconds
) -> SwapReport:
    errors = [a for a in answers if a.status != 200]
    wrong = [
        a
        for a in answers
        if a.status == 200
        and not any(
            name == a.version and s <= a.end and a.start < e for s, e, name in intervals
        )
    ]
    return SwapReport(
        requests=len(answers),
        errors=len(errors),
        not_champion=len(wrong),
        seconds_to_all_workers=seconds,
        first_errors=[f"{a.status} {a.version}" for a in (errors + wrong)[:5]],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"load average before: {load:.2f} (1 min)")
    with tempfile.TemporaryDirectory() as tmp:
        site = site_prepare(Path(tmp), args.checkpoint.resolve())
        report = swap_run(site, workers=args.workers, clients=args.clients)
    print(f"workers={args.workers} clients={args.clients}")
    for line in report.lines():
        print(line)
    print(f"load average after: {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
