"""How well does in-request fine-tuning serve a visitor the model never saw?

Protocol: a seeded share of users is held out of pretraining. For each held-out
user, the first `revealed` interactions by timestamp play the visitor's clicks and
the rest are the targets. Five ways to rank all items for that visitor are
compared by Recall@K and NDCG@K on the targets (revealed items excluded):

(a) `foldin`: the pretrained model, the visitor fine-tuned inside the request
    (`NgcfPredictor`, the site's code path, with its neighbour term and
    popularity prior); `foldin_ngcf_only` ranks by the fine-tuned node alone;
(b) `retrain`: NGCF trained from scratch with the revealed interactions of all
    held-out users added to the training graph (the expensive ideal), each
    visitor's learned embedding ranked the same way as (a) (the same neighbour
    term, from the retrained model, and prior); `retrain_ngcf_only` by the
    learned embedding alone;
(c) `popular`: items by interaction count in the pretraining data plus the
    revealed clicks;
(d) `original`: the seed design, a freshly initialised NGCF over the whole graph
    with the visitors added, trained for `finetune_epochs` full-graph BPR steps on
    the visitors' clicks (all held-out visitors in one batch: each step costs a
    whole-graph pass however many visitors it serves);
(e) `ease`: an item-based reference, EASE (Steck, WWW 2019: closed-form item-item
    weights, L2 `ease_l2`) fitted on the pretraining data and applied to the
    revealed clicks.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from pytorch_models.bpr import bpr_loss
from pytorch_models.checkpoint import save_checkpoint
from pytorch_models.data import Interactions, split_per_user
from pytorch_models.evaluation import ranking_metrics
from pytorch_models.graph import build_normalized_adjacency
from pytorch_models.ngcf import NGCF
from pytorch_models.ngcf.predictor import FinetuneConfig, NgcfPredictor
from pytorch_models.sampling import NegativeSampler
from pytorch_models.training import TrainConfig, train_ngcf

logger = logging.getLogger(__name__)

__all__ = ["FoldinConfig", "evaluate_foldin"]


@dataclass(frozen=True)
class FoldinConfig:
    """The fold-in protocol."""

    heldout_share: float = 0.2  # share of users held out of pretraining
    revealed: int = 10  # first interactions (by time) a held-out user reveals
    k: int = 20  # cut-off of Recall@K and NDCG@K
    finetune_epochs: int = 10  # BPR epochs of (a) and steps of (d)
    seed: int = 0  # user selection, splits, training and fine-tuning
    train: TrainConfig = field(default_factory=TrainConfig)  # (b) and pretraining
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)  # (a)
    ease_l2: float = 200.0  # (e); chosen on split seed 1 from 50, 100, 200, 500, 1000


def _split_users(
    data: Interactions, config: FoldinConfig
) -> tuple[Interactions, dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Pretraining interactions; revealed and target items of each held-out user."""
    if data.timestamps is None:
        raise ValueError("the fold-in protocol needs timestamps")
    rng = np.random.default_rng(config.seed)
    users, counts = np.unique(data.users, return_counts=True)
    eligible = users[counts > config.revealed]  # someone must be left to find
    n_held = int(round(config.heldout_share * users.size))
    held = np.sort(rng.choice(eligible, size=min(n_held, eligible.size), replace=False))
    is_held = np.isin(data.users, held)
    revealed: dict[int, np.ndarray] = {}
    targets: dict[int, np.ndarray] = {}
    for user in held:
        rows = np.flatnonzero(data.users == user)
        # order by time; ties broken by item id so the protocol is deterministic
        order = rows[np.lexsort((data.items[rows], data.timestamps[rows]))]
        revealed[int(user)] = data.items[order[: config.revealed]]
        targets[int(user)] = data.items[order[config.revealed :]]
    return data.take(np.flatnonzero(~is_held)), revealed, targets


def _metrics(
    ranked: dict[int, list[int]], targets: dict[int, np.ndarray], k: int
) -> dict[str, float]:
    users = sorted(targets)
    hits = torch.tensor(
        [[item in set(targets[u].tolist()) for item in ranked[u][:k]] for u in users],
        dtype=torch.bool,
    )
    n_rel = torch.tensor([len(targets[u]) for u in users])
    full = ranking_metrics(hits, n_rel, ks=(k,))
    return {f"recall@{k}": full[f"recall@{k}"], f"ndcg@{k}": full[f"ndcg@{k}"]}


