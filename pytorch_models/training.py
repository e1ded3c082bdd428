"""Training NGCF with BPR, early stopping on validation Recall@20, then a refit."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from pytorch_models.allocator import reuse_freed_memory
from pytorch_models.bpr import bpr_loss, pair_scores
from pytorch_models.checkpoint import Checkpoint
from pytorch_models.data import AlignReport, Interactions, align_to_train
from pytorch_models.evaluation import RankingEvaluator
from pytorch_models.graph import (
    build_normalized_adjacency,
    edge_dropout,
    undirected_edge_ids,
)
from pytorch_models.ngcf.model import NGCF
from pytorch_models.ngcf.serving import keyed_users_of, serving_checkpoint
from pytorch_models.records import TrainConfig, TrainMetrics
from pytorch_models.sampling import NegativeSampler

logger = logging.getLogger(__name__)

__all__ = [
    "EpochReport",
    "TrainResult",
    "epoch_batch_size",
    "l2_penalty",
    "save_training_curve",
    "train_ngcf",
    "validation_sample",
]

SELECTION_METRIC = "recall@20"


@dataclass(frozen=True)
class EpochReport:
    """Progress of one epoch, handed to the ``progress`` callback."""

    epoch: int  # 1-based
    loss: float  # mean training loss (BPR + L2) over the epoch's batches
    valid_recall_at_20: float | None  # None on epochs without validation
    seconds: float  # wall time of the epoch, validation included
    cpu_seconds: float  # CPU time of this process in the epoch (robust to a busy host)
    best_epoch: int  # best epoch so far (0 before the first validation)
    valid_seconds: float = 0.0  # wall time of the validation in ``seconds``
    valid: dict[str, float] | None = None  # all validation metrics, if validated
    phase: str = "select"  # "select" (early stopping) or "refit" (train + valid)


@dataclass
class TrainResult:
    """Outcome of :func:`train_ngcf`."""

    checkpoint: Checkpoint  # what the site serves (pytorch_models.checkpoint)
    metrics: TrainMetrics  # valid/test metrics, best epoch, timings, sizes
    history: list[EpochReport]  # one report per epoch run, selection then refit
    model: NGCF  # the result's weights, in eval mode
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


@dataclass(frozen=True)
class _NodeOrder:
    """Training's numbering of the encoded users and items: each by descending
    training degree, ties in index order (hub sorting).

    NGCF's arithmetic does not depend on the numbering, but its memory traffic
    does: every sparse product, hard-negative score and BPR gradient reads rows
    at random, and with the hubs first most of those reads fall in the few rows
    that the many edges share (one 64-wide product over the 10x graph: 0.77
    CPU s against 0.96 in id order). Training runs in this order; the model and
    graph it returns are renumbered back (:meth:`restore`), so the test, the
    checkpoint and everything downstream see the original indices.
    """

    users: torch.Tensor  # (n_users,) original index of each training index
    items: torch.Tensor  # (n_items,) likewise for items
    user_rank: torch.Tensor  # (n_users,) training index of each original index
    item_rank: torch.Tensor  # (n_items,) likewise for items

    @classmethod
    def by_degree(
        cls, users: torch.Tensor, items: torch.Tensor, n_users: int, n_items: int
    ) -> _NodeOrder:
        by_user = _descending(torch.bincount(users, minlength=n_users))
        by_item = _descending(torch.bincount(items, minlength=n_items))
        return cls(by_user, by_item, _inverse(by_user), _inverse(by_item))

    def encode(self, data: _Encoded) -> _Encoded:
        """``data`` in training indices; train pairs deduped and sorted by key,
        as :func:`_encode` leaves them, so training in this order is training on
        ids relabelled by it."""
        n_items = data.item_ids.size
        users, items = self.to_training(*data.train)
        key = torch.unique(users * n_items + items)
        return _Encoded(
            user_ids=data.user_ids[self.users.numpy()],
            item_ids=data.item_ids[self.items.numpy()],
            train=(key // n_items, key % n_items),
            valid=self.to_training(*data.valid),
            test=self.to_training(*data.test),
        )

    def to_training(
        self, users: torch.Tensor, items: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.user_rank[users], self.item_rank[items]

    def restore(self, fitted: _Fitted) -> _Fitted:
        """``fitted`` with its model and graph in the original indices."""
        model = fitted.model
        restored = NGCF(model.n_users, model.n_items, model.config)
        state = model.state_dict()
        state["user_embedding"] = state["user_embedding"][self.user_rank]
        state["item_embedding"] = state["item_embedding"][self.item_rank]
        restored.load_state_dict(state)
        users, items = self.users[fitted.pairs[0]], self.items[fitted.pairs[1]]
        adjacency = build_normalized_adjacency(
            users, items, model.n_users, model.n_items
        )
        return replace(
            fitted, model=restored.eval(), pairs=(users, items), adjacency=adjacency
        )


def _descending(degree: torch.Tensor) -> torch.Tensor:
    return torch.argsort(degree, descending=True, stable=True)


def _inverse(order: torch.Tensor) -> torch.Tensor:
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(order.numel())
    return inverse


def _draw_negatives(
    sampler: NegativeSampler,
    user_final: torch.Tensor,
    item_final: torch.Tensor,
    users: torch.Tensor,
    positives: torch.Tensor,
    config: TrainConfig,
    generator: torch.Generator,
    item_offset: int = 0,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(B, num_negatives) negatives of the (B,) pairs (users, positives).

    With ``negative_pool`` p > 1 each negative is the highest-scored of p uniform
    candidates under the current embeddings (dynamic negative sampling, Zhang et
    al., SIGIR 2013), and the (B, 1 + num_negatives) scores of each positive and
    its chosen negatives come back too, for :func:`bpr_loss` not to compute them
    again (None with uniform negatives). Item i is row ``item_offset + i`` of
    ``item_final`` (training passes one node table for both).
    """
    k, pool = config.num_negatives, config.negative_pool
    if pool <= 1:
        return sampler.sample(users, k, generator), None
    candidates = sampler.sample(users, k * pool, generator)
    scored = torch.cat([positives.unsqueeze(1), candidates], 1) + item_offset
    scores = pair_scores(user_final, item_final, users, scored)  # (B, 1 + k p)
    best = scores[:, 1:].reshape(-1, k, pool).argmax(2, keepdim=True)
    negatives = candidates.view(-1, k, pool).gather(2, best).squeeze(2)
    chosen = scores[:, 1:].reshape(-1, k, pool).gather(2, best).squeeze(2)
    return negatives, torch.cat([scores[:, :1], chosen], 1)


