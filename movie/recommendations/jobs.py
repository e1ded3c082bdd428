"""Jobs that connect the NGCF library to the site's data: training the checkpoint
the site serves (`train_ngcf`) and the fold-in evaluation (`evaluate_foldin`).
Data comes from the database or TSV files; the management commands of the same
names are thin shells around these functions."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from django.conf import settings

from movie.models import Interaction
from pytorch_models import foldin, foldin_graded, training
from pytorch_models.data import (
    DataError,
    Interactions,
    read_interactions,
    split_per_user,
)
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

    def __post_init__(self) -> None:
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


def _training_data(
    job: TrainJob, say: Callable[[str], None]
) -> tuple[Interactions, Interactions, Interactions]:
    """The job's TSV files, or a seeded split of the imported ratings."""
    if job.train is not None:
        parts = []
        for path in (job.train, job.valid, job.test):
            interactions, report = read_interactions(path)
            for line in report.messages():
                say(line)
            parts.append(interactions)
        return parts[0], parts[1], parts[2]
    split, report = split_per_user(interactions_from_database(), seed=job.seed)
    for line in report.messages():
        say(line)
    return split.train, split.valid, split.test


def train_ngcf(
    job: TrainJob,
    *,
    progress: Callable[[training.EpochReport], None] | None = None,
    say: Callable[[str], None] = logger.info,
) -> training.TrainResult:
    """Train, then write the checkpoint, its training curve and metrics JSON.

    Raises pytorch_models.data.DataError for unusable input.
    """
    train, valid, test = _training_data(job, say)
    config = TrainConfig(seed=job.seed)
    if job.epochs is not None:
        config = replace(config, max_epochs=job.epochs)
    torch.set_num_threads(job.threads)
    result = training.train_ngcf(train, valid, test, config, progress=progress)
    for line in result.align_report.messages():
        say(line)

    out = result.checkpoint.save(job.out)
    curve = training.save_training_curve(result.history, out.with_suffix(".png"))
    metrics = {
        **asdict(result.metrics),
        "config": asdict(config),
        "threads": job.threads,
    }
    text = json.dumps(metrics, indent=2, sort_keys=True) + "\n"
    for path in (out.with_suffix(".json"), job.metrics_json):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    say(f"checkpoint: {out}")
    say(f"training curve: {curve}")
    return result


def evaluate_foldin(
    *,
    out_json: Path,
    out_markdown: Path,
    seed: int = 0,
    threads: int = 1,
    say: Callable[[str], None] = logger.info,
) -> foldin.FoldinReport:
    """Run the fold-in protocol on the imported ratings; write JSON and markdown."""
    if threads < 1:
        raise DataError("--threads must be at least 1")
    torch.set_num_threads(threads)
    report = foldin.evaluate_foldin(
        interactions_from_database(), foldin.FoldinConfig(seed=seed), say=say
    )
    for path in (out_json, out_markdown):
        path.parent.mkdir(parents=True, exist_ok=True)
    data = {**report.to_dict(), "threads": threads}
    out_json.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    out_markdown.write_text(report.markdown())
    return report


def graded_foldin_config(seeds: tuple[int, ...]) -> foldin_graded.GradedFoldinConfig:
    """The graded protocol comparing today's predictor with the served one."""
    from movie.recommendations.config import served_finetune_config

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
    """Run the graded fold-in protocol on the imported ratings and stars."""
    if threads < 1:
        raise DataError("--threads must be at least 1")
    torch.set_num_threads(threads)
    data, stars = interactions_with_stars_from_database()
    report = foldin_graded.evaluate_graded(
        data, stars, graded_foldin_config(seeds), say=say
    )
    for path in (out_json, out_markdown):
        path.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(report.to_dict(), indent=2, sort_keys=True) + "\n")
    out_markdown.write_text(report.markdown())
    return report
