"""What serving needs precomputed from a trained model, packed into a checkpoint:
the items' layer embeddings on the training graph and their neighbour embeddings."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from pytorch_models.checkpoint import Checkpoint, KeyedUsers
from pytorch_models.ngcf.model import NGCF
from pytorch_models.records import TrainConfig, TrainMetrics

__all__ = [
    "keyed_users_of",
    "neighbour_embeddings",
    "neighbour_scale",
    "serving_checkpoint",
]


def _user_edges(
    adjacency: torch.Tensor, n_users: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per training edge its user and item index, then the user and item degrees,
    from the (N, N) CSR graph with users first (only its pattern is used)."""
    crow = adjacency.crow_indices()
    cols = adjacency.col_indices()
    user_edges = int(crow[n_users])
    user_degree = crow[1 : n_users + 1] - crow[:n_users]
    users = torch.repeat_interleave(torch.arange(n_users), user_degree)
    items = cols[:user_edges] - n_users
    n_items = adjacency.shape[0] - n_users
    item_degree = torch.bincount(items, minlength=n_items).clamp(min=1)
    return users, items, user_degree, item_degree


@torch.no_grad()
def neighbour_embeddings(
    adjacency: torch.Tensor, user_final: torch.Tensor, n_users: int
) -> torch.Tensor:
    """(n_items, D): per item, ``sum_v sqrt(deg v) f_v / deg i`` over its users v.

    Weighting users by the square root of their activity gives users with more
    evidence more say; fold-in chose this over plain and degree-normalised means
    (docs/BENCHMARKS.md, fold-in sweep).
    """
    users, items, user_degree, item_degree = _user_edges(adjacency, n_users)
    weight = user_degree.to(user_final.dtype).sqrt()[users].unsqueeze(1)
    total = torch.zeros(
        item_degree.numel(), user_final.shape[1], dtype=user_final.dtype
    )
    total.index_add_(0, items, user_final[users] * weight)
    return (total / item_degree.unsqueeze(1).to(total.dtype)).contiguous()


@torch.no_grad()
def neighbour_scale(adjacency: torch.Tensor, n_users: int) -> torch.Tensor:
    """(n_items,) s_i = sum_v sqrt(deg v) / deg i over item i's training users.

    The neighbour embedding G_i is linear in the user vectors, so centring every
    user vector by c * mu changes G_i by exactly -c * s_i * mu: the centring can
    be applied per request, for any c, from G, s and mu.
    """
    users, items, user_degree, item_degree = _user_edges(adjacency, n_users)
    total = torch.zeros(item_degree.numel(), dtype=torch.float64)
    total.index_add_(0, items, user_degree.to(torch.float64).sqrt()[users])
    return (total / item_degree).float()


def keyed_users_of(
    adjacency: torch.Tensor,
    user_ids: torch.Tensor,
    digests: Mapping[int, str],
    trained_until: int | None = None,
) -> KeyedUsers | None:
    """The users of ``digests`` (raw user id -> key digest) that are in the
    graph, with their training items read off the (N, N) CSR graph (users
    first); None when there are none."""
    raw = {int(r): u for u, r in enumerate(user_ids.tolist())}
    named = sorted((raw[r], d) for r, d in digests.items() if r in raw)
    if not named:
        return None
    crow, cols = adjacency.crow_indices(), adjacency.col_indices()
    n_users = user_ids.numel()
    rows = torch.tensor([u for u, _ in named], dtype=torch.int64)
    starts, ends = crow[rows], crow[rows + 1]
    items = torch.cat(
        [cols[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
    )
    item_ptr = torch.zeros(len(named) + 1, dtype=torch.int64)
    item_ptr[1:] = torch.cumsum(ends - starts, 0)
    return KeyedUsers(
        digests=[d for _, d in named],
        user_rows=rows,
        item_ptr=item_ptr,
        items=(items - n_users).to(torch.int64),
        trained_until=trained_until,
    )


@torch.no_grad()
def serving_checkpoint(
    model: NGCF,
    adjacency: torch.Tensor,
    *,
    user_ids: torch.Tensor,
    item_ids: torch.Tensor,
    item_degree: torch.Tensor,
    metrics: TrainMetrics,
    train_config: TrainConfig,
    keyed_users: KeyedUsers | None = None,
) -> Checkpoint:
    """The checkpoint of ``model`` on ``adjacency``, its training graph, with the
    item layer embeddings of an eval-mode propagation (dropout off)."""
    was_training = model.training
    model.eval()
    layers = model.layer_embeddings(adjacency)
    model.train(was_training)
    user_final = torch.cat([layer[: model.n_users] for layer in layers], dim=1)
    return Checkpoint(
        model_config=model.config,
        train_config=train_config,
        n_users=model.n_users,
        n_items=model.n_items,
        state_dict={
            k: v.detach().clone().contiguous() for k, v in model.state_dict().items()
        },
        user_ids=user_ids.to(torch.int64).clone(),
        item_ids=item_ids.to(torch.int64).clone(),
        item_degree=item_degree.to(torch.int64).clone(),
        item_layer_embeddings=[
            layer[model.n_users :].detach().clone().contiguous() for layer in layers
        ],
        metrics=metrics,
        item_neighbour_embeddings=neighbour_embeddings(
            adjacency, user_final, model.n_users
        ),
        item_neighbour_scale=neighbour_scale(adjacency, model.n_users),
        user_mean_final=user_final.mean(dim=0).float().contiguous(),
        keyed_users=keyed_users,
    )
