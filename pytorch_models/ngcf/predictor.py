"""Per-request NGCF recommendations for a visitor who is not in the trained graph.

The checkpoint is loaded once; every request adds one user node, fine-tunes that
node's E0 row for a few BPR epochs with every pretrained weight frozen, and ranks
all items. Nothing shared is written, so one predictor serves many threads.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pytorch_models.checkpoint import LoadedCheckpoint, load_checkpoint
from pytorch_models.ngcf.candidates import CandidateIndex

logger = logging.getLogger(__name__)

__all__ = ["FinetuneConfig", "NgcfPredictor", "Recommendation", "RecommendationList"]


@dataclass(frozen=True)
class FinetuneConfig:
    """How the new visitor's E0 row is fitted inside the request."""

    learning_rate: float = 2e-3  # Adam step size; larger steps forget the warm start
    num_negatives: int = 4  # sampled negatives per clicked item and epoch
    l2_weight: float = 1e-5  # L2 penalty on the visitor's E0 row, as in training
    because_count: int = 2  # clicked movies named in each explanation
    # weight of the popularity prior log(1 + training degree) added to each score;
    # 0 ranks by the NGCF score alone
    popularity_weight: float = 0.0
    # weight of the neighbour term: the visitor's vector is f + w * (mean of the
    # clicked items' neighbour embeddings); 0 ranks by the fine-tuned node alone
    neighbour_weight: float = 1.0
    # catalogues above this many items are ranked from an approximate candidate
    # index (pytorch_models.ngcf.candidates) instead of scoring every item
    exact_ranking_limit: int = 20_000
    candidate_count: int = 200  # candidates fetched, then ranked exactly
    candidate_nprobe: int = 32  # inverted lists scanned per request


@dataclass(frozen=True)
class Recommendation:
    movie_id: int  # raw item id, as in the data
    score: float  # <e_u, e_i> after fine-tuning
    because: tuple[int, ...]  # clicked movie ids that contributed most


class RecommendationList(list):
    """The recommendations, best first, plus what was done with the input ids."""

    def __init__(
        self,
        items: Iterable[Recommendation] = (),
        *,
        used_ids: Sequence[int] = (),
        unknown_ids: Sequence[int] = (),
    ) -> None:
        super().__init__(items)
        self.used_ids = list(used_ids)  # input ids the model knows, each once
        self.unknown_ids = list(unknown_ids)  # input ids the model does not know


class _Layer:
    """One frozen NGCF layer as numpy arrays.

    `w` is [W1 | W2] (out x 2 in), so W1 a + W2 b is one product w @ [a; b];
    `bias` is b1 + b2. Per-request work is dominated by numpy call overhead on
    these small arrays, so fewer calls is what makes it fast.
    """

    def __init__(self, state: dict[str, torch.Tensor], index: int) -> None:
        w1 = state[f"w1.{index}.weight"].numpy()
        w2 = state[f"w2.{index}.weight"].numpy()
        self.width_in = w1.shape[1]
        self.w = np.ascontiguousarray(np.hstack([w1, w2]), dtype=np.float32)
        self.w_t = np.ascontiguousarray(self.w.T)  # (2 in, out) for the backward
        self.bias = (
            state[f"w1.{index}.bias"].numpy() + state[f"w2.{index}.bias"].numpy()
        ).astype(np.float32)


