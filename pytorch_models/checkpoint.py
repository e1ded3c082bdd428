"""The NGCF checkpoint file: self-describing, loadable with ``weights_only=True``.

On disk the checkpoint is a plain dict of tensors, lists, numbers and strings:

    format               "pseudorec-ngcf"
    format_version       int, FORMAT_VERSION
    model_config         asdict(NGCFConfig)
    train_config         asdict(TrainConfig)
    n_users, n_items     int, rows of the embedding tables
    state_dict           {name: tensor} of NGCF (user_embedding, item_embedding,
                         w1.{l}.weight/bias, w2.{l}.weight/bias)
    user_ids             (n_users,) int64, raw user id of each user index
    item_ids             (n_items,) int64, raw item id of each item index
    item_degree          (n_items,) int64, training interactions of each item
    item_layer_embeddings  list of L+1 tensors (n_items, width_l): E_l[items] for
                         l = 0..L, computed on the training graph with dropout off
                         (what the per-request predictor propagates from)
    item_neighbour_embeddings  (n_items, D) float32 (format version 2 on): per
                         item, the activity-weighted mean final embedding of its
                         training users (the predictor's neighbour term)
    item_neighbour_scale (n_items,) float32 (version 3 on): per item,
                         sum_v sqrt(deg v) / deg i over its training users, the
                         weight of the mean user vector inside its neighbour
                         embedding (the popular <-> niche dial's centring)
    user_mean_final      (D,) float32 (version 3 on): the mean final embedding of
                         the training users, a learned popularity direction
    keyed_users          (version 4 on) None, or the users the caller named by a
                         key, so that serving finds their trained nodes again:
                           digests     list of m str, key_digest(key) of each
                           user_rows   (m,) int64, each one's user index
                           item_ptr    (m + 1,) int64 and items (nnz,) int64:
                                       each one's training items (item indices),
                                       items[item_ptr[k]:item_ptr[k + 1]]
                           trained_until  int or None: the training saw every
                                       interaction of these users up to this time
                                       (the caller's clock)
    metrics              asdict(TrainMetrics)

This module only writes and reads that dict; what goes into it is computed by
the serving precomputation (pytorch_models.ngcf.serving).
"""

from __future__ import annotations

import hashlib
import logging
import pickle
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TypeVar

import torch

from pytorch_models.ngcf.model import NGCFConfig
from pytorch_models.records import TrainConfig, TrainMetrics

__all__ = [
    "CHECKPOINT_FORMAT",
    "FORMAT_VERSION",
    "Checkpoint",
    "CheckpointError",
    "KeyedUsers",
    "key_digest",
    "load_checkpoint",
]

CHECKPOINT_FORMAT = "pseudorec-ngcf"
FORMAT_VERSION = 4
# version 1 lacks item_neighbour_embeddings, versions 1 and 2 the centring arrays,
# versions 1 to 3 the keyed users
READABLE_VERSIONS = (1, 2, 3, 4)
# keys that files written by earlier code of a readable version carry in their
# metrics and that TrainMetrics no longer has (the config is train_config)
_RETIRED_METRIC_KEYS = ("config",)

logger = logging.getLogger(__name__)
R = TypeVar("R")


class CheckpointError(ValueError):
    """A file that is not a usable NGCF checkpoint of a supported version."""


def key_digest(key: str) -> str:
    """The sha256 hex digest a checkpoint stores instead of a user's key.

    Plain, not keyed: the keys this is made for are either random tokens with
    enough entropy that nobody can find one from its digest, or account ids that
    are no secret; a keyed digest would make every checkpoint depend on a secret
    that must travel with it, and rotating that secret would silently lose every
    user's node."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class KeyedUsers:
    """Users the caller named by a key, and what serving needs of their nodes."""

    digests: list[str]  # key_digest of each user's key
    user_rows: torch.Tensor  # (m,) int64 user index of each
    item_ptr: torch.Tensor  # (m + 1,) int64 offsets into ``items``
    items: torch.Tensor  # (nnz,) int64 training item indices, user after user
    trained_until: int | None = None  # every interaction up to this time was seen

    def to_record(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Checkpoint:
    """A trained NGCF and what serving it needs, as written to and read from disk."""

    model_config: NGCFConfig  # architecture
    train_config: TrainConfig  # how it was trained
    n_users: int  # user rows of the embedding table
    n_items: int  # item rows of the embedding table
    state_dict: dict[str, torch.Tensor]  # NGCF parameters
    user_ids: torch.Tensor  # (n_users,) int64 raw id per user index
    item_ids: torch.Tensor  # (n_items,) int64 raw id per item index
    item_degree: torch.Tensor  # (n_items,) int64 training degree
    item_layer_embeddings: list[torch.Tensor]  # L+1 x (n_items, width_l), eval mode
    metrics: TrainMetrics  # what training measured
    # (n_items, D), or None for a version-1 checkpoint
    item_neighbour_embeddings: torch.Tensor | None = None
    # (n_items,) and (D,), or None before version 3
    item_neighbour_scale: torch.Tensor | None = None
    user_mean_final: torch.Tensor | None = None
    keyed_users: KeyedUsers | None = None  # None before version 4, or none named
    format_version: int = FORMAT_VERSION  # the version it was written with

    def save(self, path: str | Path) -> Path:
        """Write with ``torch.save``; parent folders are created."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {f.name: getattr(self, f.name) for f in fields(self)}
        record.update(
            format=CHECKPOINT_FORMAT,
            format_version=FORMAT_VERSION,
            model_config=asdict(self.model_config),
            train_config=asdict(self.train_config),
            metrics=asdict(self.metrics),
            keyed_users=None
            if self.keyed_users is None
            else self.keyed_users.to_record(),
        )
        torch.save(record, path)
        return path


def _read(path: Path) -> dict:
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
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
    return data


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint with ``torch.load(map_location="cpu", weights_only=True)``.

    Raises:
        CheckpointError: unreadable (not a torch file, truncated, or holding
            objects weights_only refuses), not a dict, wrong format name,
            unsupported version, missing fields, or unexpected ones anywhere
            but in the training config and the metrics (`_record`).
        FileNotFoundError: no such file.
    """
    path = Path(path)
    data = _read(path)
    del data["format"]
    try:
        keyed = data.pop("keyed_users", None)
        return Checkpoint(
            keyed_users=None if keyed is None else KeyedUsers(**keyed),
            model_config=NGCFConfig(**data.pop("model_config")),
            train_config=_record(TrainConfig, data.pop("train_config"), path),
            metrics=_record(
                TrainMetrics, data.pop("metrics"), path, _RETIRED_METRIC_KEYS
            ),
            **data,
        )
    # a missing or unknown field, or a record that is not a dict
    except (KeyError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"{path}: not a complete checkpoint ({exc})") from exc


def _record(cls: type[R], stored: dict, path: Path, retired: tuple = ()) -> R:
    """A record of how the model was trained or what training measured, without
    the fields this code does not know: a file written by newer code (a new
    training option or metric) still serves during a rolling deploy, and a file
    of earlier code may carry a field since dropped (its metrics once held a copy
    of the training config). Neither record changes what the model computes; the
    architecture (``model_config``, and ``model`` inside the training config)
    is read strictly, so an unknown field there is a CheckpointError. The
    ``retired`` fields, which files of earlier code are known to carry, are
    left out without a word."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(stored) - known - set(retired))
    if unknown:
        logger.info("%s: %s fields ignored: %s", path, cls.__name__, unknown)
    return cls(**{name: value for name, value in stored.items() if name in known})
