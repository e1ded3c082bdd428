"""Jobs that connect the NGCF library to the site's data: training the checkpoint
the site serves (`train_ngcf`) and the fold-in evaluation (`evaluate_foldin`).
Data comes from the database or TSV files; the management commands of the same
names are thin shells around these functions."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
import torch
from django.conf import settings

from movie.artifacts import ArtifactError
from movie.clicklog import get_clicklog_store
from movie.events import Event
from movie.models import Interaction, ModelVersion
from movie.recommendations import versions
from movie.recommendations.config import served_finetune_config
from movie.selectors import signals_from
from pytorch_models import foldin, foldin_graded, training
from pytorch_models.checkpoint import key_digest
from pytorch_models.data import (
    DataError,
    Interactions,
    read_interactions,
    split_per_user,
)
from pytorch_models.ngcf.signals import GradedSignals
from pytorch_models.records import TrainConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainJob:
    out: Path  # checkpoint path; the curve PNG and metrics JSON go beside it
    train: Path | None = None  # TSV files; None: split the imported ratings
    valid: Path | None = None
    test: Path | None = None
    epochs: int | None = None  # cap on epochs; None keeps the library default
    threads: int = 1  # torch intra-op threads
    seed: int = 0  # split and training seed
    metrics_json: Path | None = None  # extra copy of the metrics JSON
    include_clicklog: bool = False  # add the visitors' events from the store
    min_visitor_events: int = 3  # events a visitor needs to become a user node
    promote: bool = False  # promote the new version when the gate passes

    def __post_init__(self) -> None:
        if self.min_visitor_events < 1:
            raise DataError("--min-visitor-events must be at least 1")
        if self.include_clicklog and self.train is not None:
            raise DataError("--include-clicklog trains on the imported ratings only")
        files = (self.train, self.valid, self.test)
        if any(files) and not all(files):
            raise DataError("give all three of --train, --valid and --test, or none")
        if self.threads < 1:
            raise DataError("--threads must be at least 1")
        if self.epochs is not None and self.epochs < 1:
            raise DataError("--epochs must be at least 1")


def interactions_from_database() -> Interactions:
    """The imported MovieLens ratings as positive interactions (raw ids)."""
    return interactions_with_stars_from_database()[0]


def interactions_with_stars_from_database() -> tuple[Interactions, np.ndarray]:
    """The imported MovieLens ratings (raw ids) and each one's stars."""
    rows = np.array(
        Interaction.objects.order_by("id").values_list(
            "ml_user_id", "movie_id", "timestamp", "rating"
        ),
        dtype=np.float64,
    )
    if rows.size == 0:
        raise DataError(
            "no interactions in the database: run `manage.py import_movielens` first"
        )
    ids = rows[:, :2].astype(np.int64)
    return Interactions(ids[:, 0], ids[:, 1], rows[:, 2]), rows[:, 3].copy()


# Raw user ids of visitor nodes start here, above every MovieLens user id.
VISITOR_USER_BASE = 10_000_000


@dataclass(frozen=True)
class TrainingData:
    train: Interactions
    valid: Interactions
    test: Interactions
    snapshot: dict[str, Any] = field(default_factory=dict)  # what it was made of
    # raw user id -> key_digest of the visitor key of each visitor node
    user_keys: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VisitorNodes:
    """The visitors who become user nodes, as training data."""

    interactions: Interactions  # one positive per visitor and movie
    bounds: dict[str, Any]  # the snapshot's counts and last event time
    user_keys: dict[int, str]  # raw user id -> key_digest of the visitor key


def split_fingerprint(part: Interactions) -> str:
    """sha256 of the sorted (user, item) pairs: names the gate split."""
    pairs = np.sort(part.users.astype(np.int64) * 2**32 + part.items.astype(np.int64))
    return hashlib.sha256(pairs.tobytes()).hexdigest()


def visitor_interactions(
    events: Iterable[Event],
    *,
    min_events: int,
    signals: GradedSignals | None = None,
) -> VisitorNodes:
    """The visitors with at least `min_events` movies as user nodes, the
    snapshot's bounds, and which visitor each node is (by the digest of its key:
    keys are secrets). A node's positives are its movies that `signals` (the
    served ones by default) count as liked now: not a low rating or "not
    interested", the newest judgement of a movie replacing older ones as on the
    site, so that a visitor served from their trained node is not served a
    dislike learned as a like."""
    signals = signals or served_finetune_config().signals
    by_visitor: dict[str, list[Event]] = defaultdict(list)
    count, last_ts = 0, None
    for event in events:
        count += 1
        last_ts = event.ts if last_ts is None else max(last_ts, event.ts)
        by_visitor[event.user_key].append(event)
    users, items, stamps = [], [], []
    keys: dict[int, str] = {}
    for key in sorted(by_visitor):
        if len({e.movie_id for e in by_visitor[key]}) < min_events:
            continue
        liked = _liked_movies(by_visitor[key], signals)
        if not liked:
            continue
        user = VISITOR_USER_BASE + len(keys)
        keys[user] = key_digest(key)
        for movie_id, ts in liked.items():
            users.append(user)
            items.append(movie_id)
            stamps.append(ts / 1000)
    interactions = Interactions(
        np.asarray(users, dtype=np.int64),
        np.asarray(items, dtype=np.int64),
        np.asarray(stamps, dtype=np.float64),
    )
    bounds = {
        "visitor_events": count,
        "visitors": len(by_visitor),
        "visitor_users": len(keys),
        "visitor_interactions": len(users),
        "last_event_ts": last_ts,
        "min_visitor_events": min_events,
    }
    return VisitorNodes(interactions, bounds, keys)


