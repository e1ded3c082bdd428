"""Per-request NGCF recommendations for a visitor, fine-tuned inside the request.

The checkpoint is loaded once; every request adds one user node to the frozen
model (`frozen`), fine-tunes that node's E0 row for a few BPR epochs (`finetune`)
and ranks the items with explanations (`ranking`). A visitor who is a keyed user
of the checkpoint starts from their trained node instead and is fine-tuned only
on what they did after the training. Nothing shared is written, so one predictor
serves many threads.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pytorch_models.checkpoint import Checkpoint, load_checkpoint
from pytorch_models.ngcf.candidates import CandidateIndex, candidate_index_beside
from pytorch_models.ngcf.finetune import (
    VisitorFeedback,
    finetune_visitor,
    sample_unclicked,
)
from pytorch_models.ngcf.frozen import FrozenNgcf
from pytorch_models.ngcf.neighbour_weight import fit_neighbour_weight
from pytorch_models.ngcf.preference import fit_centring
from pytorch_models.ngcf.ranking import (
    explain,
    most_similar,
    rank_candidates,
    rank_exact,
    top_k,
)
from pytorch_models.ngcf.shared_arrays import shared_array_beside
from pytorch_models.ngcf.signals import GradedSignals, signed_weights

logger = logging.getLogger(__name__)

__all__ = [
    "FOLD_IN",
    "TRAINED",
    "TRAINED_FINETUNED",
    "FinetuneConfig",
    "NgcfPredictor",
    "Recommendation",
    "RecommendationList",
    "TrainedNode",
]

# how a list's visitor node was made (RecommendationList.served_from)
FOLD_IN = "fold-in"  # a new node, warm-started from the visitor's movies
TRAINED = "trained"  # the visitor's trained node as it is
TRAINED_FINETUNED = "trained+finetuned"  # it, fine-tuned on the newer events


@dataclass(frozen=True)
class FinetuneConfig:
    """How the new visitor's E0 row is fitted inside the request."""

    learning_rate: float = 2e-3  # Adam step size; larger steps forget the warm start
    num_negatives: int = 4  # sampled negatives per clicked item and epoch
    l2_weight: float = 1e-5  # L2 penalty on the visitor's E0 row, as in training
    # how clicks, stars and "not interested" become signed weights; the default
    # treats every movie as a click
    signals: GradedSignals = GradedSignals()
    # weight of the (positive, own negative) pairs in the fine-tuning loss
    own_negative_weight: float = 1.0
    # the popular <-> niche dial c: the neighbour term uses user vectors centred
    # by c times the mean training user (0: today's ranking, 1: fully centred)
    centring: float = 0.0
    # Adam steps fitting the visitor's own centring c_v from the dial's value
    # (pytorch_models.ngcf.preference); 0 serves the dial's value as it is
    centring_epochs: int = 0
    centring_learning_rate: float = 0.05  # Adam step size of c_v
    centring_prior: float = 1.0  # pull of c_v back towards the dial's value
    because_count: int = 2  # clicked movies named in each explanation
    # weight of the popularity prior log(1 + training degree) added to each score;
    # 0 ranks by the NGCF score alone
    popularity_weight: float = 0.0
    # weight of the neighbour term: the visitor's vector is f + w * (mean of the
    # clicked items' neighbour embeddings); 0 ranks by the fine-tuned node alone
    neighbour_weight: float = 1.0
    # Adam step size of the visitor's own neighbour weight w exp(b), fitted in the
    # same epochs after the node (pytorch_models.ngcf.neighbour_weight); 0 keeps w
    neighbour_weight_learning_rate: float = 0.0
    neighbour_weight_temperature: float = 0.2  # t of that fit's BPR margins
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
        check_centring(self.centring)


def check_centring(value: float) -> float:
    """The dial's value, or ValueError unless it is a number from 0 to 1."""
    if not 0.0 <= value <= 1.0:
        raise ValueError("centring must be from 0 to 1")
    return float(value)


@dataclass(frozen=True)
class Recommendation:
    movie_id: int  # raw item id, as in the data
    score: float  # <e_u, e_i> after fine-tuning
    because: tuple[int, ...]  # the visitor's positive movie ids nearest to it


@dataclass(frozen=True)
class TrainedNode:
    """A keyed user's node in the served model: where serving them starts."""

    e0: np.ndarray  # (d,) the trained E0 row
    rows: np.ndarray  # (n,) int64 the item rows it was trained on
    movie_ids: frozenset[int]  # their raw ids
    trained_until: int | None  # the training saw their events up to this time


