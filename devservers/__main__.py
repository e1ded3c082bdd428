"""`python -m devservers up|down|status`: the local Kafka broker and DynamoDB.

`up` starts moto_server (DynamoDB, and S3 for the broker's log) and Tansu on
127.0.0.1, on the ports of `.env.stack`, and leaves them running; `down` stops
them. Pids and logs go to `.devservers/`.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

import devservers

STATE_DIR = Path(__file__).resolve().parent.parent / ".devservers"


def _pid(name: str) -> int | None:
    try:
        pid = int((STATE_DIR / f"{name}.pid").read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def up(args: argparse.Namespace) -> None:
    if _pid("moto") is None:
        moto = devservers.moto_start(args.dynamodb_port, STATE_DIR)
        (STATE_DIR / "moto.pid").write_text(str(moto.process.pid))
        print(f"DynamoDB (moto_server) on http://{moto.address}")
    if _pid("tansu") is None:
        s3 = f"http://{devservers.HOST}:{args.dynamodb_port}"
        tansu = devservers.tansu_start(
            args.kafka_port,
            STATE_DIR,
            s3_endpoint_url=s3 if args.broker_storage == "s3" else None,
            bucket="tansu",
        )
        (STATE_DIR / "tansu.pid").write_text(str(tansu.process.pid))
        print(f"Kafka (Tansu, {args.broker_storage} storage) on {tansu.address}")
    print(f"running; logs in {STATE_DIR}")


def down(args: argparse.Namespace) -> None:
    for name in ("tansu", "moto"):  # the broker first: it keeps its log in moto
        pid = _pid(name)
        if pid is None:
            continue
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if _pid(name) is None:
                break
            time.sleep(0.1)
        (STATE_DIR / f"{name}.pid").unlink(missing_ok=True)
        print(f"stopped {name} (pid {pid})")


def status(args: argparse.Namespace) -> None:
    for name in ("moto", "tansu"):
        pid = _pid(name)
        print(f"{name}: {f'running, pid {pid}' if pid else 'stopped'}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devservers")
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--kafka-port", type=int, default=19092)
    parser.add_argument("--dynamodb-port", type=int, default=18000)
    parser.add_argument(
        "--broker-storage",
        choices=["s3", "memory"],
        default="s3",
        help="s3: the broker's log lives in moto's S3 and survives a broker "
        "restart (not a moto restart); memory: lost when the broker stops",
    )
    args = parser.parse_args()
    STATE_DIR.mkdir(exist_ok=True)
    try:
        {"up": up, "down": down, "status": status}[args.command](args)
    except devservers.ServerError as exc:
        sys.exit(f"devservers: {exc}")


if __name__ == "__main__":
    main()
