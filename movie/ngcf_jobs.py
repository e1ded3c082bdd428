"""Jobs around the NGCF library: training the site's checkpoint (`ngcf_train`) and
the fold-in evaluation (`foldin_evaluate`). Data comes from the database or TSV
files; the management commands are thin shells around these functions."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from movie.models import Interaction

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


def interactions_from_database():
    """The imported MovieLens ratings as positive interactions (raw ids)."""
    from pytorch_models.data import DataError, Interactions

    rows = np.array(
        Interaction.objects.order_by("id").values_list(
            "ml_user_id", "movie_id", "timestamp"
        ),
        dtype=np.int64,
    )
    if rows.size == 0:
        raise DataError(
            "no interactions in the database: run `manage.py import_movielens` first"
        )
    return Interactions(rows[:, 0], rows[:, 1], rows[:, 2].astype(np.float64))


def ngcf_train(
    job: TrainJob,
    *,
    progress: Callable[[object], None] | None = None,
    say: Callable[[str], None] = logger.info,
):
    """Train, then write the checkpoint, its training curve and metrics JSON.

    Raises pytorch_models.data.DataError for unusable input.
    """
    import torch

    from pytorch_models.checkpoint import save_checkpoint
    from pytorch_models.data import DataError, read_interactions, split_per_user
    from pytorch_models.training import TrainConfig, save_training_curve, train_ngcf

    files = (job.train, job.valid, job.test)
    if any(files) and not all(files):
        raise DataError("give all three of --train, --valid and --test, or none")
    if job.threads < 1:
        raise DataError("--threads must be at least 1")
    if job.epochs is not None and job.epochs < 1:
        raise DataError("--epochs must be at least 1")
    if all(files):
        parts = []
        for path in files:
            interactions, report = read_interactions(path)
            for line in report.messages():
                say(line)
            parts.append(interactions)
        train, valid, test = parts
    else:
        split, report = split_per_user(interactions_from_database(), seed=job.seed)
        for line in report.messages():
            say(line)
        train, valid, test = split.train, split.valid, split.test

    config = TrainConfig(seed=job.seed)
    if job.epochs is not None:
        config = replace(config, max_epochs=job.epochs)
    torch.set_num_threads(job.threads)
    result = train_ngcf(train, valid, test, config, progress=progress)
    for line in result.align_report.messages():
        say(line)

    out = save_checkpoint(result.checkpoint, job.out)
    curve = save_training_curve(result.history, out.with_suffix(".png"))
    metrics = dict(result.metrics, threads=job.threads)
    text = json.dumps(metrics, indent=2, sort_keys=True)
    out.with_suffix(".json").write_text(text + "\n")
    if job.metrics_json is not None:
        job.metrics_json.parent.mkdir(parents=True, exist_ok=True)
        job.metrics_json.write_text(text + "\n")
    say(f"checkpoint: {out}")
    say(f"training curve: {curve}")
    return result


FOLDIN_METHODS = {
    "foldin": "(a) in-request fine-tuning (the site)",
    "foldin_ngcf_only": "(a) the fine-tuned node alone (no neighbour term, no prior)",
    "retrain": "(b) full retraining with the revealed clicks, ranked as (a)",
    "retrain_ngcf_only": "(b) the retrained embedding alone",
    "popular": "(c) popularity",
    "original": "(d) original design: fresh model, ten full-graph steps",
    "ease": "(e) EASE item-item on the revealed clicks (item-based reference)",
}


def foldin_markdown(report: dict) -> str:
    """The fold-in comparison as a markdown table."""
    k = report["protocol"]["k"]
    lines = [
        f"| method | Recall@{k} | NDCG@{k} |",
        "| --- | ---: | ---: |",
    ]
    for name, label in FOLDIN_METHODS.items():
        row = report["methods"][name]
        lines.append(f"| {label} | {row[f'recall@{k}']:.4f} | {row[f'ndcg@{k}']:.4f} |")
    ratio = report["foldin_over_retrain"]
    alone = report["ngcf_only_foldin_over_retrain"]
    pop = report["foldin_over_popular"]
    ease = report["foldin_over_ease"]
    lines += [
        "",
        f"(a)/(b): Recall@{k} {ratio[f'recall@{k}']:.1%}, NDCG@{k} "
        f"{ratio[f'ndcg@{k}']:.1%} (embeddings alone: {alone[f'recall@{k}']:.1%}, "
        f"{alone[f'ndcg@{k}']:.1%}). (a)/(c): Recall@{k} "
        f"{pop[f'recall@{k}']:.2f}x, NDCG@{k} {pop[f'ndcg@{k}']:.2f}x. (a)/(e): "
        f"Recall@{k} {ease[f'recall@{k}']:.2f}x, NDCG@{k} {ease[f'ndcg@{k}']:.2f}x.",
        f"{report['heldout_users']} held-out users, "
        f"{report['protocol']['revealed']} revealed interactions each, seed "
        f"{report['protocol']['seed']}; fine-tuning "
        f"{report['seconds']['foldin_per_user'] * 1000:.1f} ms per visitor; "
        f"retraining {report['seconds']['retrain']:.1f} s.",
    ]
    return "\n".join(lines) + "\n"


def foldin_evaluate(
    *,
    out_json: Path,
    out_markdown: Path,
    seed: int = 0,
    threads: int = 1,
    say: Callable[[str], None] = logger.info,
) -> dict:
    """Run the fold-in protocol on the imported ratings; write JSON and markdown."""
    import torch

    from pytorch_models.foldin import FoldinConfig, evaluate_foldin

    torch.set_num_threads(threads)
    report = evaluate_foldin(
        interactions_from_database(), FoldinConfig(seed=seed), say=say
    )
    report["threads"] = threads
    for path in (out_json, out_markdown):
        path.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    out_markdown.write_text(foldin_markdown(report))
    return report
