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
        rate = self.config.message_dropout if self.training else 0.0
        ego = torch.cat([self.user_embedding, self.item_embedding], dim=0)
        layers = [ego]
        for w1, w2 in zip(self.w1, self.w2, strict=True):
            side = symmetric_spmm(adjacency, ego)
            keep = None
            if rate > 0:
                keep = message_dropout(torch.ones(ego.shape[0], w1.out_features), rate)
            ego = _NgcfLayer.apply(
                side, ego, w1.weight, w2.weight, w1.bias + w2.bias, slope, keep
            )
            layers.append(ego)
        return layers

    def node_embeddings(self, adjacency: torch.Tensor) -> torch.Tensor:
        """(N, D) final embeddings of all nodes, users first: concat(E_0..E_L).

        Training scores pairs on this one table (items offset by ``n_users``):
        slicing it into a user and an item table costs two zero-filled (N, D)
        gradients in the backward pass.
        """
        return torch.cat(self.layer_embeddings(adjacency), dim=1)

    def forward(self, adjacency: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Final user (n_users, D) and item (n_items, D) embeddings.

        D = embedding_dim + sum(layer_sizes): the concatenation of all layers.
        """
        final = self.node_embeddings(adjacency)
        return final[: self.n_users], final[self.n_users :]


class _NgcfLayer(torch.autograd.Function):
    """One NGCF layer with a hand-written backward pass.

    Forward, with s = side + e, p = side * e and m the message-dropout mask
    (kept entries scaled by 1/(1-rate); all ones without dropout):

        z = s W1^T + p W2^T + b,   h = LeakyReLU(z) * m,   out = h / ||h||

    Backward, from g = d loss / d out:

        dh = (g - out <g, out>) / ||h||          (row-wise)
        dz = dh * m * (1 if out > 0 else slope)   (out has z's sign)
        dW1 = dz^T s,  dW2 = dz^T p,  db = sum_rows dz
        ds = dz W1,    dp = dz W2
        d side = ds + dp * e,   d e = ds + dp * side

    Autograd's version of the same layer keeps and re-reads about twice as many
    (N, width) temporaries; on CPU those elementwise passes, not the matrix
    products, were most of a training step.
    """

    @staticmethod
    def forward(ctx, side, ego, w1, w2, bias, slope, keep):
        # the arguments of NGCF.layer_embeddings' call
        s = side + ego
        p = side * ego
        z = torch.addmm(bias, s, w1.t()).addmm_(p, w2.t())
        h = F.leaky_relu(z, slope)
        if keep is not None:
            h.mul_(keep)
        norm = torch.linalg.vector_norm(h, dim=1, keepdim=True).clamp_(min=1e-12)
        out = h.div_(norm)  # z's sign, which the backward needs, is out's
        ctx.slope = slope
        ctx.save_for_backward(side, ego, s, p, w1, w2, keep, norm, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        side, ego, s, p, w1, w2, keep, norm, out = ctx.saved_tensors
        dot = (grad * out).sum(1, keepdim=True)
        dh = (grad - out * dot).div_(norm)  # never writes ``grad``
        dz = torch.ops.aten.leaky_relu_backward(dh, out, ctx.slope, True)
        if keep is not None:
            dz.mul_(keep)
        ds = dz @ w1
        dp = dz @ w2
        d_side = torch.addcmul(ds, dp, ego)
        d_ego = ds.addcmul_(dp, side)
        return d_side, d_ego, dz.t() @ s, dz.t() @ p, dz.sum(0), None, None
