"""The whole NGCF page over HTTP: gunicorn on 127.0.0.1, p50 / p95 per request with
1, 4 and 8 concurrent clients, the workers' CPU per page (robust to a busy
machine, unlike the latencies), and resident memory per worker with the model
loaded.

    python -m benchmarks.ngcf_http --requests 200   # make run's workers and threads
    python -m benchmarks.ngcf_http --path /           # the home page (For-you row)
    python -m benchmarks.ngcf_http --path / --new-visitors   # home, no history
    python -m benchmarks.ngcf_http --path / --click-first    # home right after a click
    python -m benchmarks.ngcf_http --path / --click-first --think 0.5  # and its page

Needs the site's data set up first (`make run` once, or `make model`): the database
with the catalogue and the trained checkpoint. Each client is its own visitor with
ten clicks on popular movies, so every NGCF page view (and the home page's For-you
row) fine-tunes NGCF for that visitor; each asks to keep its connection open
between requests, as a browser does (gunicorn's sync worker, one thread, closes
it after each response). `--new-visitors`: visitors without any history.
The For-you warmer (`manage.py warm_for_you`) runs beside gunicorn as `make run`
starts it, unless `--no-warmer`; its CPU counts as the server's.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import threading
import time
from pathlib import Path

from benchmarks.http_visitor import Visitor
from benchmarks.machine import speed_line
from benchmarks.servers import for_you_warmer, gunicorn, served_concurrency


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU the processes used so far (/proc/<pid>/stat)."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


NGCF_PAGE = "/movie/ngcf/"


def run_clients(
    visitors: list[Visitor],
    requests: int,
    path: str = NGCF_PAGE,
    click_first: bool = False,
    think_s: float | None = None,
) -> list[float]:
    """Each visitor's page times; with ``click_first`` each visitor clicks a movie
    it has not clicked before each request and deletes the one it clicked before
    the previous request (neither timed), so no page is seen again with the same
    history and the history keeps its length. With ``think_s`` it then opens a
    movie's page (the one it clicked, or Star Wars) and reads it for ``think_s``
    seconds before the timed request: with ``click_first``, a visitor who
    clicked a poster and came back."""
    times: list[float] = []
    lock = threading.Lock()

    def loop(visitor: Visitor) -> None:
        mine = []
        for _ in range(requests):
            movie_id = 50
            if click_first:
                movie_id = _replace_last_click(visitor)
            if think_s is not None:
                status, _ = visitor.request("GET", f"/movie/{movie_id}/")
                assert status == 200, status
                time.sleep(think_s)
            t0 = time.perf_counter()
            status, page = visitor.request("GET", path)
            mine.append(time.perf_counter() - t0)
            assert status == 200, status
            assert path != NGCF_PAGE or b"Because you clicked" in page, "not NGCF"
        with lock:
            times.extend(mine)

    threads = [threading.Thread(target=loop, args=(v,)) for v in visitors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times


def _replace_last_click(visitor: Visitor) -> int:
    """Delete the visitor's last extra click (if any) and click a new movie;
    the movie's id."""
    extra = getattr(visitor, "extra_click", None)
    if extra is not None:
        status, _ = visitor.request("DELETE", f"/api/history/{extra}", {})
        assert status == 204, status
    movie_id = next(visitor.unclicked)
    visitor.click(movie_id)
    visitor.extra_click = visitor.event_ids[-1]
    return movie_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    workers, threads = served_concurrency()  # `make run`'s
    parser.add_argument("--workers", type=int, default=workers)
    parser.add_argument("--threads", type=int, default=threads, help="per worker")
    parser.add_argument("--requests", type=int, default=200, help="per client")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--path", default=NGCF_PAGE, help="the page to request")
    parser.add_argument(
        "--new-visitors", action="store_true", help="visitors without history"
    )
    parser.add_argument(
        "--click-first",
        action="store_true",
        help="before each request (not timed) a click on a new movie in place of "
        "the previous one: no page is seen again with the same history",
    )
    parser.add_argument(
        "--think",
        type=float,
        metavar="S",
        help="before each request (not timed, after --click-first's click) a "
        "movie's page, read for S seconds: the clicked one, or Star Wars",
    )
    parser.add_argument(
        "--no-warmer",
        action="store_true",
        help="without the For-you warmer `make run` starts beside gunicorn",
    )
    args = parser.parse_args()
    print(speed_line())
    with contextlib.ExitStack() as servers:
        server, base = servers.enter_context(
            gunicorn(workers=args.workers, threads=args.threads)
        )
        warmer = None if args.no_warmer else servers.enter_context(for_you_warmer())
        _measure(args, server, base, warmer)


def _measure(args, server, base: str, warmer) -> None:
    """The clients' runs against the started server, printed as a table."""
    visitors = [Visitor(base) for _ in range(max(args.clients))]
    clicks = (50, 100, 181, 258, 1, 288, 286, 294, 300, 121)
    for n, visitor in enumerate(visitors):
        for movie_id in () if args.new_visitors else clicks[n % 4 :]:
            visitor.click(movie_id)
        # movies by id from 400 on: none of the clicks above
        visitor.unclicked = iter(range(400, 1683))
    for _ in range(3 * args.workers):  # every worker loads the model
        run_clients(visitors, 1, args.path)
    history = "no history" if args.new_visitors else "7 to 10 clicks"
    if args.click_first:
        history += ", one of them new before each request"
    if args.think is not None:
        page = "its" if args.click_first else "a"
        history += f", then {page} movie's page read for {args.think:g} s"
    print(
        f"{args.path}, visitors with {history}; gunicorn: {args.workers} "
        f"workers x {args.threads} threads, torch/BLAS 1 thread each; "
        + ("no warmer" if warmer is None else "the For-you warmer beside it")
    )
    print(
        "| clients | requests | p50 ms | p95 ms | mean ms | pages/s "
        "| server CPU ms/page |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    # the server's CPU: its workers', and the warmer's work for their pages
    workers = worker_pids(server.pid) + ([] if warmer is None else [warmer.pid])
    for clients in args.clients:
        t0, cpu0 = time.perf_counter(), cpu_seconds(workers)
        times = run_clients(
            visitors[:clients],
            args.requests,
            args.path,
            args.click_first,
            args.think,
        )
        wall = time.perf_counter() - t0
        cpu_ms = (cpu_seconds(workers) - cpu0) * 1000 / len(times)
        ms = sorted(t * 1000 for t in times)
        p50 = statistics.median(ms)
        p95 = ms[int(0.95 * (len(ms) - 1))]
        print(
            f"| {clients} | {len(ms)} | {p50:.1f} | {p95:.1f} | "
            f"{statistics.mean(ms):.1f} | {len(ms) / wall:.0f} | {cpu_ms:.1f} |"
        )
    rss = [rss_mb(pid) for pid in worker_pids(server.pid)]
    print("resident memory per worker (MB): " + ", ".join(f"{r:.0f}" for r in rss))


if __name__ == "__main__":
    main()
