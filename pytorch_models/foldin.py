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
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch

from pytorch_models.bpr import bpr_loss
from pytorch_models.data import Interactions, split_per_user
from pytorch_models.evaluation import ranking_metrics
from pytorch_models.graph import build_normalized_adjacency
from pytorch_models.ngcf.model import NGCF
from pytorch_models.ngcf.predictor import FinetuneConfig, NgcfPredictor
from pytorch_models.records import TrainConfig
from pytorch_models.sampling import NegativeSampler
from pytorch_models.training import TrainResult, train_ngcf

logger = logging.getLogger(__name__)

__all__ = [
    "METHODS",
    "FoldinConfig",
    "FoldinReport",
    "HeldOut",
    "Quality",
    "evaluate_foldin",
    "pretraining_split",
    "rank_ease",
    "rank_foldin",
    "rank_original",
    "rank_popular",
    "rank_retrained",
    "ranking_quality",
    "split_heldout_users",
]

# the compared methods, in the order the report lists them
METHODS = {
    "foldin": "(a) in-request fine-tuning (the site)",
    "foldin_ngcf_only": "(a) the fine-tuned node alone (no neighbour term, no prior)",
    "retrain": "(b) full retraining with the revealed clicks, ranked as (a)",
    "retrain_ngcf_only": "(b) the retrained embedding alone",
    "popular": "(c) popularity",
    "original": "(d) original design: fresh model, ten full-graph steps",
    "ease": "(e) EASE item-item on the revealed clicks (item-based reference)",
}

Ranked = dict[int, list[int]]  # raw user id -> raw item ids, best first


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

    def __post_init__(self) -> None:
        if not 0 < self.heldout_share < 1:
            raise ValueError("heldout_share must be in (0, 1)")
        if min(self.revealed, self.k) < 1 or self.finetune_epochs < 0:
            raise ValueError("revealed and k must be >= 1, finetune_epochs >= 0")


@dataclass(frozen=True)
class HeldOut:
    """The held-out users: what each reveals and what is left to find."""

    revealed: dict[int, np.ndarray]  # raw user id -> revealed raw item ids
    targets: dict[int, np.ndarray]  # raw user id -> the rest of their items
    # raw user id -> positions in the split data of the revealed and target items
    # (same order), for per-row extras such as stars; empty when not tracked
    revealed_rows: dict[int, np.ndarray] = field(default_factory=dict)
    target_rows: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def users(self) -> list[int]:
        return sorted(self.revealed)

    def revealed_pairs(self) -> Interactions:
        users = self.users
        return Interactions(
            np.concatenate([np.full(len(self.revealed[u]), u) for u in users]).astype(
                np.int64
            ),
            np.concatenate([self.revealed[u] for u in users]).astype(np.int64),
        )


@dataclass(frozen=True)
class Quality:
    """Mean Recall@K and NDCG@K over the held-out users."""

    recall: float
    ndcg: float

    def over(self, other: Quality) -> Quality:
        return Quality(self.recall / other.recall, self.ndcg / other.ndcg)