@dataclass(frozen=True)
class _Graph:
    """The training graph one fit runs on."""

    pairs: tuple[torch.Tensor, torch.Tensor]  # (users, items) index pairs
    adjacency: torch.Tensor  # normalised (N, N) CSR
    edge_ids: torch.Tensor | None  # for edge dropout (None: no dropout)
    sampler: NegativeSampler  # negatives unseen in this graph

    @classmethod
    def build(
        cls,
        users: torch.Tensor,
        items: torch.Tensor,
        n_users: int,
        n_items: int,
        config: TrainConfig,
    ) -> _Graph:
        adjacency = build_normalized_adjacency(users, items, n_users, n_items)
        edge_ids = undirected_edge_ids(adjacency) if config.edge_dropout > 0 else None
        return cls(
            (users, items), adjacency, edge_ids, NegativeSampler(users, items, n_items)
        )


def epoch_batch_size(n_pairs: int, config: TrainConfig) -> int:
    """Pairs per step: ``batch_size``, or more when that would take more than
    ``steps_per_epoch`` steps, so an epoch never propagates the graph more than
    ``steps_per_epoch`` times and its cost grows linearly with the edges."""
    return max(config.batch_size, -(-n_pairs // config.steps_per_epoch))


def validation_sample(
    users: torch.Tensor, items: torch.Tensor, *, size: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The validation pairs of ``size`` users drawn without replacement (seeded)
    from those with validation pairs; all pairs when there are at most ``size``.

    Early stopping only compares epochs with each other, so a fixed sample ranks
    them as the whole set does while costing ``size`` users' scores instead of
    every user's (users x items x D per validation).
    """
    candidates = torch.unique(users)
    if candidates.numel() <= size:
        return users, items
    generator = torch.Generator().manual_seed(seed)
    chosen = candidates[torch.randperm(candidates.numel(), generator=generator)[:size]]
    keep = torch.isin(users, chosen)
    return users[keep], items[keep]


def _run_epoch(
    model: NGCF,
    optimizer: torch.optim.Optimizer,
    graph: _Graph,
    config: TrainConfig,
    generator: torch.Generator,
) -> float:
    """One pass over the shuffled training pairs; returns the mean batch loss.

    Pairs are scored on the one (N, D) node table (item i is node ``n_users +
    i``), so the backward pass never splits it into a user and an item table.
    """
    model.train()
    pair_u, pair_i = graph.pairs
    offset = model.n_users
    total, batches = 0.0, 0
    batch_size = epoch_batch_size(pair_u.numel(), config)
    for batch in torch.randperm(pair_u.numel(), generator=generator).split(batch_size):
        users, items = pair_u[batch], pair_i[batch]
        adj = graph.adjacency
        if graph.edge_ids is not None:
            adj = edge_dropout(adj, graph.edge_ids, config.edge_dropout, generator)
        nodes = model.node_embeddings(adj)
        negatives, scores = _draw_negatives(
            graph.sampler, nodes, nodes, users, items, config, generator, offset
        )
        loss = bpr_loss(nodes, nodes, users, items + offset, negatives + offset, scores)
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


class _Clock:
    """Wall and CPU seconds since it was made."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def elapsed(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


class _EarlyStopping:
    """Model selection on valid Recall@20: the best weights, patience, lr decay."""

    def __init__(
        self, evaluator: RankingEvaluator, config: TrainConfig, model: NGCF
    ) -> None:
        self.evaluator = evaluator
        self.config = config
        self.best_score, self.best_epoch, self.best_valid = -1.0, 0, {}
        self.best_state = _copy_state(model)
        self.since_best = 0
        self.to_best = (0.0, 0.0)  # wall and CPU seconds until the best epoch

    def validate(
        self, epoch: int, model: NGCF, graph: _Graph, optimizer: torch.optim.Optimizer
    ) -> dict[str, float]:
        model.eval()
        with torch.no_grad():
            metrics = self.evaluator.evaluate(*model(graph.adjacency))
        score = metrics[SELECTION_METRIC]
        if self.evaluator.n_users == 0:
            score = float(epoch)  # nothing to select on: keep the latest
        if score > self.best_score:
            self.best_score, self.best_epoch, self.best_valid = score, epoch, metrics
            self.best_state = _copy_state(model)
            self.since_best = 0
        else:
            self.since_best += 1
            decay, patience = self.config.lr_decay, self.config.lr_decay_patience
            if decay != 1.0 and self.since_best % patience == 0:
                for group in optimizer.param_groups:
                    group["lr"] *= decay
        return metrics

    @property
    def stop(self) -> bool:
        return self.since_best >= self.config.patience


def _copy_state(model: NGCF) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _fit(
    graph: _Graph,
    n_users: int,
    n_items: int,
    config: TrainConfig,
    *,
    epochs: int,
    selection: RankingEvaluator | None,
    progress: Callable[[EpochReport], None] | None,
    clock: _Clock,
) -> tuple[NGCF, list[EpochReport], _EarlyStopping | None]:
    """Train a fresh, seeded NGCF on ``graph`` for up to ``epochs`` epochs.

    With a ``selection`` evaluator the run early-stops on it and ends with the
    best epoch's weights (the selection run); without, it runs every epoch (the
    refit). Both draw the same random numbers for the same seed.
    """
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model = NGCF(n_users, n_items, config.model)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    stopping = None if selection is None else _EarlyStopping(selection, config, model)
    history: list[EpochReport] = []
    for epoch in range(1, epochs + 1):
        epoch_clock = _Clock()
        loss = _run_epoch(model, optimizer, graph, config, generator)
        valid, valid_seconds = None, 0.0
        if stopping is not None and (epoch % config.eval_every == 0 or epoch == epochs):
            valid_clock = _Clock()
            valid = stopping.validate(epoch, model, graph, optimizer)
            valid_seconds = valid_clock.elapsed()[0]
            if stopping.best_epoch == epoch:
                stopping.to_best = clock.elapsed()
        seconds, cpu_seconds = epoch_clock.elapsed()
        report = EpochReport(
            epoch=epoch,
            loss=loss,
            valid_recall_at_20=None if valid is None else valid[SELECTION_METRIC],
            seconds=seconds,
            cpu_seconds=cpu_seconds,
            valid_seconds=valid_seconds,
            best_epoch=epochs if stopping is None else stopping.best_epoch,
            valid=valid,
            phase="refit" if stopping is None else "select",
        )
        history.append(report)
        logger.debug("epoch %d (%s) loss %.4f", epoch, report.phase, loss)
        if progress is not None:
            progress(report)
        if stopping is not None and stopping.stop:
            break
    if stopping is not None:
        model.load_state_dict(stopping.best_state)
    return model.eval(), history, stopping


def train_ngcf(
    train: Interactions,
    valid: Interactions,
    test: Interactions,
    config: TrainConfig | None = None,
    progress: Callable[[EpochReport], None] | None = None,
    *,
    user_keys: Mapping[int, str] | None = None,
    trained_until: int | None = None,
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

    ``user_keys`` (raw user id -> :func:`key_digest` of the caller's key for
    that user) are recorded in the checkpoint with each one's training items, so
    that serving finds those users' trained nodes; ``trained_until`` says up to
    when their interactions were all in ``train``.

    With ``hub_order`` training runs in descending-degree order (:class:`_NodeOrder`);
    the model, the metrics and the checkpoint are in the original ids.

    Same inputs and ``config.seed`` give the same result (on the same thread count).
    The caller's global torch RNG state is left untouched. While it runs, freed
    tensor memory stays in the process (:func:`reuse_freed_memory`).
    """
    config = config or TrainConfig()
    clock = _Clock()
    valid, test, align_report = align_to_train(train, valid, test)
    data = _encode(train, valid, test)
    logger.info(
        "NGCF training: %d users, %d items, %d train / %d valid / %d test pairs",
        data.user_ids.size,
        data.item_ids.size,
        data.train[0].numel(),
        data.valid[0].numel(),
        data.test[0].numel(),
    )
    # drawn in the original indices: the same users whatever the numbering
    valid_sample = validation_sample(
        *data.valid, size=config.valid_users, seed=config.seed
    )
    with reuse_freed_memory():
        with torch.random.fork_rng(devices=[]):
            fitted = _fit_in_order(data, valid_sample, config, progress, clock)
        metrics = _test_metrics(data, fitted, config, clock)
    _log_result(metrics)
    user_ids = torch.from_numpy(data.user_ids.astype(np.int64))
    checkpoint = serving_checkpoint(
        fitted.model,
        fitted.adjacency,
        user_ids=user_ids,
        item_ids=torch.from_numpy(data.item_ids.astype(np.int64)),
        item_degree=torch.bincount(fitted.pairs[1], minlength=data.item_ids.size),
        metrics=metrics,
        train_config=config,
        keyed_users=keyed_users_of(
            fitted.adjacency, user_ids, user_keys or {}, trained_until
        ),
    )
    return TrainResult(
        checkpoint=checkpoint,
        metrics=metrics,
        history=fitted.history + fitted.refit_history,
        model=fitted.model,
        align_report=align_report,
    )


def _test_metrics(
    data: _Encoded, fitted: _Fitted, config: TrainConfig, clock: _Clock
) -> TrainMetrics:
    """The result's metrics: test ranked once (train and valid items masked)."""
    known = [torch.cat(p) for p in zip(data.train, data.valid, strict=True)]
    test_eval = RankingEvaluator(
        *known, *data.test, data.item_ids.size, user_batch=config.eval_user_batch
    )
    with torch.no_grad():
        test_metrics = test_eval.evaluate(*fitted.model(fitted.adjacency))
    return TrainMetrics(
        **_quality_and_time(fitted, test_metrics, clock),
        n_users=data.user_ids.size,
        n_items=data.item_ids.size,
        n_train=int(data.train[0].numel()),
        n_graph_edges=int(fitted.pairs[0].numel()),
        n_valid_users=fitted.stopping.evaluator.n_users,
        n_test_users=test_eval.n_users,
    )


@dataclass(frozen=True)
class _Fitted:
    """The result model and how it was reached."""

    model: NGCF  # the refit, or the selection run's best weights
    pairs: tuple[torch.Tensor, torch.Tensor]  # the edges ``model`` was trained on
    adjacency: torch.Tensor  # their normalised graph
    stopping: _EarlyStopping  # the selection run's choice
    history: list[EpochReport]  # the selection run's epochs
    refit_history: list[EpochReport]  # the refit's epochs ([] without one)
    selection_seconds: float  # wall time until the selection run ended


def _shortlist_dtype() -> torch.dtype | None:
    """bfloat16 where the CPU multiplies it natively (AVX512-BF16 or AMX: several
    times float32's speed, `benchmarks.block_matmul`); elsewhere torch emulates
    it, slower than float32, and the validation ranks exactly."""
    native = (
        getattr(torch.cpu, name, lambda: False)()
        for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    )
    return torch.bfloat16 if any(native) else None


def _fit_in_order(
    data: _Encoded,
    valid_sample: tuple[torch.Tensor, torch.Tensor],
    config: TrainConfig,
    progress: Callable[[EpochReport], None] | None,
    clock: _Clock,
) -> _Fitted:
    """:func:`_select_and_refit`, in the hub order when ``config.hub_order``
    (:class:`_NodeOrder`); the result is in ``data``'s indices either way."""
    if not config.hub_order:
        return _select_and_refit(data, valid_sample, config, progress, clock)
    order = _NodeOrder.by_degree(*data.train, data.user_ids.size, data.item_ids.size)
    fitted = _select_and_refit(
        order.encode(data), order.to_training(*valid_sample), config, progress, clock
    )
    return order.restore(fitted)


def _select_and_refit(
    data: _Encoded,
    valid_sample: tuple[torch.Tensor, torch.Tensor],
    config: TrainConfig,
    progress: Callable[[EpochReport], None] | None,
    clock: _Clock,
) -> _Fitted:
    """The selection run on train, early-stopping on ``valid_sample`` (a sample
    of valid's pairs), then (with ``refit`` and valid pairs) the same fit from
    scratch on train + valid for the best epoch count."""
    n_users, n_items = data.user_ids.size, data.item_ids.size
    graph = _Graph.build(*data.train, n_users, n_items, config)
    valid_eval = RankingEvaluator(
        *data.train,
        *valid_sample,
        n_items,
        user_batch=config.eval_user_batch,
        shortlist_dtype=_shortlist_dtype() if config.valid_shortlist else None,
    )
    if valid_eval.n_users == 0:
        logger.warning("no validation interactions: no early stopping, last epoch kept")
    model, history, stopping = _fit(
        graph,
        n_users,
        n_items,
        config,
        epochs=config.max_epochs,
        selection=valid_eval,
        progress=progress,
        clock=clock,
    )
    selection_seconds = clock.elapsed()[0]
    refit_history: list[EpochReport] = []
    if config.refit and valid_eval.n_users > 0:
        # the validation pairs become training edges too
        pairs = (torch.cat(p) for p in zip(data.train, data.valid, strict=True))
        graph = _Graph.build(*pairs, n_users, n_items, config)
        model, refit_history, _ = _fit(
            graph,
            n_users,
            n_items,
            config,
            epochs=stopping.best_epoch,
            selection=None,
            progress=progress,
            clock=clock,
        )
    return _Fitted(
        model,
        graph.pairs,
        graph.adjacency,
        stopping,
        history,
        refit_history,
        selection_seconds,
    )


def _quality_and_time(
    fitted: _Fitted, test: dict[str, float], clock: _Clock
) -> dict[str, object]:
    """The TrainMetrics fields about quality and time."""
    stopping, history, refit = fitted.stopping, fitted.history, fitted.refit_history
    epochs = max(len(history), 1)
    seconds, cpu_seconds = clock.elapsed()
    selection_seconds = fitted.selection_seconds
    return {
        "valid": stopping.best_valid,
        "test": test,
        "best_epoch": stopping.best_epoch,
        "epochs": len(history),
        "refit_epochs": len(refit),
        "train_seconds_per_epoch": sum(r.seconds for r in history) / epochs,
        "seconds_to_best": stopping.to_best[0],
        "selection_seconds": selection_seconds,
        "refit_seconds": sum(r.seconds for r in refit),
        "train_seconds": seconds,
        "cpu_seconds_per_epoch": sum(r.cpu_seconds for r in history) / epochs,
        "cpu_seconds_to_best": stopping.to_best[1],
        "cpu_seconds": cpu_seconds,
    }


def _log_result(metrics: TrainMetrics) -> None:
    logger.info(
        "NGCF best epoch %d of %d (refit: %d epochs): valid recall@20 %.4f, test "
        "recall@20 %.4f ndcg@20 %.4f (%.2fs/epoch)",
        metrics.best_epoch,
        metrics.epochs,
        metrics.refit_epochs,
        metrics.valid.get(SELECTION_METRIC, float("nan")),
        metrics.test.get("recall@20", float("nan")),
        metrics.test.get("ndcg@20", float("nan")),
        metrics.train_seconds_per_epoch,
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