def _top_k_from_embeddings(
    users_emb: torch.Tensor,
    items_emb: torch.Tensor,
    item_ids: np.ndarray,
    exclude: list[np.ndarray],
    k: int,
    prior: torch.Tensor | None = None,
) -> list[list[int]]:
    scores = users_emb @ items_emb.T
    if prior is not None:
        scores += prior
    index = {int(raw): i for i, raw in enumerate(item_ids.tolist())}
    for row, items in enumerate(exclude):
        cols = [index[int(i)] for i in items if int(i) in index]
        scores[row, cols] = -torch.inf
    top = torch.topk(scores, k, dim=1).indices
    return [[int(item_ids[c]) for c in row] for row in top.tolist()]


def _train_split(data: Interactions, seed: int):
    """Train/valid for early stopping, and an empty test part (not used here)."""
    split, _ = split_per_user(data, seed=seed, ratios=(0.9, 0.1, 0.0))
    return split.train, split.valid, split.test


def evaluate_foldin(
    data: Interactions,
    config: FoldinConfig | None = None,
    say: Callable[[str], None] = logger.info,
) -> dict[str, object]:
    """Run the protocol; return metrics per method, timings and the protocol."""
    config = config or FoldinConfig()
    train_config = replace(config.train, seed=config.seed)
    pre, revealed, targets = _split_users(data, config)
    held = sorted(revealed)
    say(f"{len(held)} held-out users, {config.revealed} revealed interactions each")
    k = config.k
    results: dict[str, object] = {}
    seconds: dict[str, float] = {}

    # Pretraining without the held-out users.
    t0 = time.perf_counter()
    pre_train, pre_valid, no_test = _train_split(pre, config.seed)
    pretrained = train_ngcf(pre_train, pre_valid, no_test, train_config)
    seconds["pretrain"] = time.perf_counter() - t0
    say(f"pretrained in {seconds['pretrain']:.1f}s")

    # (a) in-request fine-tuning: the site's predictor, and the fine-tuned node
    # alone (no neighbour term, no prior).
    with tempfile.TemporaryDirectory() as folder:
        path = save_checkpoint(pretrained.checkpoint, Path(folder) / "pre.pt")
        variants = {
            "foldin": NgcfPredictor.load(path, config.finetune),
            "foldin_ngcf_only": NgcfPredictor.load(
                path,
                replace(config.finetune, popularity_weight=0.0, neighbour_weight=0.0),
            ),
        }
    for name, predictor in variants.items():
        t0 = time.perf_counter()
        ranked = {}
        for u in held:
            recs = predictor.recommend(
                revealed[u].tolist(),
                k=k,
                epochs=config.finetune_epochs,
                seed=config.seed,
            )
            ranked[u] = [r.movie_id for r in recs]
        seconds[f"{name}_per_user"] = (time.perf_counter() - t0) / len(held)
        results[name] = _metrics(ranked, targets, k)

    # (b) full retraining with the revealed interactions in the graph.
    t0 = time.perf_counter()
    reveal_pairs = Interactions(
        np.concatenate([np.full(len(revealed[u]), u) for u in held]).astype(np.int64),
        np.concatenate([revealed[u] for u in held]).astype(np.int64),
    )
    full_train = Interactions(
        np.concatenate([pre_train.users, reveal_pairs.users]),
        np.concatenate([pre_train.items, reveal_pairs.items]),
    )
    retrained = train_ngcf(full_train, pre_valid, no_test, train_config)
    seconds["retrain"] = time.perf_counter() - t0
    ckpt = retrained.checkpoint
    user_ids = ckpt["user_ids"].numpy()
    item_ids = ckpt["item_ids"].numpy()
    u_emb, i_emb = _final_embeddings(retrained.model, full_train, user_ids, item_ids)
    rows = np.searchsorted(user_ids, held)
    degree = ckpt["item_degree"].to(torch.float32)
    visitors = u_emb[torch.from_numpy(rows)]
    tops = _top_k_from_embeddings(
        visitors, i_emb, item_ids, [revealed[u] for u in held], k
    )
    results["retrain_ngcf_only"] = _metrics(
        dict(zip(held, tops, strict=True)), targets, k
    )
    neighbours = ckpt["item_neighbour_embeddings"]
    visitors = visitors + config.finetune.neighbour_weight * torch.stack(
        [
            neighbours[torch.from_numpy(np.searchsorted(item_ids, revealed[u]))].mean(0)
            for u in held
        ]
    )
    tops = _top_k_from_embeddings(
        visitors,
        i_emb,
        item_ids,
        [revealed[u] for u in held],
        k,
        prior=config.finetune.popularity_weight * torch.log1p(degree),
    )
    results["retrain"] = _metrics(dict(zip(held, tops, strict=True)), targets, k)

    # (c) popularity.
    counts: dict[int, int] = {}
    for item in full_train.items.tolist():
        counts[item] = counts.get(item, 0) + 1
    by_popularity = sorted(counts, key=lambda i: (-counts[i], i))
    ranked = {}
    for u in held:
        seen = set(revealed[u].tolist())
        ranked[u] = [i for i in by_popularity if i not in seen][:k]
    results["popular"] = _metrics(ranked, targets, k)

    # (e) EASE, item-based, from the pretraining interactions.
    results["ease"] = _metrics(
        _ease_top_k(pre, revealed, held, config.ease_l2, k), targets, k
    )

    # (d) the original design: fresh model, a few full-graph steps.
    t0 = time.perf_counter()
    tops = _original_design(
        full_train, reveal_pairs, held, revealed, config, train_config
    )
    seconds["original_total"] = time.perf_counter() - t0
    results["original"] = _metrics(dict(zip(held, tops, strict=True)), targets, k)

    def ratio(a: str, b: str) -> dict[str, float]:
        return {m: results[a][m] / results[b][m] for m in results[a]}

    return {
        "methods": results,
        "foldin_over_retrain": ratio("foldin", "retrain"),
        "ngcf_only_foldin_over_retrain": ratio("foldin_ngcf_only", "retrain_ngcf_only"),
        "foldin_over_popular": ratio("foldin", "popular"),
        "foldin_over_ease": ratio("foldin", "ease"),
        "seconds": seconds,
        "heldout_users": len(held),
        "pretrain_best_epoch": pretrained.metrics["best_epoch"],
        "retrain_best_epoch": retrained.metrics["best_epoch"],
        "protocol": {
            "heldout_share": config.heldout_share,
            "revealed": config.revealed,
            "k": k,
            "finetune_epochs": config.finetune_epochs,
            "seed": config.seed,
            "finetune": asdict(config.finetune),
            "train": train_config.to_dict(),
        },
    }


