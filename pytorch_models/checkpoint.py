"""Self-describing NGCF checkpoints, loadable with ``torch.load(weights_only=True)``.

The checkpoint is a plain dict of tensors, lists, numbers and strings:

    format               "pseudorec-ngcf"
    format_version       int, FORMAT_VERSION
    model_config         NGCFConfig.to_dict()
    train_config         TrainConfig.to_dict() (informational)
    n_users, n_items     int, rows of the embedding tables
    state_dict           {name: tensor} of NGCF (user_embedding, item_embedding,
                         w1.{l}.weight/bias, w2.{l}.weight/bias)
    user_ids             (n_users,) int64, raw user id of each user index
    item_ids             (n_items,) int64, raw item id of each item index
    item_degree          (n_items,) int64, training interactions of each item
    item_layer_embeddings  list of L+1 tensors (n_items, width_l): E_l[items] for
                         l = 0..L, computed on the training graph with dropout off,
                         detached (what the per-request predictor propagates from)
    item_neighbour_embeddings  (n_items, D) float32 (format version 2 on): for each
                         item, the mean of the final embeddings of its training
                         users, each weighted by sqrt(its training degree)
                         (see neighbour_embeddings; the predictor's neighbour term)
    metrics              {"valid": {...}, "test": {...}, "best_epoch", ...}
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import torch

from pytorch_models.ngcf import NGCF, NGCFConfig

__all__ = [
    "CHECKPOINT_FORMAT",
    "FORMAT_VERSION",
    "CheckpointError",
    "LoadedCheckpoint",
    "load_checkpoint",
    "make_checkpoint",
    "save_checkpoint",
]

CHECKPOINT_FORMAT = "pseudorec-ngcf"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)  # version 1 lacks item_neighbour_embeddings


class CheckpointError(ValueError):
    """A file that is not a usable NGCF checkpoint of a supported version."""


@torch.no_grad()
def neighbour_embeddings(
    adjacency: torch.Tensor, user_final: torch.Tensor, n_users: int
) -> torch.Tensor:
    """(n_items, D): per item, ``sum_v sqrt(deg v) f_v / deg i`` over its users v.

    ``adjacency`` is the (N, N) CSR graph with users first; only its pattern is
    used. Weighting users by the square root of their activity gives users with
    more evidence more say; fold-in chose this over plain and degree-normalised
    means (docs/BENCHMARKS.md, fold-in sweep).
    """
    crow = adjacency.crow_indices()
    cols = adjacency.col_indices()
    user_edges = int(crow[n_users])
    user_degree = (crow[1 : n_users + 1] - crow[:n_users]).to(user_final.dtype)
    users = torch.repeat_interleave(
        torch.arange(n_users), (crow[1 : n_users + 1] - crow[:n_users])
    )
    items = cols[:user_edges] - n_users
    n_items = adjacency.shape[0] - n_users
    weight = user_degree.sqrt()[users].unsqueeze(1)
    total = torch.zeros(n_items, user_final.shape[1], dtype=user_final.dtype)
    total.index_add_(0, items, user_final[users] * weight)
    item_degree = torch.bincount(items, minlength=n_items).clamp(min=1)
    return (total / item_degree.unsqueeze(1).to(total.dtype)).contiguous()


@torch.no_grad()
def make_checkpoint(
    model: NGCF,
    adjacency: torch.Tensor,
    user_ids: torch.Tensor,
    item_ids: torch.Tensor,
    item_degree: torch.Tensor,
    metrics: dict[str, object],
    train_config: dict[str, object] | None = None,
) -> dict[str, object]:
    """Build the checkpoint dict (item layer embeddings computed here, eval mode)."""
    was_training = model.training
    model.eval()
    layers = model.layer_embeddings(adjacency)
    model.train(was_training)
    item_layers = [
        layer[model.n_users :].detach().clone().contiguous() for layer in layers
    ]
    user_final = torch.cat([layer[: model.n_users] for layer in layers], dim=1)
    return {
        "format": CHECKPOINT_FORMAT,
        "format_version": FORMAT_VERSION,
        "model_config": model.config.to_dict(),
        "train_config": dict(train_config or {}),
        "n_users": model.n_users,
        "n_items": model.n_items,
        "state_dict": {
            k: v.detach().clone().contiguous() for k, v in model.state_dict().items()
        },
        "user_ids": user_ids.to(torch.int64).clone(),
        "item_ids": item_ids.to(torch.int64).clone(),
        "item_degree": item_degree.to(torch.int64).clone(),
        "item_layer_embeddings": item_layers,
        "item_neighbour_embeddings": neighbour_embeddings(
            adjacency, user_final, model.n_users
        ),
        "metrics": metrics,
    }


def save_checkpoint(checkpoint: dict[str, object], path: str | Path) -> Path:
    """Write a checkpoint dict with ``torch.save``; parent folders are created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)
    return path