class NgcfPredictor:
    """Fine-tunes a new user node against a frozen, pretrained NGCF.

    For a visitor with clicked items N(u), n = |N(u)|, layer l of the new node is

        side_l  = sum_{i in N(u)} E_l[i] / sqrt(n * max(deg i, 1))
        z_l     = W1_l (side_l + e_l) + W2_l (side_l * e_l) + b1_l + b2_l
        e_{l+1} = LeakyReLU_s(z_l) / ||LeakyReLU_s(z_l)||

    where E_l[i] are the items' cached layer embeddings (dropout off). The items do
    not receive the new user's message (measured by `evaluate_foldin`). The side
    terms depend only on N(u), so they are computed once per request. The node's
    final embedding is f = concat(e_0..e_L); e_0 starts at the mean of E_0[N(u)]
    and is fitted for `epochs` Adam steps on the BPR loss

        L = -mean_k log sigmoid(<f, F_pos_k - F_neg_k>) + lambda ||e_0||^2

    over every clicked item with `num_negatives` sampled unclicked items each,
    with F the cached final item embeddings. The backward pass is written out by
    hand (each layer is a fixed map of e_l).

    Items are ranked by

        score(i) = <f + a * mean_{j in N(u)} G_j, F_i> + b log(1 + deg i)

    where G_j (from the checkpoint) is the activity-weighted mean final embedding
    of item j's training users: the users who clicked what the visitor clicked.
    The fine-tuned node alone ranks the top positions below plain popularity for
    ten-click visitors; the neighbour term fixes that. a (neighbour_weight) and b
    (popularity_weight) were chosen on a fold-in split (seed 1) other than the
    reported one (seed 0); see docs/BENCHMARKS.md.
    """

    def __init__(self, checkpoint: LoadedCheckpoint, config: FinetuneConfig) -> None:
        self.checkpoint = checkpoint
        self.config = config
        self.metrics = checkpoint.metrics
        self.slope = checkpoint.model_config.leaky_relu_slope
        self.item_ids = checkpoint.item_ids.numpy()
        self._index = {int(raw): i for i, raw in enumerate(self.item_ids.tolist())}
        state = checkpoint.state_dict
        self.layers = [
            _Layer(state, k) for k in range(len(checkpoint.model_config.layer_sizes))
        ]
        degree = checkpoint.item_degree.numpy().astype(np.float32)
        self.inv_sqrt_degree = 1.0 / np.sqrt(np.maximum(degree, 1.0))
        self.item_layers = [
            e.numpy().astype(np.float32) for e in checkpoint.item_layer_embeddings
        ]
        self.widths = [e.shape[1] for e in self.item_layers]
        starts = np.cumsum([0, *self.widths]).tolist()
        self._slices = [slice(a, b) for a, b in itertools.pairwise(starts)]
        final = checkpoint.item_final_embeddings().to(torch.float32).contiguous()
        self.n_items = final.shape[0]
        prior = config.popularity_weight * torch.log1p(checkpoint.item_degree.float())
        self.score_prior = prior if config.popularity_weight else None  # (n_items,)
        self.item_final_np = final.numpy()  # (n_items, D): rows gathered per epoch
        # (D, n_items): scoring all items is a row vector times this matrix, which
        # streams memory in order (about 3x faster than (n_items, D) @ f here).
        self.item_final_t = final.T.contiguous()
        self.item_final_t_np = self.item_final_t.numpy()
        unit = final / final.norm(dim=1, keepdim=True).clamp(min=1e-12)
        self.item_unit = unit.contiguous()  # (n_items, D) rows for explanations
        self.item_unit_t = unit.T.contiguous()  # (D, n_items) for similar()
        self.prior_np = None if self.score_prior is None else self.score_prior.numpy()
        self.candidates: CandidateIndex | None = None  # see use_candidate_index
        neighbours = checkpoint.item_neighbour_embeddings
        self.neighbour_np = (
            neighbours.numpy().astype(np.float32)
            if neighbours is not None and config.neighbour_weight
            else None
        )

    @property
    def uses_candidate_index(self) -> bool:
        return self.n_items > self.config.exact_ranking_limit

    def use_candidate_index(self, cache: str | Path | None = None) -> None:
        """Build (or read from ``cache``, when newer than the checkpoint) the
        approximate index that large catalogues are ranked from."""
        cfg = self.config
        cache = Path(cache) if cache is not None else None
        if cache is not None and cache.exists():
            try:
                self.candidates = CandidateIndex.load(
                    cache, self.item_final_np.shape[1], cfg.candidate_nprobe
                )
                return
            except (RuntimeError, ValueError) as exc:
                logger.warning(
                    "rebuilding unreadable candidate index %s: %s", cache, exc
                )
        self.candidates = CandidateIndex.build(
            self.item_final_np, self.prior_np, nprobe=cfg.candidate_nprobe
        )
        if cache is not None:
            try:
                self.candidates.save(cache)
            except OSError as exc:
                logger.warning("could not cache the candidate index: %s", exc)

    @classmethod
    def load(
        cls, path: str | Path, config: FinetuneConfig | None = None
    ) -> NgcfPredictor:
        """Load a checkpoint (weights_only) once; share the result between threads.

        A catalogue above ``config.exact_ranking_limit`` items also gets its
        candidate index, cached beside the checkpoint (rebuilt when the checkpoint
        is newer or the prior weight differs).
        """
        path = Path(path)
        predictor = cls(load_checkpoint(path), config or FinetuneConfig())
        if predictor.uses_candidate_index:
            weight = predictor.config.popularity_weight
            cache = path.with_name(f"{path.name}.prior{weight:g}.ivf.faiss")
            if cache.exists() and cache.stat().st_mtime < path.stat().st_mtime:
                cache.unlink(missing_ok=True)
            predictor.use_candidate_index(cache)
        return predictor

    def knows(self, movie_id: int) -> bool:
        return int(movie_id) in self._index

    def _split_known(self, movie_ids: Iterable[int]) -> tuple[list[int], list[int]]:
        known: dict[int, None] = {}
        unknown: dict[int, None] = {}
        for raw in movie_ids:
            raw = int(raw)
            (known if raw in self._index else unknown).setdefault(raw, None)
        return list(known), list(unknown)

    def user_embedding(
        self, rows: np.ndarray, epochs: int, rng: np.random.Generator
    ) -> np.ndarray:
        """The visitor's final embedding f (D,) after `epochs` fine-tuning steps."""
        n = len(rows)
        weights = self.inv_sqrt_degree[rows] / math.sqrt(n)  # (n,)
        sides = [weights @ layer[rows] for layer in self.item_layers[:-1]]
        e0 = self.item_layers[0][rows].mean(axis=0)
        if epochs <= 0:
            return self._forward(e0, sides)[0]
        cfg = self.config
        known = np.zeros(self.n_items, dtype=bool)
        known[rows] = True
        n_neg = cfg.num_negatives
        pos = self.item_final_np[rows]  # (n, D)
        # every epoch's negatives drawn and gathered at once: (epochs, n * n_neg, D)
        neg = self._sample_negatives(known, epochs * n * n_neg, rng)
        neg_final = self.item_final_np[neg].reshape(epochs, n * n_neg, -1)
        m = np.zeros_like(e0)
        v = np.zeros_like(e0)
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        for step in range(1, epochs + 1):
            f, cache = self._forward(e0, sides)
            negs = neg_final[step - 1]
            # pair k = (positive k // n_neg, negative k): x_k = <f, F_pos - F_neg>
            x = np.repeat(pos @ f, n_neg) - negs @ f
            w = _sigmoid(-x)  # d/dx of -log sigmoid(x) is -sigmoid(-x)
            grad_f = (w @ negs - w.reshape(n, n_neg).sum(axis=1) @ pos) / len(x)
            grad_e0 = self._backward(grad_f, cache) + 2.0 * cfg.l2_weight * e0
            m = beta1 * m + (1 - beta1) * grad_e0
            v = beta2 * v + (1 - beta2) * grad_e0 * grad_e0
            m_hat = m / (1 - beta1**step)
            v_hat = v / (1 - beta2**step)
            e0 = e0 - cfg.learning_rate * m_hat / (np.sqrt(v_hat) + eps)
        return self._forward(e0, sides)[0]

    def visitor_vector(
        self, rows: np.ndarray, epochs: int, rng: np.random.Generator
    ) -> np.ndarray:
        """What items are scored against: the fine-tuned node's final embedding
        plus the weighted neighbour term (when the checkpoint has one)."""
        f = self.user_embedding(rows, epochs, rng)
        if self.neighbour_np is not None:
            f = f + self.config.neighbour_weight * self.neighbour_np[rows].mean(axis=0)
        return f

    def _sample_negatives(
        self, known: np.ndarray, count: int, rng: np.random.Generator
    ) -> np.ndarray:
        neg = rng.integers(0, self.n_items, size=count)
        bad = known[neg]
        while bad.any():  # clicked items are never negatives
            neg[bad] = rng.integers(0, self.n_items, size=int(bad.sum()))
            bad = known[neg]
        return neg

    def _forward(
        self, e0: np.ndarray, sides: list[np.ndarray]
    ) -> tuple[np.ndarray, list[tuple]]:
        layer_out = [e0]
        cache = []
        e = e0
        slope = self.slope
        for layer, side in zip(self.layers, sides, strict=True):
            z = layer.w @ np.concatenate((side + e, side * e)) + layer.bias
            h = np.maximum(z, slope * z)  # LeakyReLU for 0 < slope < 1
            norm = max(math.sqrt(float(h @ h)), 1e-12)
            e_next = h / norm
            cache.append((layer, side, z > 0, norm, e_next))
            layer_out.append(e_next)
            e = e_next
        return np.concatenate(layer_out), cache

    def _backward(self, grad_f: np.ndarray, cache: list[tuple]) -> np.ndarray:
        """d loss / d e_0, given d loss / d f and the forward pass's cache."""
        grads = [grad_f[part] for part in self._slices]
        g = grads[-1]
        for k in range(len(cache) - 1, -1, -1):
            layer, side, positive, norm, e_next = cache[k]
            dh = (g - e_next * float(e_next @ g)) / norm
            dz = self.slope * dh
            np.copyto(dz, dh, where=positive)
            d_in = layer.w_t @ dz  # (2 in,): d/d(side + e) then d/d(side * e)
            g = grads[k] + d_in[: layer.width_in] + side * d_in[layer.width_in :]
        return g

    def recommend(
        self,
        movie_ids: Iterable[int],
        k: int = 10,
        epochs: int = 10,
        seed: int = 0,
    ) -> RecommendationList:
        """The k best movies for a visitor who clicked `movie_ids`, best first.

        Clicked movies are excluded; ids the model does not know are skipped and
        listed in `.unknown_ids`. Deterministic for a given seed.
        """
        known, unknown = self._split_known(movie_ids)
        if unknown:
            logger.info("skipped %d movie ids the model does not know", len(unknown))
        if not known or k <= 0:
            return RecommendationList(used_ids=known, unknown_ids=unknown)
        rows = np.fromiter((self._index[m] for m in known), dtype=np.int64)
        rng = np.random.default_rng(seed)
        f = self.visitor_vector(rows, epochs, rng)
        with torch.no_grad():
            if self.candidates is not None:
                top_rows, top_values = self._rank_candidates(f, rows, k)
            else:
                # numpy's sgemv streams this matrix about 25% faster than torch here
                scores = torch.from_numpy(f @ self.item_final_t_np)  # (n_items,)
                if self.score_prior is not None:
                    scores += self.score_prior
                scores[torch.from_numpy(rows)] = -math.inf
                top = torch.topk(scores, min(k, self.n_items - len(rows)))
                top_rows, top_values = top.indices, top.values
            # explanations: the clicked items most similar to each recommendation
            sim = self.item_unit[top_rows] @ self.item_unit[torch.from_numpy(rows)].T
            count = min(self.config.because_count, len(rows))
            because = torch.topk(sim, count, dim=1).indices.tolist()
        return RecommendationList(
            (
                Recommendation(
                    movie_id=int(self.item_ids[row]),
                    score=float(score),
                    because=tuple(known[j] for j in reasons),
                )
                for row, score, reasons in zip(
                    top_rows.tolist(), top_values.tolist(), because, strict=True
                )
            ),
            used_ids=known,
            unknown_ids=unknown,
        )

    def _rank_candidates(
        self, f: np.ndarray, rows: np.ndarray, k: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Top k from the candidate index's best items, scored exactly."""
        count = max(self.config.candidate_count, k) + len(rows)
        found = self.candidates.search(f, min(count, self.n_items))
        found = found[~np.isin(found, rows)]
        scores = self.item_final_np[found] @ f
        if self.prior_np is not None:
            scores += self.prior_np[found]
        top = torch.topk(torch.from_numpy(scores), min(k, len(found)))
        return torch.from_numpy(found)[top.indices], top.values

    def similar(self, movie_id: int, k: int = 10) -> list[tuple[int, float]]:
        """Movies nearest to `movie_id` by cosine of their final embeddings."""
        row = self._index.get(int(movie_id))
        if row is None:
            return []
        with torch.no_grad():
            sim = self.item_unit[row] @ self.item_unit_t
            sim[row] = -math.inf
            top = torch.topk(sim, min(k, self.n_items - 1))
        return [
            (int(self.item_ids[i]), float(s))
            for i, s in zip(top.indices.tolist(), top.values.tolist(), strict=True)
        ]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))
