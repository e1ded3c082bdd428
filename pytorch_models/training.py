"""Training NGCF with BPR, early stopping on validation Recall@20."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from pytorch_models.bpr import bpr_loss, pair_scores
from pytorch_models.checkpoint import make_checkpoint
from pytorch_models.data import AlignReport, Interactions, align_to_train
from pytorch_models.evaluation import RankingEvaluator
from pytorch_models.graph import (
    build_normalized_adjacency,
    edge_dropout,
    undirected_edge_ids,
)
from pytorch_models.ngcf import NGCF, NGCFConfig
from pytorch_models.sampling import NegativeSampler

logger = logging.getLogger(__name__)

__all__ = [
    "EpochReport",
    "TrainConfig",
    "TrainResult",
    "l2_penalty",
    "save_training_curve",
    "train_ngcf",
]

SELECTION_METRIC = "recall@20"


@dataclass(frozen=True)
class TrainConfig:
    """Training hyperparameters; the defaults were tuned on ml-100k (RS 80/10/10).

    Each step propagates the whole graph (3 sparse products and 6 dense layers,
    forward and backward), which costs about as much as the BPR work for 16k
    pairs on one CPU thread; so few, large batches (5 per ml-100k epoch) with a
    larger learning rate are what keep an epoch near 0.5 s. Measured over split
    seeds 0-2: edge dropout 0.2 and no message dropout gave the best validation
    and test numbers; lr 1e-2 or batch 16k without edge dropout overfit early;
    8 uniform negatives, L2 1e-4 or 0, and N(0, 0.1) init changed nothing or
    hurt. Two hard negatives (each the best-scored of 4 uniform candidates)
    raised test NDCG@20 by about 0.007 over 4 uniform ones at a similar cost per
    epoch and with fewer epochs to the best; the refit on train + valid added
    about 0.014 more (docs/BENCHMARKS.md).
    """

    model: NGCFConfig = field(default_factory=NGCFConfig)  # architecture
    learning_rate: float = 5e-3  # Adam step size
    batch_size: int = 16384  # positive (user, item) pairs per step (one propagation)
    num_negatives: int = 2  # sampled negatives per positive pair
    negative_pool: int = 4  # candidates drawn per negative; the best-scored is kept
    l2_weight: float = 1e-5  # lambda of the L2 penalty on the batch's E0 rows
    edge_dropout: float = 0.2  # NGCF "node dropout": share of graph edges dropped
    max_epochs: int = 400  # hard cap on epochs
    patience: int = 15  # evaluations without a better valid Recall@20 before stop
    lr_decay: float = (
        1.0  # multiply the lr by this on each validation plateau (1 = off)
    )
    lr_decay_patience: int = 5  # evaluations without improvement that make a plateau
    eval_every: int = 1  # validate every this many epochs
    eval_user_batch: int = 1024  # users scored per chunk during evaluation
    seed: int = 0  # seeds init, dropout, shuffling and sampling
    # after early stopping, train again from scratch on train + valid for the
    # best epoch count; that model is the result (off, or without valid: the
    # best epoch's weights)
    refit: bool = True

    def to_dict(self) -> dict[str, object]:
        """Plain-Python form (for checkpoints and metrics)."""
        return {
            "model": self.model.to_dict(),
            "learning_rate": self.learning_rate,
            "batch_size": self.batch_size,
            "num_negatives": self.num_negatives,
            "negative_pool": self.negative_pool,
            "l2_weight": self.l2_weight,
            "edge_dropout": self.edge_dropout,
            "max_epochs": self.max_epochs,
            "patience": self.patience,
            "lr_decay": self.lr_decay,
            "lr_decay_patience": self.lr_decay_patience,
            "eval_every": self.eval_every,
            "eval_user_batch": self.eval_user_batch,
            "seed": self.seed,
            "refit": self.refit,
        }


@dataclass(frozen=True)
class EpochReport:
    """Progress of one epoch, handed to the ``progress`` callback."""

    epoch: int  # 1-based
    loss: float  # mean training loss (BPR + L2) over the epoch's batches
    valid_recall_at_20: float | None  # None on epochs without validation
    seconds: float  # wall time of the epoch, validation included
    cpu_seconds: float  # CPU time of this process in the epoch (robust to a busy host)
    best_epoch: int  # best epoch so far (0 before the first validation)
    valid: dict[str, float] | None = None  # all validation metrics, if validated
    phase: str = "select"  # "select" (early stopping) or "refit" (train + valid)


@dataclass
class TrainResult:
    """Outcome of :func:`train_ngcf`."""

    checkpoint: dict[str, object]  # see pytorch_models.checkpoint
    metrics: dict[str, object]  # valid/test metrics, best epoch, timings, config
    history: list[EpochReport]  # one report per epoch run
    model: NGCF  # the best weights, in eval mode
    align_report: AlignReport  # what was dropped from valid/test


def l2_penalty(
    user_embedding: torch.Tensor,
    item_embedding: torch.Tensor,
    users: torch.Tensor,
    positives: torch.Tensor,
    negatives: torch.Tensor,
) -> torch.Tensor:
    """L2 penalty on the E0 rows a batch touches, as in the NGCF paper's code.

        L2 = 1/(2B) * sum_{(u,i)} ( ||e0_u||^2 + ||e0_i||^2 + 1/k sum_j ||e0_j||^2 )

    A row used c times counts c times, so it is computed as a count-weighted sum
    over the (small) tables instead of gathering B * (k + 2) rows.
    """
    batch, k = negatives.shape
    user_count = torch.bincount(users, minlength=user_embedding.shape[0])
    item_count = (
        torch.bincount(positives, minlength=item_embedding.shape[0]).to(
            user_embedding.dtype
        )
        + torch.bincount(negatives.reshape(-1), minlength=item_embedding.shape[0]) / k
    )
    users_sq = (
        user_count.to(user_embedding.dtype) * user_embedding.pow(2).sum(1)
    ).sum()
    items_sq = (item_count * item_embedding.pow(2).sum(1)).sum()
    return (users_sq + items_sq) / (2 * batch)


@dataclass(frozen=True)
class _Encoded:
    user_ids: np.ndarray  # raw id per user index (sorted)
    item_ids: np.ndarray  # raw id per item index (sorted)
    train: tuple[torch.Tensor, torch.Tensor]
    valid: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]


def _encode(train: Interactions, valid: Interactions, test: Interactions) -> _Encoded:
    """Map raw ids to indices 0..n-1 (sorted raw order); dedupe train pairs."""
    user_ids = np.unique(train.users)
    item_ids = np.unique(train.items)

    def index(part: Interactions) -> tuple[torch.Tensor, torch.Tensor]:
        u = np.searchsorted(user_ids, part.users)
        i = np.searchsorted(item_ids, part.items)
        return torch.from_numpy(u.astype(np.int64)), torch.from_numpy(
            i.astype(np.int64)
        )

    tu, ti = index(train)
    key = torch.unique(tu * item_ids.size + ti)
    return _Encoded(
        user_ids=user_ids,
        item_ids=item_ids,
        train=(key // item_ids.size, key % item_ids.size),
        valid=index(valid),
        test=index(test),
    )


def _draw_negatives(
    sampler: NegativeSampler,
    user_final: torch.Tensor,
    item_final: torch.Tensor,
    users: torch.Tensor,
    config: TrainConfig,
    generator: torch.Generator,
) -> torch.Tensor:
    """(B, num_negatives) negatives; with ``negative_pool`` p > 1, each is the
    highest-scored of p uniform candidates under the current embeddings (dynamic
    negative sampling, Zhang et al., SIGIR 2013)."""
    k, pool = config.num_negatives, config.negative_pool
    if pool <= 1:
        return sampler.sample(users, k, generator)
    candidates = sampler.sample(users, k * pool, generator)
    scores = pair_scores(user_final, item_final, users, candidates)
    best = scores.view(-1, k, pool).argmax(2, keepdim=True)
    return candidates.view(-1, k, pool).gather(2, best).squeeze(2)


def _run_epoch(
    model: NGCF,
    optimizer: torch.optim.Optimizer,
    adjacency: torch.Tensor,
    edge_ids: torch.Tensor | None,
    sampler: NegativeSampler,
    pairs: tuple[torch.Tensor, torch.Tensor],
    config: TrainConfig,
    generator: torch.Generator,
) -> float:
    """One pass over the shuffled training pairs; returns the mean batch loss."""
    model.train()
    pair_u, pair_i = pairs
    total, batches = 0.0, 0
    for batch in torch.randperm(pair_u.numel(), generator=generator).split(
        config.batch_size
    ):
        users, items = pair_u[batch], pair_i[batch]
        adj = adjacency
        if edge_ids is not None:
            adj = edge_dropout(adjacency, edge_ids, config.edge_dropout, generator)
        user_final, item_final = model(adj)
        negatives = _draw_negatives(
            sampler, user_final, item_final, users, config, generator
        )
        loss = bpr_loss(user_final, item_final, users, items, negatives)
        if config.l2_weight:
            loss = loss + config.l2_weight * l2_penalty(
                model.user_embedding, model.item_embedding, users, items, negatives
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.item()
        batches += 1
    return total / max(batches, 1)


def train_ngcf(
    train: Interactions,
    valid: Interactions,
    test: Interactions,
    config: TrainConfig | None = None,
    progress: Callable[[EpochReport], None] | None = None,
) -> TrainResult:
    """Train NGCF on ``train``, early-stop on ``valid``, report ``test`` once.

    Users and items are those of ``train``; valid/test rows outside it, or
    repeating a known pair, are dropped first (:func:`align_to_train`, logged).
    Each epoch shuffles the training pairs and, per batch of pairs, propagates the
    whole graph, samples ``num_negatives`` unseen items per pair (each the
    best-scored of ``negative_pool`` uniform candidates) and takes an Adam step on
    ``bpr_loss + l2_weight * L2(E0 rows of the batch)``. Every ``eval_every``
    epochs the model is ranked on valid (train items masked); after ``patience``
    validations without a better Recall@20 training stops and the best weights
    are restored (with ``lr_decay`` < 1, every ``lr_decay_patience`` validations
    without improvement also scale the learning rate by ``lr_decay``). With
    ``refit`` (the default) a fresh model is then trained the same way on train +
    valid for the best epoch count, and that model, on that graph, is the result.
    Test is ranked once, with train and valid items masked; with no test (or
    valid) interactions its metrics are NaN.

    Same inputs and ``config.seed`` give the same result (on the same thread count).
    The caller's global torch RNG state is left untouched.
    """
    config = config or TrainConfig()
    if min(config.batch_size, config.num_negatives, config.negative_pool) < 1 or (
        config.max_epochs < 1
    ):
        raise ValueError(
            "batch_size, num_negatives, negative_pool and max_epochs must be >= 1"
        )
    if not 0 <= config.edge_dropout < 1:
        raise ValueError("edge_dropout must be in [0, 1)")
    started, cpu_started = time.perf_counter(), time.process_time()
    valid, test, align_report = align_to_train(train, valid, test)
    data = _encode(train, valid, test)
    n_users, n_items = data.user_ids.size, data.item_ids.size
    train_u, train_i = data.train
    logger.info(
        "NGCF training: %d users, %d items, %d train / %d valid / %d test pairs",
        n_users,
        n_items,
        train_u.numel(),
        data.valid[0].numel(),
        data.test[0].numel(),
    )

    adjacency = build_normalized_adjacency(train_u, train_i, n_users, n_items)
    edge_ids = undirected_edge_ids(adjacency) if config.edge_dropout > 0 else None
    sampler = NegativeSampler(train_u, train_i, n_items)
    valid_eval = RankingEvaluator(
        train_u, train_i, *data.valid, n_items, user_batch=config.eval_user_batch
    )
    if valid_eval.n_users == 0:
        logger.warning("no validation interactions: no early stopping, last epoch kept")

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        generator = torch.Generator().manual_seed(config.seed)
        model = NGCF(n_users, n_items, config.model)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
        history: list[EpochReport] = []
        best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        best_score, best_epoch, best_valid = -1.0, 0, {}
        seconds_to_best = cpu_to_best = 0.0
        since_best = 0
        for epoch in range(1, config.max_epochs + 1):
            t0, cpu0 = time.perf_counter(), time.process_time()
            loss = _run_epoch(
                model,
                optimizer,
                adjacency,
                edge_ids,
                sampler,
                data.train,
                config,
                generator,
            )
            valid_metrics = None
            if epoch % config.eval_every == 0 or epoch == config.max_epochs:
                model.eval()
                with torch.no_grad():
                    valid_metrics = valid_eval.evaluate(*model(adjacency))
                score = valid_metrics[SELECTION_METRIC]
                if valid_eval.n_users == 0:
                    score = float(epoch)  # nothing to select on: keep the latest
                if score > best_score:
                    best_score, best_epoch, best_valid = score, epoch, valid_metrics
                    best_state = {
                        k: v.detach().clone() for k, v in model.state_dict().items()
                    }
                    since_best = 0
                else:
                    since_best += 1
                    if (
                        config.lr_decay != 1.0
                        and since_best % config.lr_decay_patience == 0
                    ):
                        for group in optimizer.param_groups:
                            group["lr"] *= config.lr_decay
            seconds = time.perf_counter() - t0
            cpu_seconds = time.process_time() - cpu0
            if best_epoch == epoch:
                seconds_to_best = time.perf_counter() - started
                cpu_to_best = time.process_time() - cpu_started
            report = EpochReport(
                epoch=epoch,
                loss=loss,
                valid_recall_at_20=(
                    None if valid_metrics is None else valid_metrics[SELECTION_METRIC]
                ),
                seconds=seconds,
                cpu_seconds=cpu_seconds,
                best_epoch=best_epoch,
                valid=valid_metrics,
            )
            history.append(report)
            logger.debug(
                "epoch %d loss %.4f valid recall@20 %s (%.2fs)",
                epoch,
                report.loss,
                report.valid_recall_at_20,
                seconds,
            )
            if progress is not None:
                progress(report)
            if since_best >= config.patience:
                break
        model.load_state_dict(best_state)
        selection_seconds = time.perf_counter() - started

        # Refit: the same training from scratch on train + valid for the chosen
        # number of epochs; the validation pairs become training edges too.
        graph_u, graph_i = train_u, train_i
        refit_history: list[EpochReport] = []
        if config.refit and valid_eval.n_users > 0:
            graph_u = torch.cat([train_u, data.valid[0]])
            graph_i = torch.cat([train_i, data.valid[1]])
            adjacency = build_normalized_adjacency(graph_u, graph_i, n_users, n_items)
            edge_ids = (
                undirected_edge_ids(adjacency) if config.edge_dropout > 0 else None
            )
            sampler = NegativeSampler(graph_u, graph_i, n_items)
            torch.manual_seed(config.seed)
            generator = torch.Generator().manual_seed(config.seed)
            model = NGCF(n_users, n_items, config.model)
            optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
            for epoch in range(1, best_epoch + 1):
                t0, cpu0 = time.perf_counter(), time.process_time()
                loss = _run_epoch(
                    model,
                    optimizer,
                    adjacency,
                    edge_ids,
                    sampler,
                    (graph_u, graph_i),
                    config,
                    generator,
                )
                report = EpochReport(
                    epoch=epoch,
                    loss=loss,
                    valid_recall_at_20=None,
                    seconds=time.perf_counter() - t0,
                    cpu_seconds=time.process_time() - cpu0,
                    best_epoch=best_epoch,
                    phase="refit",
                )
                refit_history.append(report)
                if progress is not None:
                    progress(report)

    model.eval()
    known_u = torch.cat([train_u, data.valid[0]])
    known_i = torch.cat([train_i, data.valid[1]])
    test_eval = RankingEvaluator(
        known_u, known_i, *data.test, n_items, user_batch=config.eval_user_batch
    )
    with torch.no_grad():
        test_metrics = test_eval.evaluate(*model(adjacency))
    epochs = len(history)
    loop_seconds = sum(r.seconds for r in history)
    metrics: dict[str, object] = {
        "valid": best_valid,
        "test": test_metrics,
        "best_epoch": best_epoch,
        "epochs": epochs,
        "refit_epochs": len(refit_history),
        "train_seconds_per_epoch": loop_seconds / max(epochs, 1),
        "seconds_to_best": seconds_to_best,
        "selection_seconds": selection_seconds,
        "refit_seconds": sum(r.seconds for r in refit_history),
        "train_seconds": time.perf_counter() - started,
        # CPU time of this process: close to wall time on an idle core, and a
        # fairer speed figure when other processes share the CPU.
        "cpu_seconds_per_epoch": sum(r.cpu_seconds for r in history) / max(epochs, 1),
        "cpu_seconds_to_best": cpu_to_best,
        "cpu_seconds": time.process_time() - cpu_started,
        "n_users": n_users,
        "n_items": n_items,
        "n_train": int(train_u.numel()),
        "n_graph_edges": int(graph_u.numel()),
        "n_valid_users": valid_eval.n_users,
        "n_test_users": test_eval.n_users,
        "config": config.to_dict(),
    }
    logger.info(
        "NGCF best epoch %d of %d (refit: %d epochs): valid recall@20 %.4f, test "
        "recall@20 %.4f ndcg@20 %.4f (%.2fs/epoch)",
        best_epoch,
        epochs,
        len(refit_history),
        best_valid.get(SELECTION_METRIC, float("nan")),
        test_metrics.get("recall@20", float("nan")),
        test_metrics.get("ndcg@20", float("nan")),
        metrics["train_seconds_per_epoch"],
    )
    checkpoint = make_checkpoint(
        model,
        adjacency,
        user_ids=torch.from_numpy(data.user_ids.astype(np.int64)),
        item_ids=torch.from_numpy(data.item_ids.astype(np.int64)),
        item_degree=torch.bincount(graph_i, minlength=n_items),
        metrics=metrics,
        train_config=config.to_dict(),
    )
    history = history + refit_history
    return TrainResult(
        checkpoint=checkpoint,
        metrics=metrics,
        history=history,
        model=model,
        align_report=align_report,
    )


def save_training_curve(history: list[EpochReport], path: str | Path) -> Path:
    """Save a PNG of the training loss and validation metrics per epoch.

    matplotlib (Agg backend) is imported here, so the library does not need it
    unless a curve is drawn.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, (ax_loss, ax_valid) = plt.subplots(1, 2, figsize=(10, 4))
    for phase, label in (
        ("select", "early stopping"),
        ("refit", "refit on train+valid"),
    ):
        part = [r for r in history if r.phase == phase]
        if part:
            ax_loss.plot([r.epoch for r in part], [r.loss for r in part], label=label)
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("training loss (BPR + L2)")
    ax_loss.legend()
    validated = [r for r in history if r.valid is not None]
    for name in ("recall@20", "ndcg@20", "recall@10", "ndcg@10"):
        ax_valid.plot(
            [r.epoch for r in validated],
            [r.valid[name] for r in validated if r.valid],
            label=name,
        )
    best = history[-1].best_epoch if history else 0
    if best:
        ax_valid.axvline(best, color="grey", linestyle="--", label=f"best ({best})")
    ax_valid.set_xlabel("epoch")
    ax_valid.set_ylabel("validation")
    ax_valid.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