@dataclass(frozen=True)
class LoadedCheckpoint:
    """A checkpoint read back, with typed fields."""

    format_version: int  # FORMAT_VERSION it was written with
    model_config: NGCFConfig  # architecture
    train_config: dict[str, object]  # training hyperparameters (informational)
    n_users: int  # user rows of the embedding table
    n_items: int  # item rows of the embedding table
    state_dict: dict[str, torch.Tensor]  # NGCF parameters
    user_ids: torch.Tensor  # (n_users,) int64 raw id per user index
    item_ids: torch.Tensor  # (n_items,) int64 raw id per item index
    item_degree: torch.Tensor  # (n_items,) int64 training degree
    item_layer_embeddings: list[torch.Tensor]  # L+1 x (n_items, width_l), eval mode
    metrics: dict[str, object]  # as in TrainResult.metrics
    # (n_items, D) or None for a version-1 checkpoint
    item_neighbour_embeddings: torch.Tensor | None = None

    def item_index(self) -> dict[int, int]:
        """Raw item id -> row index."""
        return {int(raw): i for i, raw in enumerate(self.item_ids.tolist())}

    def user_index(self) -> dict[int, int]:
        """Raw user id -> row index."""
        return {int(raw): i for i, raw in enumerate(self.user_ids.tolist())}

    def build_model(self) -> NGCF:
        """An NGCF with the stored weights, in eval mode."""
        model = NGCF(self.n_users, self.n_items, self.model_config)
        model.load_state_dict(self.state_dict)
        return model.eval()

    def item_final_embeddings(self) -> torch.Tensor:
        """(n_items, D) ``concat(E_0..E_L)[items]``, ready for scoring."""
        return torch.cat(self.item_layer_embeddings, dim=1)


_REQUIRED_KEYS = (
    "format",
    "format_version",
    "model_config",
    "n_users",
    "n_items",
    "state_dict",
    "user_ids",
    "item_ids",
    "item_degree",
    "item_layer_embeddings",
    "metrics",
)


def load_checkpoint(path: str | Path) -> LoadedCheckpoint:
    """Read a checkpoint with ``torch.load(map_location="cpu", weights_only=True)``.

    Raises:
        CheckpointError: unreadable (not a torch file, truncated, or holding
            objects weights_only refuses), not a dict, wrong format name,
            unsupported version, or a missing key.
        FileNotFoundError: no such file.
    """
    try:
        data = torch.load(Path(path), map_location="cpu", weights_only=True)
    except (
        pickle.UnpicklingError,
        RuntimeError,
        EOFError,
        ValueError,
        # the weights-only unpickler fails this way on some arbitrary bytes
        IndexError,
        KeyError,
        TypeError,
    ) as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a {CHECKPOINT_FORMAT} checkpoint")
    if data.get("format_version") not in READABLE_VERSIONS:
        raise CheckpointError(
            f"{path}: checkpoint format version {data.get('format_version')!r}, "
            f"this code reads versions {', '.join(map(str, READABLE_VERSIONS))}"
        )
    missing = [k for k in _REQUIRED_KEYS if k not in data]
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {', '.join(missing)}")
    return LoadedCheckpoint(
        format_version=int(data["format_version"]),
        model_config=NGCFConfig.from_dict(data["model_config"]),
        train_config=dict(data.get("train_config", {})),
        n_users=int(data["n_users"]),
        n_items=int(data["n_items"]),
        state_dict=dict(data["state_dict"]),
        user_ids=data["user_ids"],
        item_ids=data["item_ids"],
        item_degree=data["item_degree"],
        item_layer_embeddings=list(data["item_layer_embeddings"]),
        metrics=dict(data["metrics"]),
        item_neighbour_embeddings=data.get("item_neighbour_embeddings"),
    )