@dataclass(frozen=True)
class FoldinReport:
    """What :func:`evaluate_foldin` measured."""

    config: FoldinConfig  # the protocol (with the training seed it used)
    methods: dict[str, Quality]  # by name, as in METHODS
    heldout_users: int
    pretrain_best_epoch: int
    retrain_best_epoch: int
    pretrain_seconds: float
    retrain_seconds: float
    original_seconds: float  # all held-out visitors at once
    foldin_seconds_per_user: float  # the site's path, per visitor

    def ratio(self, a: str, b: str) -> Quality:
        return self.methods[a].over(self.methods[b])

    def to_dict(self) -> dict[str, object]:
        """Plain-Python form for JSON, metrics named as "recall@K", "ndcg@K"."""
        k = self.config.k

        def named(q: Quality) -> dict[str, float]:
            return {f"recall@{k}": q.recall, f"ndcg@{k}": q.ndcg}

        data = asdict(self)
        data["methods"] = {name: named(q) for name, q in self.methods.items()}
        for a, b in (("foldin", "retrain"), ("foldin", "popular"), ("foldin", "ease")):
            data[f"{a}_over_{b}"] = named(self.ratio(a, b))
        data["ngcf_only_foldin_over_retrain"] = named(
            self.ratio("foldin_ngcf_only", "retrain_ngcf_only")
        )
        return data

    def markdown(self) -> str:
        """The comparison as a markdown table and two lines of ratios."""
        k = self.config.k
        lines = [f"| method | Recall@{k} | NDCG@{k} |", "| --- | ---: | ---: |"]
        for name, label in METHODS.items():
            q = self.methods[name]
            lines.append(f"| {label} | {q.recall:.4f} | {q.ndcg:.4f} |")
        ratio = self.ratio("foldin", "retrain")
        alone = self.ratio("foldin_ngcf_only", "retrain_ngcf_only")
        pop = self.ratio("foldin", "popular")
        ease = self.ratio("foldin", "ease")
        lines += [
            "",
            f"(a)/(b): Recall@{k} {ratio.recall:.1%}, NDCG@{k} {ratio.ndcg:.1%} "
            f"(embeddings alone: {alone.recall:.1%}, {alone.ndcg:.1%}). (a)/(c): "
            f"Recall@{k} {pop.recall:.2f}x, NDCG@{k} {pop.ndcg:.2f}x. (a)/(e): "
            f"Recall@{k} {ease.recall:.2f}x, NDCG@{k} {ease.ndcg:.2f}x.",
            f"{self.heldout_users} held-out users, {self.config.revealed} revealed "
            f"interactions each, seed {self.config.seed}; fine-tuning "
            f"{self.foldin_seconds_per_user * 1000:.1f} ms per visitor; "
            f"retraining {self.retrain_seconds:.1f} s.",
        ]
        return "\n".join(lines) + "\n"


def split_heldout_users(
    data: Interactions, config: FoldinConfig
) -> tuple[Interactions, HeldOut]:
    """Pretraining interactions, and the revealed and target items of each
    held-out user."""
    if data.timestamps is None:
        raise ValueError("the fold-in protocol needs timestamps")
    rng = np.random.default_rng(config.seed)
    users, counts = np.unique(data.users, return_counts=True)
    eligible = users[counts > config.revealed]  # someone must be left to find
    n_held = int(round(config.heldout_share * users.size))
    held = np.sort(rng.choice(eligible, size=min(n_held, eligible.size), replace=False))
    revealed: dict[int, np.ndarray] = {}
    targets: dict[int, np.ndarray] = {}
    revealed_rows: dict[int, np.ndarray] = {}
    target_rows: dict[int, np.ndarray] = {}
    for user in held:
        rows = np.flatnonzero(data.users == user)
        # order by time; ties broken by item id so the protocol is deterministic
        order = rows[np.lexsort((data.items[rows], data.timestamps[rows]))]
        revealed_rows[int(user)] = order[: config.revealed]
        target_rows[int(user)] = order[config.revealed :]
        revealed[int(user)] = data.items[revealed_rows[int(user)]]
        targets[int(user)] = data.items[target_rows[int(user)]]
    pretraining = data.take(np.flatnonzero(~np.isin(data.users, held)))
    return pretraining, HeldOut(revealed, targets, revealed_rows, target_rows)


def ranking_quality(ranked: Ranked, heldout: HeldOut, k: int) -> Quality:
    """Recall@k and NDCG@k of each held-out user's list against their targets."""
    users = heldout.users
    targets = heldout.targets
    hits = torch.tensor(
        [[item in set(targets[u].tolist()) for item in ranked[u][:k]] for u in users],
        dtype=torch.bool,
    )
    n_rel = torch.tensor([len(targets[u]) for u in users])
    full = ranking_metrics(hits, n_rel, ks=(k,))
    return Quality(full[f"recall@{k}"], full[f"ndcg@{k}"])


def pretraining_split(
    data: Interactions, seed: int
) -> tuple[Interactions, Interactions, Interactions]:
    """Train/valid for early stopping, and an empty test part (not used here)."""
    split, _ = split_per_user(data, seed=seed, ratios=(0.9, 0.1, 0.0))
    return split.train, split.valid, split.test


def rank_foldin(
    predictor: NgcfPredictor, heldout: HeldOut, k: int, epochs: int, seed: int
) -> Ranked:
    """(a): each held-out visitor served by the site's predictor."""
    return {
        u: [
            r.movie_id
            for r in predictor.recommend(
                heldout.revealed[u].tolist(), k=k, epochs=epochs, seed=seed
            )
        ]
        for u in heldout.users
    }


