"""What serving needs precomputed from a trained model, packed into a checkpoint:
the items' layer embeddings on the training graph and their neighbour embeddings."""

from __future__ import annotations

import torch

from pytorch_models.checkpoint import Checkpoint
from pytorch_models.ngcf.model import NGCF
from pytorch_models.records import TrainConfig, TrainMetrics

__all__ = ["neighbour_embeddings", "serving_checkpoint"]


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
    user_degree = crow[1 : n_users + 1] - crow[:n_users]
    users = torch.repeat_interleave(torch.arange(n_users), user_degree)
    items = cols[:user_edges] - n_users
    n_items = adjacency.shape[0] - n_users
    weight = user_degree.to(user_final.dtype).sqrt()[users].unsqueeze(1)
    total = torch.zeros(n_items, user_final.shape[1], dtype=user_final.dtype)
    total.index_add_(0, items, user_final[users] * weight)
    item_degree = torch.bincount(items, minlength=n_items).clamp(min=1)
    return (total / item_degree.unsqueeze(1).to(total.dtype)).contiguous()


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
    )
