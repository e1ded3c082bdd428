"""Per-request NGCF recommendations for a visitor who is not in the trained graph.

The checkpoint is loaded once; every request adds one user node to the frozen
model (`frozen`), fine-tunes that node's E0 row for a few BPR epochs (`finetune`)
and ranks the items with explanations (`ranking`). Nothing shared is written, so
one predictor serves many threads.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pytorch_models.checkpoint import Checkpoint, load_checkpoint
from pytorch_models.ngcf.candidates import CandidateIndex, candidate_index_beside
from pytorch_models.ngcf.finetune import finetune_visitor
from pytorch_models.ngcf.frozen import FrozenNgcf
from pytorch_models.ngcf.ranking import (
    explain,
    most_similar,
    rank_candidates,
    rank_exact,
)
from pytorch_models.ngcf.shared_arrays import shared_array_beside

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

    def __post_init__(self) -> None:
        if self.num_negatives < 1 or self.because_count < 0:
            raise ValueError("num_negatives must be >= 1 and because_count >= 0")
        if min(self.candidate_count, self.candidate_nprobe) < 1:
            raise ValueError("candidate_count and candidate_nprobe must be >= 1")


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


class NgcfPredictor:
    """Serves a visitor the model never saw by folding them into the frozen NGCF.

    The visitor's node f comes from :func:`finetune_visitor` on the
    :class:`FrozenNgcf`. Items are ranked by

        score(i) = <f + a * mean_{j in N(u)} G_j, F_i> + b log(1 + deg i)

    where G_j (from the checkpoint) is the activity-weighted mean final embedding
    of item j's training users: the users who clicked what the visitor clicked.
    The fine-tuned node alone ranks the top positions below plain popularity for
    ten-click visitors; the neighbour term fixes that. a (neighbour_weight) and b
    (popularity_weight) were chosen on a fold-in split (seed 1) other than the
    reported one (seed 0); see docs/BENCHMARKS.md.
    """

    def __init__(
        self,
        checkpoint: Checkpoint,
        config: FinetuneConfig,
        candidates: CandidateIndex | None = None,
    ) -> None:
        self.config = config
        self.model = FrozenNgcf.from_checkpoint(checkpoint)
        self.metrics = checkpoint.metrics
        self.item_ids = checkpoint.item_ids.numpy()
        self.item_degree = checkpoint.item_degree.numpy()
        self._index = {int(raw): i for i, raw in enumerate(self.item_ids.tolist())}
        # (n_items,) log(1 + deg i) * b, or None when b = 0
        self.prior = (
            (config.popularity_weight * np.log1p(self.item_degree)).astype(np.float32)
            if config.popularity_weight
            else None
        )
        neighbours = checkpoint.item_neighbour_embeddings
        self.neighbours = (  # (n_items, D) G, or None when unused or absent
            neighbours.float().numpy()
            if neighbours is not None and config.neighbour_weight
            else None
        )
        self.item_norms = np.linalg.norm(self.model.item_final, axis=1)  # similar()
        self.candidates = candidates  # None: rank every item exactly

    @property
    def n_items(self) -> int:
        return self.model.n_items

    @classmethod
    def load(
        cls, path: str | Path, config: FinetuneConfig | None = None
    ) -> NgcfPredictor:
        """Load a checkpoint (weights_only) once; share the result between threads.

        The item matrices are memory-mapped read-only from ``.npy`` files beside
        the checkpoint (written on first load), so every process on the host
        reads one copy.

        A catalogue above ``config.exact_ranking_limit`` items also gets its
        candidate index, cached beside the checkpoint (rebuilt when the checkpoint
        is newer or the prior weight differs).
        """
        path = Path(path)
        config = config or FinetuneConfig()
        predictor = cls(load_checkpoint(path), config)
        predictor._share_arrays_beside(path)
        if predictor.n_items > config.exact_ranking_limit:
            predictor.candidates = candidate_index_beside(
                path,
                predictor.model.item_final,
                predictor.prior,
                prior_weight=config.popularity_weight,
                nprobe=config.candidate_nprobe,
            )
        return predictor

    def _share_arrays_beside(self, path: Path) -> None:
        """Swap the item matrices for read-only maps of files beside the
        checkpoint, one copy per host (pytorch_models.ngcf.shared_arrays)."""
        model = self.model
        model.item_final = shared_array_beside(path, "item_final", model.item_final)
        if self.neighbours is not None:
            self.neighbours = shared_array_beside(
                path, "item_neighbours", self.neighbours
            )

    def _split_known(self, movie_ids: Iterable[int]) -> tuple[list[int], list[int]]:
        known: dict[int, None] = {}
        unknown: dict[int, None] = {}
        for raw in movie_ids:
            raw = int(raw)
            (known if raw in self._index else unknown).setdefault(raw, None)
        return list(known), list(unknown)

    def visitor_vector(
        self, rows: np.ndarray, epochs: int, rng: np.random.Generator
    ) -> np.ndarray:
        """What items are scored against: the fine-tuned node's final embedding
        plus the weighted neighbour term (when the checkpoint has one)."""
        cfg = self.config
        f = finetune_visitor(
            self.model,
            rows,
            epochs,
            rng,
            learning_rate=cfg.learning_rate,
            num_negatives=cfg.num_negatives,
            l2_weight=cfg.l2_weight,
        )
        if self.neighbours is not None:
            f = f + cfg.neighbour_weight * self.neighbours[rows].mean(axis=0)
        return f

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
        f = self.visitor_vector(rows, epochs, np.random.default_rng(seed))
        items = self.model.item_final
        if self.candidates is not None:
            top, scores = rank_candidates(
                self.candidates,
                items,
                f,
                self.prior,
                rows,
                k,
                self.config.candidate_count,
            )
        else:
            top, scores = rank_exact(items, f, self.prior, rows, k)
        because = explain(items, top, rows, min(self.config.because_count, len(rows)))
        return RecommendationList(
            (
                Recommendation(
                    movie_id=int(self.item_ids[row]),
                    score=float(score),
                    because=tuple(known[j] for j in reasons),
                )
                for row, score, reasons in zip(
                    top.tolist(), scores.tolist(), because.tolist(), strict=True
                )
            ),
            used_ids=known,
            unknown_ids=unknown,
        )

    def similar(self, movie_id: int, k: int = 10) -> list[tuple[int, float]]:
        """Movies nearest to `movie_id` by cosine of their final embeddings."""
        row = self._index.get(int(movie_id))
        if row is None:
            return []
        top, cosines = most_similar(self.model.item_final, self.item_norms, row, k)
        return [
            (int(self.item_ids[i]), float(c))
            for i, c in zip(top.tolist(), cosines.tolist(), strict=True)
        ]
