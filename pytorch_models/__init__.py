"""NGCF recommender: data helpers, model, training, evaluation, checkpoints.

A pure PyTorch library (no Django, no settings, nothing done at import time).
"""

from pytorch_models.checkpoint import (
    FORMAT_VERSION,
    Checkpoint,
    CheckpointError,
    load_checkpoint,
)
from pytorch_models.data import (
    AlignReport,
    DataError,
    DataSplit,
    Interactions,
    ReadReport,
    SplitReport,
    align_to_train,
    read_interactions,
    split_per_user,
)
from pytorch_models.evaluation import RankingEvaluator, ranking_metrics
from pytorch_models.ngcf import NGCF, NGCFConfig
from pytorch_models.records import TrainConfig, TrainMetrics
from pytorch_models.training import (
    EpochReport,
    TrainResult,
    save_training_curve,
    train_ngcf,
)

__all__ = [
    "FORMAT_VERSION",
    "NGCF",
    "AlignReport",
    "Checkpoint",
    "CheckpointError",
    "DataError",
    "DataSplit",
    "EpochReport",
    "Interactions",
    "NGCFConfig",
    "RankingEvaluator",
    "ReadReport",
    "SplitReport",
    "TrainConfig",
    "TrainMetrics",
    "TrainResult",
    "align_to_train",
    "load_checkpoint",
    "ranking_metrics",
    "read_interactions",
    "save_training_curve",
    "split_per_user",
    "train_ngcf",
]