def _liked_movies(events: list[Event], signals: GradedSignals) -> dict[int, int]:
    """The visitor's positive movies now, each with its newest event's ts."""
    # newest first as the store's history reads them (ts, then event id)
    events = sorted(events, key=lambda e: (e.ts, e.event_id.hex), reverse=True)
    now = signals_from(events)
    newest: dict[int, int] = {}
    for event in events:
        newest.setdefault(event.movie_id, event.ts)
    return {
        m: newest[m]
        for m in now.positive_ids
        if m not in now.ratings or signals.for_stars(now.ratings[m]) > 0
    }


def _concat(a: Interactions, b: Interactions) -> Interactions:
    stamps = None
    if a.timestamps is not None and b.timestamps is not None:
        stamps = np.concatenate([a.timestamps, b.timestamps])
    return Interactions(
        np.concatenate([a.users, b.users]), np.concatenate([a.items, b.items]), stamps
    )


def _clicklog_events() -> list[Event]:
    store = get_clicklog_store()
    try:
        return list(store.events_scan())
    except Exception as exc:  # any adapter's client error: nothing is trained
        raise DataError(
            f"the click-log store ({settings.CLICKLOG_BACKEND}) cannot be read: {exc}"
        ) from exc


def _training_data(job: TrainJob, say: Callable[[str], None]) -> TrainingData:
    """The job's TSV files, or a seeded split of the imported ratings, with the
    visitors' events added to the training part (never to valid or test, which
    stay the gate split every version is measured on)."""
    if job.train is not None:
        parts = []
        for path in (job.train, job.valid, job.test):
            interactions, report = read_interactions(path)
            for line in report.messages():
                say(line)
            parts.append(interactions)
        snapshot = {"source": "tsv", "gate_split": split_fingerprint(parts[2])}
        return TrainingData(*parts, snapshot=snapshot)
    ratings = interactions_from_database()
    split, report = split_per_user(ratings, seed=job.seed)
    for line in report.messages():
        say(line)
    snapshot: dict[str, Any] = {
        "source": "movielens",
        "movielens_ratings": len(ratings),
        "split_seed": job.seed,
        "gate_split": split_fingerprint(split.test),
    }
    train = split.train
    if job.include_clicklog:
        visitors = visitor_interactions(
            _clicklog_events(), min_events=job.min_visitor_events
        )
        bounds = visitors.bounds
        say(
            f"click log: {bounds['visitor_events']} events of {bounds['visitors']} "
            f"visitors, {bounds['visitor_users']} with at least "
            f"{job.min_visitor_events} events become user nodes"
        )
        snapshot.update(bounds, source="movielens+clicklog")
        snapshot["clicklog_backend"] = settings.CLICKLOG_BACKEND
        return TrainingData(
            _concat(train, visitors.interactions),
            split.valid,
            split.test,
            snapshot,
            visitors.user_keys,
        )
    return TrainingData(train, split.valid, split.test, snapshot)


@dataclass(frozen=True)
class TrainedVersion:
    result: training.TrainResult
    version: str  # the ModelVersion it was registered as

    @property
    def metrics(self) -> Any:
        return self.result.metrics


