"""The site under gunicorn on 127.0.0.1 for the HTTP benchmarks, started and stopped
by the benchmark itself."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_listening(port: int, process: subprocess.Popen, what: str) -> None:
    """Return once `process` accepts connections on `port`; raise if it dies."""
    for _ in range(600):
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex((HOST, port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {HOST}:{port}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def gunicorn(
    *, workers: int, threads: int = 1, env: Mapping[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen, str]]:
    """gunicorn serving the site (DEBUG off) on a free port: (process, base URL)."""
    port = free_port()
    environment = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": HOST,
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "TORCH_THREADS": "1",
        "LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    command = [
        sys.executable, "-m", "gunicorn", "pseudorec.wsgi",
        "--bind", f"{HOST}:{port}", "--workers", str(workers),
        "--threads", str(threads), "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=environment)
    try:
        wait_listening(port, process, "gunicorn")
        yield process, f"http://{HOST}:{port}"
    finally:
        stop(process)
