"""NGCF: Neural Graph Collaborative Filtering (Wang et al., SIGIR 2019)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from pytorch_models.graph import symmetric_spmm

__all__ = ["NGCF", "NGCFConfig", "message_dropout"]


def message_dropout(x: torch.Tensor, rate: float) -> torch.Tensor:
    """Inverted dropout: zero each entry with probability ``rate``, scale by 1/(1-rate).

    Same as ``F.dropout(x, rate)`` but draws its randomness 4x cheaper: one int64
    from torch's global generator yields four 15-bit uniform numbers (bernoulli_
    draws one generator value per entry, a visible cost per training step on
    CPU). ``rate`` is effectively rounded to a multiple of 2^-15.
    """
    n = x.numel()
    bits = torch.empty((n + 3) // 4, dtype=torch.int64).random_()  # [0, 2^63)
    uniform15 = bits.view(torch.int16)[:n].view_as(x) & 0x7FFF  # 0..32767
    keep = uniform15 >= round(rate * 32768)
    return x * keep.to(x.dtype).mul_(1.0 / (1.0 - rate))


@dataclass(frozen=True)
class NGCFConfig:
    """Architecture of an NGCF model (everything needed to rebuild it)."""

    embedding_dim: int = 64  # d, width of the E0 user and item embeddings
    layer_sizes: tuple[int, ...] = (64, 64, 64)  # output width of each layer; L = len
    message_dropout: float = 0.0  # dropout on each layer's output, training only
    leaky_relu_slope: float = 0.2  # negative slope of the LeakyReLU

    def __post_init__(self) -> None:
        # asdict() of a config read back from a checkpoint or JSON gives a list
        object.__setattr__(self, "layer_sizes", tuple(self.layer_sizes))
        if min(self.embedding_dim, *self.layer_sizes) < 1:
            raise ValueError("embedding_dim and every layer size must be >= 1")
        if not 0 <= self.message_dropout < 1:
            raise ValueError("message_dropout must be in [0, 1)")
        if not 0 <= self.leaky_relu_slope <= 1:
            raise ValueError("leaky_relu_slope must be in [0, 1]")


class NGCF(nn.Module):
    """NGCF over a fixed bipartite graph of ``n_users`` users and ``n_items`` items.

    Node embeddings ``E_0`` (users then items) are propagated through L layers:

        side    = A_hat @ E_l
        E_l+1   = normalize( dropout( LeakyReLU( W1_l (side + E_l)
                                                  + W2_l (side * E_l) ) ) )

    where ``*`` is the element-wise product, ``W1_l, W2_l`` are affine maps
    (weight and bias) and ``normalize`` divides each row by its L2 norm. The final
    embedding of a node is ``concat(E_0, ..., E_L)`` and ``score(u, i) = <e_u, e_i>``.
    """

    def __init__(self, n_users: int, n_items: int, config: NGCFConfig) -> None:
        super().__init__()
        self.n_users = n_users
        self.n_items = n_items
        self.config = config
        self.user_embedding = nn.Parameter(torch.empty(n_users, config.embedding_dim))
        self.item_embedding = nn.Parameter(torch.empty(n_items, config.embedding_dim))
        widths = (config.embedding_dim, *config.layer_sizes)
        self.w1 = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)
        )
        self.w2 = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier-uniform weights and embeddings, zero biases (as the NGCF paper)."""
        nn.init.xavier_uniform_(self.user_embedding)
        nn.init.xavier_uniform_(self.item_embedding)
        for layer in (*self.w1, *self.w2):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def layer_embeddings(self, adjacency: torch.Tensor) -> list[torch.Tensor]:
        """Per-layer node embeddings ``[E_0, ..., E_L]``, each (N, width_l).

        Args:
            adjacency: (N, N) symmetric sparse CSR ``A_hat``, N = n_users + n_items.
        """
        slope = self.config.leaky_relu_slope
        ego = torch.cat([self.user_embedding, self.item_embedding], dim=0)
        layers = [ego]
        for w1, w2 in zip(self.w1, self.w2, strict=True):
            side = symmetric_spmm(adjacency, ego)
            ego = F.leaky_relu(w1(side + ego) + w2(side * ego), slope)
            if self.training and self.config.message_dropout > 0:
                ego = message_dropout(ego, self.config.message_dropout)
            ego = F.normalize(ego, p=2.0, dim=1)
            layers.append(ego)
        return layers

    def forward(self, adjacency: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Final user (n_users, D) and item (n_items, D) embeddings.

        D = embedding_dim + sum(layer_sizes): the concatenation of all layers.
        """
        final = torch.cat(self.layer_embeddings(adjacency), dim=1)
        return final[: self.n_users], final[self.n_users :]