class RecommendationList(list):
    """The recommendations, best first, plus what was done with the input ids."""

    def __init__(
        self,
        items: Iterable[Recommendation] = (),
        *,
        used_ids: Sequence[int] = (),
        unknown_ids: Sequence[int] = (),
        positive_ids: Sequence[int] = (),
        negative_ids: Sequence[int] = (),
        served_from: str = FOLD_IN,
    ) -> None:
        super().__init__(items)
        self.served_from = served_from  # FOLD_IN, TRAINED or TRAINED_FINETUNED
        self.used_ids = list(used_ids)  # input ids the model knows, each once
        self.unknown_ids = list(unknown_ids)  # input ids the model does not know
        self.positive_ids = list(positive_ids)  # used ids that counted as liked
        self.negative_ids = list(negative_ids)  # used ids that counted as disliked


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
    reported one (seed 0); see docs/BENCHMARKS.md. With
    ``neighbour_weight_learning_rate`` > 0 the epochs also fit the visitor's own
    a (:func:`fit_neighbour_weight`).
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
        # (n_items,) s_i and (D,) mu of the centring, or None before format 3
        self.neighbour_scale = _numpy_or_none(checkpoint.item_neighbour_scale)
        self.user_mean = _numpy_or_none(checkpoint.user_mean_final)
        self.popularity_direction = (  # (n_items,) <mu, F_i>, or None
            None if self.user_mean is None else self.model.item_final @ self.user_mean
        )
        self.item_norms = np.linalg.norm(self.model.item_final, axis=1)  # similar()
        self.candidates = candidates  # None: rank every item exactly
        self._keyed = _KeyedNodes.of(checkpoint)

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

    @property
    def trained_digests(self) -> list[str]:
        """The key digests of the checkpoint's keyed users."""
        return list(self._keyed.index)

    def trained_node(self, digest: str) -> TrainedNode | None:
        """The trained node of the keyed user with this key digest
        (pytorch_models.checkpoint.key_digest), or None."""
        k = self._keyed.index.get(digest)
        if k is None:
            return None
        rows = self._keyed.items[self._keyed.item_ptr[k] : self._keyed.item_ptr[k + 1]]
        return TrainedNode(
            e0=self._keyed.e0[k],
            rows=rows,
            movie_ids=frozenset(self.item_ids[rows].tolist()),
            trained_until=self._keyed.trained_until,
        )

    def _split_known(self, movie_ids: Iterable[int]) -> tuple[list[int], list[int]]:
        known: dict[int, None] = {}
        unknown: dict[int, None] = {}
        for raw in movie_ids:
            raw = int(raw)
            (known if raw in self._index else unknown).setdefault(raw, None)
        return list(known), list(unknown)

    def _rows(self, movie_ids: Sequence[int]) -> np.ndarray:
        return np.fromiter((self._index[m] for m in movie_ids), dtype=np.int64)

    def feedback(
        self,
        known: Sequence[int],
        *,
        ratings: Mapping[int, float] | None = None,
        negative_ids: Iterable[int] = (),
        weights: Mapping[int, float] | None = None,
    ) -> tuple[VisitorFeedback, list[int], list[int]]:
        """The visitor's signed signals as fine-tuning input, and which of the
        ``known`` ids counted as positives and as negatives."""
        for value in (weights or {}).values():
            if not (np.isfinite(value) and value > 0):
                raise ValueError("weights must be finite and > 0")
        signed = signed_weights(
            known,
            self.config.signals,
            ratings=ratings,
            negative_ids=frozenset(int(m) for m in negative_ids),
            weights=weights,
        )
        positive = [m for m, w in zip(known, signed, strict=True) if w > 0]
        negative = [m for m, w in zip(known, signed, strict=True) if w < 0]
        pos_w, neg_w = signed[signed > 0], -signed[signed < 0]
        feedback = VisitorFeedback(
            rows=self._rows(positive),
            weights=None if np.all(pos_w == 1.0) else pos_w,
            negative_rows=self._rows(negative),
            negative_weights=neg_w,
        )
        return feedback, positive, negative

    def visitor_vector(
        self,
        feedback: VisitorFeedback,
        epochs: int,
        rng: np.random.Generator,
        centring: float | None = None,
        start: _NodeStart | None = None,
    ) -> np.ndarray:
        """What items are scored against: the fine-tuned node's final embedding
        plus the weighted neighbour term g = sum_j a_j (G_j - c s_j mu) over the
        visitor's positives. ``start``: a trained node, fine-tuned on its own
        feedback (the newer events) instead of ``feedback``."""
        cfg = self.config
        f = finetune_visitor(
            self.model,
            feedback if start is None else start.feedback,
            epochs,
            rng,
            learning_rate=cfg.learning_rate,
            num_negatives=cfg.num_negatives,
            l2_weight=cfg.l2_weight,
            own_negative_weight=cfg.own_negative_weight,
            e0=None if start is None else start.e0,
            links=None if start is None else start.links,
        )
        if self.neighbours is None:
            return f
        rows = feedback.rows
        if feedback.weights is None:
            g = self.neighbours[rows].mean(axis=0)
            shares = None
        else:
            shares = feedback.shares().astype(np.float32)
            g = shares @ self.neighbours[rows]
        c = cfg.centring if centring is None else check_centring(centring)
        # c_v is part of the request's fine-tuning: zero epochs fit nothing
        if cfg.centring_epochs and epochs > 0 and self.popularity_direction is not None:
            c = self._visitor_centring(feedback, f, c, rng)
        if c and self.neighbour_scale is not None:
            scale = self.neighbour_scale[rows]
            mean_scale = scale.mean() if shares is None else shares @ scale
            g = g - (c * mean_scale) * self.user_mean
        weight = cfg.neighbour_weight
        # like the node's fine-tuning, the weight is fitted only with epochs; a
        # trained node keeps the configured weight
        if cfg.neighbour_weight_learning_rate and epochs > 0 and start is None:
            weight = self._visitor_neighbour_weight(feedback, f, c, epochs, rng)
        return f + weight * g

    def _visitor_neighbour_weight(
        self,
        feedback: VisitorFeedback,
        f: np.ndarray,
        c: float,
        epochs: int,
        rng: np.random.Generator,
    ) -> float:
        cfg = self.config
        rows = feedback.rows
        if len(rows) < 2:
            return cfg.neighbour_weight
        centred = self.neighbours[rows]
        if c and self.neighbour_scale is not None:
            scale = self.neighbour_scale[rows][:, None]
            centred = centred - (c * scale) * self.user_mean[None, :]
        seen = np.zeros(self.n_items, dtype=bool)
        seen[rows] = True
        seen[feedback.negative_rows] = True
        k = cfg.num_negatives
        negatives = sample_unclicked(seen, epochs * len(rows) * k, rng)
        items = self.model.item_final
        return fit_neighbour_weight(
            f=f,
            neighbours=centred,
            shares=feedback.shares(),
            positives=items[rows],
            negatives=items[negatives].reshape(epochs, len(rows), k, -1),
            neighbour_weight=cfg.neighbour_weight,
            learning_rate=cfg.neighbour_weight_learning_rate,
            temperature=cfg.neighbour_weight_temperature,
        )

    def _visitor_centring(
        self, feedback: VisitorFeedback, f: np.ndarray, c0: float, rng
    ) -> float:
        cfg = self.config
        sampling = self.item_degree.astype(np.float64)
        sampling[feedback.rows] = 0.0
        sampling[feedback.negative_rows] = 0.0
        return fit_centring(
            f=f,
            rows=feedback.rows,
            shares=feedback.shares().astype(np.float32),
            items=self.model.item_final,
            neighbours=self.neighbours,
            scale=self.neighbour_scale,
            popularity_direction=self.popularity_direction,
            sampling=sampling / sampling.sum(),
            neighbour_weight=cfg.neighbour_weight,
            c0=c0,
            epochs=cfg.centring_epochs,
            learning_rate=cfg.centring_learning_rate,
            prior=cfg.centring_prior,
            num_negatives=cfg.num_negatives,
            rng=rng,
        )

    def recommend(
        self,
        movie_ids: Iterable[int],
        k: int = 10,
        epochs: int = 10,
        seed: int = 0,
        *,
        ratings: Mapping[int, float] | None = None,
        negative_ids: Iterable[int] = (),
        weights: Mapping[int, float] | None = None,
        centring: float | None = None,
        trained: TrainedNode | None = None,
        newer_ids: Collection[int] = (),
    ) -> RecommendationList:
        """The k best movies for a visitor, best first.

        ``movie_ids`` are the visitor's movies (clicked unless ``ratings`` gives
        their stars), ``negative_ids`` movies marked not interested, ``weights``
        optional per-movie weights (recency) and ``centring`` the popular <->
        niche dial (None: the config's). Every movie of the visitor is excluded;
        ids the model does not know are skipped and listed in ``.unknown_ids``.
        Called with ``movie_ids`` alone it treats every movie as a click.
        With ``trained`` (the visitor's :meth:`trained_node`) the visitor's node
        is that one, fine-tuned only on ``newer_ids`` (their movies with events
        the training did not see); its training movies are excluded too.
        Deterministic for a given seed.
        """
        negative_ids = list(negative_ids)
        known, unknown = self._split_known([*movie_ids, *negative_ids])
        if unknown:
            logger.info("skipped %d movie ids the model does not know", len(unknown))
        if not known or k <= 0:
            return RecommendationList(used_ids=known, unknown_ids=unknown)
        signals = {"ratings": ratings, "negative_ids": negative_ids, "weights": weights}
        feedback, positive, negative = self.feedback(known, **signals)
        exclude = self._rows(known)
        served_from = FOLD_IN
        if not positive:
            top, scores = top_k(self._popularity_without(exclude), k)
            reasons = np.zeros((len(top), 0), dtype=np.int64)
        else:
            rng = np.random.default_rng(seed)
            start = None
            if trained is not None:
                start = self._node_start(trained, newer_ids, signals)
                exclude = np.union1d(exclude, trained.rows)
                fitted = epochs > 0 and len(start.feedback.rows)
                served_from = TRAINED_FINETUNED if fitted else TRAINED
            f = self.visitor_vector(feedback, epochs, rng, centring, start)
            top, scores = self._rank(f, exclude, k)
            count = min(self.config.because_count, len(positive))
            reasons = explain(self.model.item_final, top, feedback.rows, count)
        return RecommendationList(
            (
                Recommendation(
                    movie_id=int(self.item_ids[row]),
                    score=float(score),
                    because=tuple(positive[j] for j in because),
                )
                for row, score, because in zip(
                    top.tolist(), scores.tolist(), reasons.tolist(), strict=True
                )
            ),
            used_ids=known,
            unknown_ids=unknown,
            positive_ids=positive,
            negative_ids=negative,
            served_from=served_from,
        )

    def _node_start(
        self, trained: TrainedNode, newer_ids: Collection[int], signals: dict
    ) -> _NodeStart:
        """The trained node, linked to its training items and the newer
        positives, with the newer movies' feedback to fine-tune on."""
        newer, _unknown = self._split_known(newer_ids)
        feedback, _positive, _negative = self.feedback(newer, **signals)
        links = np.concatenate(
            [trained.rows, np.setdiff1d(feedback.rows, trained.rows)]
        )
        return _NodeStart(trained.e0, links, feedback)

    def _rank(
        self, f: np.ndarray, exclude: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        items = self.model.item_final
        if self.candidates is not None:
            return rank_candidates(
                self.candidates,
                items,
                f,
                self.prior,
                exclude,
                k,
                self.config.candidate_count,
            )
        return rank_exact(items, f, self.prior, exclude, k)

    def _popularity_without(self, exclude: np.ndarray) -> np.ndarray:
        """Scores log(1 + deg i) for a visitor with no positive: popular movies."""
        scores = np.log1p(self.item_degree.astype(np.float32))
        scores[exclude] = -np.inf
        return scores

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


def _numpy_or_none(tensor) -> np.ndarray | None:
    return None if tensor is None else tensor.float().numpy()


@dataclass(frozen=True)
class _NodeStart:
    """Where a trained visitor's fine-tuning starts."""

    e0: np.ndarray  # (d,) the trained E0 row
    links: np.ndarray  # (n,) item rows the node is linked to
    feedback: VisitorFeedback  # the newer events only


@dataclass(frozen=True)
class _KeyedNodes:
    """The checkpoint's keyed users, as serving looks them up."""

    index: dict[str, int]  # key digest -> position
    e0: np.ndarray  # (m, d) their trained E0 rows (only theirs are kept)
    item_ptr: np.ndarray  # (m + 1,) int64
    items: np.ndarray  # (nnz,) int64 item rows
    trained_until: int | None

    @classmethod
    def of(cls, checkpoint: Checkpoint) -> _KeyedNodes:
        keyed = checkpoint.keyed_users
        if keyed is None:  # before format 4, or no keyed user: all fold in
            empty = np.zeros(0, dtype=np.int64)
            return cls({}, np.zeros((0, 0), np.float32), empty, empty, None)
        e0 = checkpoint.state_dict["user_embedding"][keyed.user_rows]
        e0 = e0.float().contiguous().numpy()
        e0.setflags(write=False)  # shared by every request's fine-tuning
        return cls(
            index={d: k for k, d in enumerate(keyed.digests)},
            e0=e0,
            item_ptr=keyed.item_ptr.numpy(),
            items=keyed.items.numpy(),
            trained_until=keyed.trained_until,
        )
