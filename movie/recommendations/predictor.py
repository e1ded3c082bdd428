"""The process-wide NGCF predictor: the champion model version, shared by all
requests and threads of a process, and swapped without a restart.

A process loads the champion on first need. After that a watcher thread checks
every MODEL_SWAP_INTERVAL seconds whether the champion changed; if so it fetches
the artifact (verified by sha256) and loads it while requests go on with the old
model. A promotion takes effect MODEL_SWAP_DELAY seconds after it is made (the
time of its ChampionChange row), so every process has the new model loaded by
then and all switch at that instant: the first request at or after it replaces
one immutable reference, so a request sees either the old or the new model,
never a mix, and always the one that was champion when it asked. An artifact
that cannot be fetched, verified or loaded leaves the current model in place and
is logged. With no registered
champion (a fresh clone before `train_ngcf`) the NGCF_CHECKPOINT file is served
as version "unregistered", reloaded when the file is replaced.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from movie import telemetry
from movie.artifacts import ArtifactError, get_artifact_store
from movie.models import ChampionChange
from movie.recommendations.config import served_finetune_config
from pytorch_models.checkpoint import CheckpointError
from pytorch_models.ngcf.predictor import NgcfPredictor

logger = logging.getLogger(__name__)

UNREGISTERED = "unregistered"

_lock = threading.Lock()
_served: dict[str, Any] = {}  # "state": PredictorState, "key": what it was loaded from
_watcher: dict[str, Any] = {}  # "pid", "thread", "stop"


@dataclass(frozen=True)
class PredictorState:
    predictor: NgcfPredictor | None
    problem: str = ""  # why there is no predictor
    version: str = ""  # the ModelVersion served, UNREGISTERED, or "" without one
    info: dict[str, Any] = field(default_factory=dict)  # created_at, metrics
    # what was loaded, the same in every process: the champion change (or the
    # file and its modification time) and the fine-tuning settings. Answers kept
    # on the host's disk are kept under it, so a list fine-tuned by one model
    # never serves another, nor a promotion of the same version made again.
    identity: tuple = ()


@dataclass(frozen=True)
class _Target:
    key: tuple  # identifies what to serve: ("version", name) or ("file", path, mtime)
    version: str
    path: Path | None = None  # the file, or None when the artifact must be fetched
    row: Any = None  # the ModelVersion
    effective: float = 0.0  # when its promotion takes effect (epoch seconds)


def get_predictor() -> PredictorState:
    """The predictor this process serves, or why there is none."""
    _watcher_ensure()
    state = _served.get("state")
    if state is None or settings.MODEL_SWAP_INTERVAL <= 0:
        # First use, or no watcher: check here (one query and a stat).
        refresh_predictor()
    staged = _served.get("next")
    if staged is not None and time.time() >= staged.effective:
        _swap_in(staged)
    return _served["state"]


def preload_predictor() -> PredictorState:
    """Load the champion without starting the watcher thread: for a process that
    forks serving processes afterwards (the gunicorn master). A thread of the
    parent would be mid-query on the database when a fork copies SQLite's
    process-wide file and lock state into the child, which then reads and writes
    the file without the locks it believes it holds ("disk I/O error",
    "database disk image is malformed"). Each forked process starts its own
    watcher on its first request."""
    refresh_predictor()
    return _served["state"]


@dataclass(frozen=True)
class _Staged:
    """A loaded model waiting for the time its promotion takes effect."""

    effective: float  # epoch seconds
    state: PredictorState
    key: tuple


def _swap_in(staged: _Staged) -> None:
    with _lock:
        if _served.get("next") is not staged:
            return
        _served.update(state=staged.state, key=staged.key, failed=None)
        del _served["next"]
    telemetry.set_served_version(staged.state.version)
    logger.info("serving NGCF model version %s", staged.state.version)


def refresh_predictor() -> bool:
    """Load and serve the champion if it is not what this process serves; True
    if the served model changed."""
    try:
        if "state" not in _served:
            # A process starting between a promotion and its effect serves the
            # champion in effect now, then stages the new one below.
            _serve_first(_target(in_effect=True) or _target())
        target = _target()
    except DatabaseError as exc:
        logger.error("cannot read the champion model version: %s", exc)
        _served.setdefault("state", PredictorState(None, "model registry unreadable"))
        return False
    key = target.key if target else None
    if _known(key):
        return False
    with _lock:
        if _known(key):
            return False
        state = _load(target)
        current = _served.get("state")
        if (
            state.predictor is None
            and key is not None
            and current
            and current.predictor
        ):
            # Keep serving what works; try this target again only if it changes.
            _served["failed"] = key
            return False
        _served.pop("next", None)
        if target is not None and target.effective > time.time() and current:
            _served["next"] = _Staged(target.effective, state, key)
            return True
        _served.update(state=state, key=key, failed=None)
    telemetry.set_served_version(state.version)
    logger.info("serving NGCF model version %s", state.version or "(none)")
    return True


def _serve_first(target: _Target | None) -> None:
    with _lock:
        if "state" not in _served:
            state = _load(target)
            _served.update(state=state, key=target.key if target else None)
            telemetry.set_served_version(state.version)


def _known(key: tuple | None) -> bool:
    """True if `key` is served, staged, or failed to load already."""
    staged = _served.get("next")
    return (
        ("state" in _served and _served.get("key") == key)
        or (staged is not None and staged.key == key)
        or (key is not None and _served.get("failed") == key)
    )


def _target(in_effect: bool = False) -> _Target | None:
    """The latest champion change (only those in effect already, with
    `in_effect`), or the NGCF_CHECKPOINT file when there is none."""
    changes = ChampionChange.objects.select_related("version")
    if in_effect:
        changes = changes.filter(at__lte=timezone.now())
        if not changes.exists():
            return None
    change = changes.first()
    if change is not None:
        row = change.version
        return _Target(
            ("version", row.version, change.pk),
            row.version,
            row=row,
            effective=change.at.timestamp(),
        )
    path = Path(settings.NGCF_CHECKPOINT)
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        return None
    return _Target(("file", str(path), stamp), UNREGISTERED, path=path)


def _load(target: _Target | None) -> PredictorState:
    if target is None:
        return PredictorState(None, "no NGCF checkpoint has been trained yet")
    torch.set_num_threads(settings.TORCH_THREADS)
    info: dict[str, Any] = {}
    try:
        path = target.path
        if path is None:
            row = target.row
            path = get_artifact_store().fetch(
                row.artifact_uri, row.sha256, Path(settings.MODEL_CACHE_DIR)
            )
            info = {"created_at": row.created_at.isoformat(), "metrics": row.metrics}
        config = served_finetune_config()
        predictor = NgcfPredictor.load(path, config)
    except (ArtifactError, CheckpointError, OSError) as exc:
        logger.error("cannot load NGCF model %s: %s", target.version, exc)
        return PredictorState(
            None, f"the NGCF checkpoint cannot be loaded ({exc})", target.version
        )
    if not info:
        info = {"created_at": None, "metrics": _metrics_dict(predictor)}
    identity = (*target.key, repr(config))
    return PredictorState(predictor, "", target.version, info, identity)


def _metrics_dict(predictor: NgcfPredictor) -> dict[str, Any]:
    return asdict(predictor.metrics) if predictor.metrics else {}


def _watch(stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        try:
            refresh_predictor()
        except Exception:
            logger.exception("model watcher: refresh failed")
        finally:
            connection.close()


def _watcher_ensure() -> None:
    """Start this process's watcher thread once (again after a fork)."""
    interval = settings.MODEL_SWAP_INTERVAL
    if interval <= 0 or _watcher.get("pid") == os.getpid():
        return
    with _lock:
        if _watcher.get("pid") == os.getpid():
            return
        stop = threading.Event()
        thread = threading.Thread(
            target=_watch, args=(stop, interval), name="model-watcher", daemon=True
        )
        _watcher.update(pid=os.getpid(), thread=thread, stop=stop)
        thread.start()