def train_ngcf(
    job: TrainJob,
    *,
    progress: Callable[[training.EpochReport], None] | None = None,
    say: Callable[[str], None] = logger.info,
) -> TrainedVersion:
    """Train, register the checkpoint as a new model version (and promote it
    with `job.promote` when the gate passes), then write it to `job.out` with
    its training curve and metrics JSON.

    Raises pytorch_models.data.DataError for unusable input, ArtifactError when
    the version cannot be stored and versions.VersionError when the gate refuses
    (the version stays a candidate).
    """
    data = _training_data(job, say)
    config = TrainConfig(seed=job.seed)
    if job.epochs is not None:
        config = replace(config, max_epochs=job.epochs)
    torch.set_num_threads(job.threads)
    result = training.train_ngcf(
        data.train,
        data.valid,
        data.test,
        config,
        progress=progress,
        user_keys=data.user_keys,
        trained_until=data.snapshot.get("last_event_ts"),
    )
    for line in result.align_report.messages():
        say(line)
    metrics = {**asdict(result.metrics), "config": asdict(config)}
    # A file of this training's own: two trainings at once never mix their files.
    staged = result.checkpoint.save(
        job.out.with_name(f".{job.out.stem}-{os.getpid()}-{id(result)}.pt")
    )
    try:
        version = versions.register_version(
            checkpoint=staged,
            metrics=metrics,
            data_snapshot=data.snapshot,
            training_config={**asdict(config), "threads": job.threads},
        )
        os.replace(staged, job.out)
    finally:
        staged.unlink(missing_ok=True)
    _write_beside(job, job.out, result, {**metrics, "threads": job.threads}, version)
    say(f"checkpoint: {job.out}")
    say(f"model version: {version.version}")
    if job.promote:
        gate = versions.promote_version(version=version.version)
        say(f"promoted {version.version}: {gate.reason}")
    return TrainedVersion(result, version.version)


def _write_beside(
    job: TrainJob,
    out: Path,
    result: training.TrainResult,
    metrics: dict[str, Any],
    version: ModelVersion,
) -> None:
    """The training curve and the metrics JSON beside the checkpoint."""
    curve = training.save_training_curve(result.history, out.with_suffix(".png"))
    metrics = {**metrics, "version": version.version}
    metrics["data_snapshot"] = version.data_snapshot
    text = json.dumps(metrics, indent=2, sort_keys=True) + "\n"
    for path in (out.with_suffix(".json"), job.metrics_json):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    logger.info("training curve: %s", curve)


class _Report(Protocol):
    def to_dict(self) -> dict[str, object]: ...

    def markdown(self) -> str: ...


R = TypeVar("R", bound=_Report)


def _report_written(
    evaluate: Callable[[], R], *, threads: int, out_json: Path, out_markdown: Path
) -> R:
    """Run a fold-in evaluation on `threads` torch threads; write its report as
    JSON (with the thread count) and markdown."""
    if threads < 1:
        raise DataError("--threads must be at least 1")
    torch.set_num_threads(threads)
    report = evaluate()
    for path in (out_json, out_markdown):
        path.parent.mkdir(parents=True, exist_ok=True)
    data = {**report.to_dict(), "threads": threads}
    out_json.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    out_markdown.write_text(report.markdown())
    return report


def evaluate_foldin(
    *,
    out_json: Path,
    out_markdown: Path,
    seed: int = 0,
    threads: int = 1,
    say: Callable[[str], None] = logger.info,
) -> foldin.FoldinReport:
    """Run the fold-in protocol on the imported ratings; write JSON and markdown."""

    def evaluate() -> foldin.FoldinReport:
        data = interactions_from_database()
        return foldin.evaluate_foldin(data, foldin.FoldinConfig(seed=seed), say=say)

    return _report_written(
        evaluate, threads=threads, out_json=out_json, out_markdown=out_markdown
    )


def graded_foldin_config(seeds: tuple[int, ...]) -> foldin_graded.GradedFoldinConfig:
    """The graded protocol comparing today's predictor with the served one."""
    return foldin_graded.GradedFoldinConfig(
        seeds=seeds,
        graded=served_finetune_config(),
        half_life=settings.NGCF_HALF_LIFE_EVENTS,
    )


def evaluate_foldin_graded(
    *,
    out_json: Path,
    out_markdown: Path,
    seeds: tuple[int, ...] = (0, 1, 2),
    threads: int = 1,
    say: Callable[[str], None] = logger.info,
) -> foldin_graded.GradedReport:
    """Run the graded fold-in protocol on the imported ratings and stars; write
    JSON and markdown."""

    def evaluate() -> foldin_graded.GradedReport:
        data, stars = interactions_with_stars_from_database()
        config = graded_foldin_config(seeds)
        return foldin_graded.evaluate_foldin_graded(data, stars, config, say=say)

    return _report_written(
        evaluate, threads=threads, out_json=out_json, out_markdown=out_markdown
    )


def retrain_periodically(
    *,
    job: TrainJob,
    stop: threading.Event,
    interval_s: float,
    say: Callable[[str], None] = logger.info,
) -> int:
    """Train (and promote through the gate) every `interval_s` seconds until
    `stop`; a refused or failed training is logged and the loop goes on. Returns
    how many trainings ran."""
    runs = 0
    while not stop.wait(interval_s):
        runs += 1
        try:
            trained = train_ngcf(job, say=say)
        except (DataError, OSError, ArtifactError, versions.VersionError) as exc:
            logger.warning("scheduled retraining: %s", exc)
            continue
        say(f"scheduled retraining registered {trained.version}")
    return runs