def _ease_top_k(
    data: Interactions,
    revealed: dict[int, np.ndarray],
    held: list[int],
    l2: float,
    k: int,
) -> dict[int, list[int]]:
    """Top k of EASE item-item weights B = I - P / diag(P), P = (X^T X + l2 I)^-1,
    scored as the sum of the revealed items' rows (revealed items excluded)."""
    items = np.unique(data.items)
    users = np.unique(data.users)
    x = np.zeros((users.size, items.size), dtype=np.float64)
    x[np.searchsorted(users, data.users), np.searchsorted(items, data.items)] = 1.0
    p = np.linalg.inv(x.T @ x + l2 * np.eye(items.size))
    weights = -p / np.diag(p)
    np.fill_diagonal(weights, 0.0)
    ranked = {}
    for u in held:
        known = revealed[u][np.isin(revealed[u], items)]
        cols = np.searchsorted(items, known)
        scores = weights[cols].sum(axis=0)
        scores[cols] = -np.inf
        ranked[u] = items[np.argsort(-scores, kind="stable")[:k]].tolist()
    return ranked


@torch.no_grad()
def _final_embeddings(
    model: NGCF, train: Interactions, user_ids: np.ndarray, item_ids: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor]:
    users = torch.from_numpy(np.searchsorted(user_ids, train.users))
    items = torch.from_numpy(np.searchsorted(item_ids, train.items))
    adjacency = build_normalized_adjacency(users, items, user_ids.size, item_ids.size)
    model.eval()
    return model(adjacency)


def _original_design(
    full_train: Interactions,
    reveal_pairs: Interactions,
    held: list[int],
    revealed: dict[int, np.ndarray],
    config: FoldinConfig,
    train_config: TrainConfig,
) -> list[list[int]]:
    user_ids = np.unique(full_train.users)
    item_ids = np.unique(full_train.items)
    users = torch.from_numpy(np.searchsorted(user_ids, full_train.users))
    items = torch.from_numpy(np.searchsorted(item_ids, full_train.items))
    adjacency = build_normalized_adjacency(users, items, user_ids.size, item_ids.size)
    sampler = NegativeSampler(users, items, item_ids.size)
    pos_u = torch.from_numpy(np.searchsorted(user_ids, reveal_pairs.users))
    pos_i = torch.from_numpy(np.searchsorted(item_ids, reveal_pairs.items))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        generator = torch.Generator().manual_seed(config.seed)
        model = NGCF(user_ids.size, item_ids.size, train_config.model)
        optimizer = torch.optim.Adam(model.parameters(), lr=train_config.learning_rate)
        model.train()
        for _ in range(config.finetune_epochs):
            negatives = sampler.sample(pos_u, train_config.num_negatives, generator)
            user_final, item_final = model(adjacency)
            loss = bpr_loss(user_final, item_final, pos_u, pos_i, negatives)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            user_final, item_final = model(adjacency)
    rows = torch.from_numpy(np.searchsorted(user_ids, held))
    return _top_k_from_embeddings(
        user_final[rows], item_final, item_ids, [revealed[u] for u in held], config.k
    )
