"""The site under gunicorn (gunicorn.conf.py, as `make run` serves it) on a free
port of 127.0.0.1, for the HTTP benchmarks and tests, started and stopped by them."""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import runpy
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 30 s."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_answering(url: str, process: subprocess.Popen, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{url}/api/csrf", timeout=2),
        ):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn did not answer within {limit_s:.0f} s")
        time.sleep(0.2)


def _wait_workers(process: subprocess.Popen, count: int, limit_s: float) -> None:
    """Until gunicorn has forked all `count` workers: it answers as soon as the
    first is up, and a benchmark that reads the workers' CPU must see them all."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    deadline = time.monotonic() + limit_s
    while len(children.read_text().split()) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn did not start {count} workers in time")
        time.sleep(0.1)


def _worker_count(environment: Mapping[str, str]) -> int:
    """How many workers gunicorn.conf.py starts with this environment."""
    if "WEB_CONCURRENCY" in environment:
        return int(environment["WEB_CONCURRENCY"])
    return served_concurrency()[0]


def served_concurrency() -> tuple[int, int]:
    """(workers, threads per worker) as `make run` serves: gunicorn.conf.py's,
    after WEB_CONCURRENCY and GUNICORN_THREADS."""
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    return conf["workers"], conf["threads"]


@functools.cache
def _run_folder() -> Path:
    """This run's own kept For-you rows and warmer socket: rows kept by an
    earlier run (the same histories) would answer this one's pages."""
    folder = Path(tempfile.mkdtemp(prefix="pseudorec-served-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def served_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment as the site's processes get it: one torch and
    BLAS thread, warnings only, no access log, this run's kept rows and warmer
    socket; then ``env``."""
    return {
        **os.environ,
        "KEPT_LISTS_DIR": str(_run_folder() / "kept-lists"),
        "FOR_YOU_WARMER_SOCKET": str(_run_folder() / "for-you-warmer.sock"),
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "TORCH_THREADS": "1",
        "LOG_LEVEL": "WARNING",
        "GUNICORN_ACCESS_LOG": "",
        "DJANGO_DEBUG": "0",
        **(env or {}),
    }


@contextlib.contextmanager
def for_you_warmer(
    env: Mapping[str, str] | None = None, log: Path | None = None
) -> Iterator[subprocess.Popen]:
    """`manage.py warm_for_you` as `make run` starts it beside gunicorn, with
    the same environment as :func:`gunicorn`'s; stopped on exit."""
    environment = served_environment(env)
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(log.open("wb")) if log else subprocess.DEVNULL
        process = subprocess.Popen(
            [sys.executable, "manage.py", "warm_for_you"],
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_listening(process, environment["FOR_YOU_WARMER_SOCKET"], limit_s=60)
            yield process
        finally:
            stop(process)


def _wait_listening(
    process: subprocess.Popen, socket_path: str, limit_s: float
) -> None:
    """Until the warmer has bound its socket (the run's folder is new, so a
    socket there is this warmer's)."""
    deadline = time.monotonic() + limit_s
    while not Path(socket_path).is_socket():
        if process.poll() is not None:
            raise RuntimeError(f"warm_for_you exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"warm_for_you did not listen within {limit_s:.0f} s")
        time.sleep(0.1)


@contextlib.contextmanager
def gunicorn(
    *,
    workers: int | None = None,
    threads: int | None = None,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
) -> Iterator[tuple[subprocess.Popen, str]]:
    """gunicorn serving the site (DEBUG off) on a free port: (process, base URL).

    `workers` and `threads` per worker default to gunicorn.conf.py's, as `make
    run` serves; `env` is added to this process's environment; `log` receives
    gunicorn's output (otherwise it is discarded). Torch and BLAS get one thread
    per worker.
    """
    port = free_port()
    environment = {**served_environment(env), "GUNICORN_BIND": f"{HOST}:{port}"}
    if workers is not None:
        environment["WEB_CONCURRENCY"] = str(workers)
    if threads is not None:
        environment["GUNICORN_THREADS"] = str(threads)
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(log.open("wb")) if log else subprocess.DEVNULL
        command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"]
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT
        )
        url = f"http://{HOST}:{port}"
        try:
            _wait_answering(url, process, limit_s=60)
            _wait_workers(process, _worker_count(environment), limit_s=60)
            yield process, url
        finally:
            stop(process)
