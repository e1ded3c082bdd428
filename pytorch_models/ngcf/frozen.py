"""A trained NGCF frozen for serving: numpy layers, one forward and one backward
pass for a single new user node against the cached item embeddings."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import torch

from pytorch_models.checkpoint import Checkpoint

__all__ = ["FrozenLayer", "FrozenNgcf"]


@dataclass(frozen=True)
class FrozenLayer:
    """One NGCF layer as numpy arrays.

    ``w`` is [W1 | W2] (out x 2 in), so W1 a + W2 b is one product w @ [a; b];
    ``bias`` is b1 + b2. Per-request work is dominated by numpy call overhead on
    these small arrays, so fewer calls is what makes it fast.
    """

    w: np.ndarray  # (out, 2 in) float32
    bias: np.ndarray  # (out,) float32

    @property
    def width_in(self) -> int:
        return self.w.shape[1] // 2

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor], index: int) -> FrozenLayer:
        w1, w2 = state[f"w1.{index}.weight"], state[f"w2.{index}.weight"]
        bias = state[f"w1.{index}.bias"] + state[f"w2.{index}.bias"]
        return cls(torch.cat([w1, w2], dim=1).float().numpy(), bias.float().numpy())


class FrozenNgcf:
    """The frozen model a new user node is propagated through.

    For a visitor with clicked items N(u), n = |N(u)|, layer l of the new node is

        side_l  = sum_{i in N(u)} E_l[i] / sqrt(n * max(deg i, 1))
        z_l     = W1_l (side_l + e_l) + W2_l (side_l * e_l) + b1_l + b2_l
        e_{l+1} = LeakyReLU_s(z_l) / ||LeakyReLU_s(z_l)||

    where E_l[i] are the items' cached layer embeddings (dropout off). The items
    do not receive the new user's message (measured by ``evaluate_foldin``). The
    side terms depend only on N(u), so they are computed once per request. The
    node's final embedding is f = concat(e_0..e_L).

    ``item_final`` (n_items, D) = concat(E_0..E_L)[items] is the one item matrix:
    the layers E_l are column slices of it.
    """

    def __init__(
        self,
        layers: list[FrozenLayer],
        item_final: np.ndarray,
        item_degree: np.ndarray,
        widths: list[int],
        slope: float,
    ) -> None:
        self.layers = layers
        self.item_final = item_final  # (n_items, D) float32, C-contiguous
        self.inv_sqrt_degree = 1.0 / np.sqrt(
            np.maximum(item_degree.astype(np.float32), 1.0)
        )
        starts = np.cumsum([0, *widths]).tolist()
        self.slices = [slice(a, b) for a, b in itertools.pairwise(starts)]
        self.slope = slope

    @classmethod
    def from_checkpoint(cls, checkpoint: Checkpoint) -> FrozenNgcf:
        state = checkpoint.state_dict
        layers = [
            FrozenLayer.from_state(state, k)
            for k in range(len(checkpoint.model_config.layer_sizes))
        ]
        item_layers = checkpoint.item_layer_embeddings
        return cls(
            layers,
            torch.cat(item_layers, dim=1).float().contiguous().numpy(),
            checkpoint.item_degree.numpy(),
            [e.shape[1] for e in item_layers],
            checkpoint.model_config.leaky_relu_slope,
        )

    @property
    def n_items(self) -> int:
        return self.item_final.shape[0]

    def sides(self, rows: np.ndarray) -> list[np.ndarray]:
        """side_l for l = 0..L-1 of a node linked to the items ``rows``."""
        weights = self.inv_sqrt_degree[rows] / math.sqrt(len(rows))  # (n,)
        side = weights @ self.item_final[rows]  # (D,): every layer at once
        return [side[part] for part in self.slices[:-1]]

    def warm_start(self, rows: np.ndarray) -> np.ndarray:
        """e_0 of a new node: the mean E_0 of its items."""
        return self.item_final[rows, self.slices[0]].mean(axis=0)

    def forward(
        self, e0: np.ndarray, sides: list[np.ndarray]
    ) -> tuple[np.ndarray, list[tuple]]:
        """The node's final embedding f (D,) and what :meth:`backward` needs."""
        layer_out = [e0]
        cache = []
        e = e0
        for layer, side in zip(self.layers, sides, strict=True):
            z = layer.w @ np.concatenate((side + e, side * e)) + layer.bias
            h = np.maximum(z, self.slope * z)  # LeakyReLU for 0 <= slope <= 1
            norm = max(math.sqrt(float(h @ h)), 1e-12)
            e = h / norm
            cache.append((layer, side, z > 0, norm, e))
            layer_out.append(e)
        return np.concatenate(layer_out), cache

    def backward(self, grad_f: np.ndarray, cache: list[tuple]) -> np.ndarray:
        """d loss / d e_0, given d loss / d f and the forward pass's cache."""
        grads = [grad_f[part] for part in self.slices]
        g = grads[-1]
        for k in range(len(cache) - 1, -1, -1):
            layer, side, positive, norm, e_next = cache[k]
            dh = (g - e_next * float(e_next @ g)) / norm
            dz = self.slope * dh
            np.copyto(dz, dh, where=positive)
            d_in = dz @ layer.w  # (2 in,): d/d(side + e) then d/d(side * e)
            g = grads[k] + d_in[: layer.width_in] + side * d_in[layer.width_in :]
        return g