def _rank_by_embeddings(
    users_emb: torch.Tensor,
    items_emb: torch.Tensor,
    item_ids: np.ndarray,
    heldout: HeldOut,
    k: int,
    prior: torch.Tensor | None = None,
) -> Ranked:
    """Top k per held-out user (rows of ``users_emb`` in ``heldout.users``
    order) by inner product plus ``prior``, revealed items excluded."""
    scores = users_emb @ items_emb.T
    if prior is not None:
        scores += prior
    index = {int(raw): i for i, raw in enumerate(item_ids.tolist())}
    for row, user in enumerate(heldout.users):
        items = heldout.revealed[user]
        scores[row, [index[int(i)] for i in items if int(i) in index]] = -torch.inf
    top = torch.topk(scores, k, dim=1).indices.tolist()
    return {
        u: [int(item_ids[c]) for c in row]
        for u, row in zip(heldout.users, top, strict=True)
    }


def _index_graph(data: Interactions) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """Sorted raw user and item ids of ``data`` and its normalised graph."""
    user_ids, item_ids = np.unique(data.users), np.unique(data.items)
    users = torch.from_numpy(np.searchsorted(user_ids, data.users))
    items = torch.from_numpy(np.searchsorted(item_ids, data.items))
    graph = build_normalized_adjacency(users, items, user_ids.size, item_ids.size)
    return user_ids, item_ids, graph


@torch.no_grad()
def rank_retrained(
    retrained: TrainResult,
    graph_data: Interactions,
    heldout: HeldOut,
    config: FoldinConfig,
) -> tuple[Ranked, Ranked]:
    """(b): the retrained visitors' own embeddings (propagated over
    ``graph_data``), alone and with (a)'s neighbour term and prior."""
    checkpoint = retrained.checkpoint
    item_ids = checkpoint.item_ids.numpy()
    _, _, graph = _index_graph(graph_data)
    user_emb, item_emb = retrained.model.eval()(graph)
    rows = np.searchsorted(checkpoint.user_ids.numpy(), heldout.users)
    visitors = user_emb[torch.from_numpy(rows)]
    alone = _rank_by_embeddings(visitors, item_emb, item_ids, heldout, config.k)
    neighbours = checkpoint.item_neighbour_embeddings
    term = torch.stack(
        [
            neighbours[torch.from_numpy(np.searchsorted(item_ids, r))].mean(0)
            for r in (heldout.revealed[u] for u in heldout.users)
        ]
    )
    finetune = config.finetune
    prior = finetune.popularity_weight * torch.log1p(checkpoint.item_degree.float())
    visitors = visitors + finetune.neighbour_weight * term
    mixed = _rank_by_embeddings(visitors, item_emb, item_ids, heldout, config.k, prior)
    return alone, mixed


def rank_popular(data: Interactions, heldout: HeldOut, k: int) -> Ranked:
    """(c): items by interaction count in ``data``, ties by id."""
    ids, counts = np.unique(data.items, return_counts=True)
    by_popularity = ids[np.lexsort((ids, -counts))].tolist()
    ranked = {}
    for u in heldout.users:
        seen = set(heldout.revealed[u].tolist())
        ranked[u] = [i for i in by_popularity if i not in seen][:k]
    return ranked


def rank_ease(
    data: Interactions,
    heldout: HeldOut,
    l2: float,
    k: int,
    signals: dict[int, np.ndarray] | None = None,
) -> Ranked:
    """(e): EASE item-item weights B = I - P / diag(P), P = (X^T X + l2 I)^-1,
    from ``data``; a visitor's scores are the sum of their revealed items' rows,
    each weighted by its entry of ``signals`` (user -> one signed weight per
    revealed item; default 1), revealed items excluded."""
    items = np.unique(data.items)
    users = np.unique(data.users)
    x = np.zeros((users.size, items.size), dtype=np.float64)
    x[np.searchsorted(users, data.users), np.searchsorted(items, data.items)] = 1.0
    p = np.linalg.inv(x.T @ x + l2 * np.eye(items.size))
    weights = -p / np.diag(p)
    np.fill_diagonal(weights, 0.0)
    ranked = {}
    for u in heldout.users:
        inside = np.isin(heldout.revealed[u], items)
        cols = np.searchsorted(items, heldout.revealed[u][inside])
        signed = np.ones(inside.sum()) if signals is None else signals[u][inside]
        scores = signed @ weights[cols]
        scores[cols] = -np.inf
        ranked[u] = items[np.argsort(-scores, kind="stable")[:k]].tolist()
    return ranked


def rank_original(data: Interactions, heldout: HeldOut, config: FoldinConfig) -> Ranked:
    """(d): a fresh NGCF over ``data`` (visitors included) trained for
    ``finetune_epochs`` full-graph BPR steps on the revealed pairs."""
    user_ids, item_ids, graph = _index_graph(data)
    sampler = NegativeSampler(
        torch.from_numpy(np.searchsorted(user_ids, data.users)),
        torch.from_numpy(np.searchsorted(item_ids, data.items)),
        item_ids.size,
    )
    pairs = heldout.revealed_pairs()
    pos_u = torch.from_numpy(np.searchsorted(user_ids, pairs.users))
    pos_i = torch.from_numpy(np.searchsorted(item_ids, pairs.items))
    train = config.train
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        generator = torch.Generator().manual_seed(config.seed)
        model = NGCF(user_ids.size, item_ids.size, train.model)
        optimizer = torch.optim.Adam(model.parameters(), lr=train.learning_rate)
        model.train()
        for _ in range(config.finetune_epochs):
            negatives = sampler.sample(pos_u, train.num_negatives, generator)
            loss = bpr_loss(*model(graph), pos_u, pos_i, negatives)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            user_final, item_final = model(graph)
    rows = torch.from_numpy(np.searchsorted(user_ids, heldout.users))
    return _rank_by_embeddings(
        user_final[rows], item_final, item_ids, heldout, config.k
    )


def evaluate_foldin(
    data: Interactions,
    config: FoldinConfig | None = None,
    say: Callable[[str], None] = logger.info,
) -> FoldinReport:
    """Run the protocol: every method's quality, with timings."""
    config = config or FoldinConfig()
    pre, heldout = split_heldout_users(data, config)
    say(f"{len(heldout.users)} held-out users, {config.revealed} revealed each")
    k, epochs, seed = config.k, config.finetune_epochs, config.seed
    config = replace(config, train=replace(config.train, seed=seed))
    train, valid, empty = pretraining_split(pre, seed)
    started = time.perf_counter()
    pretrained = train_ngcf(train, valid, empty, config.train)
    pretrain_seconds = time.perf_counter() - started
    say(f"pretrained in {pretrain_seconds:.1f}s")

    ranked: dict[str, Ranked] = {}
    started = time.perf_counter()
    site = NgcfPredictor(pretrained.checkpoint, config.finetune)
    ranked["foldin"] = rank_foldin(site, heldout, k, epochs, seed)
    per_user = (time.perf_counter() - started) / len(heldout.users)
    alone = replace(config.finetune, popularity_weight=0.0, neighbour_weight=0.0)
    node_only = NgcfPredictor(pretrained.checkpoint, alone)
    ranked["foldin_ngcf_only"] = rank_foldin(node_only, heldout, k, epochs, seed)

    full_train = _with_pairs(train, heldout.revealed_pairs())
    started = time.perf_counter()
    retrained = train_ngcf(full_train, valid, empty, config.train)
    retrain_seconds = time.perf_counter() - started
    ranked["retrain_ngcf_only"], ranked["retrain"] = rank_retrained(
        retrained, full_train, heldout, config
    )
    ranked["popular"] = rank_popular(full_train, heldout, k)
    ranked["ease"] = rank_ease(pre, heldout, config.ease_l2, k)
    started = time.perf_counter()
    ranked["original"] = rank_original(full_train, heldout, config)
    return FoldinReport(
        config=config,
        methods={m: ranking_quality(ranked[m], heldout, k) for m in METHODS},
        heldout_users=len(heldout.users),
        pretrain_best_epoch=pretrained.metrics.best_epoch,
        retrain_best_epoch=retrained.metrics.best_epoch,
        pretrain_seconds=pretrain_seconds,
        retrain_seconds=retrain_seconds,
        original_seconds=time.perf_counter() - started,
        foldin_seconds_per_user=per_user,
    )


def _with_pairs(data: Interactions, extra: Interactions) -> Interactions:
    """``data`` with the ``extra`` pairs appended (no timestamps)."""
    return Interactions(
        np.concatenate([data.users, extra.users]),
        np.concatenate([data.items, extra.items]),
    )
