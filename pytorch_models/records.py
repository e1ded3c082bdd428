"""What a training run is given and what it reports: the typed records a
checkpoint stores beside its weights.

They live apart from ``training`` so that the checkpoint format reads them
without importing the training loop. Each is (de)serialised the same way:
``dataclasses.asdict`` to write, ``cls(**fields)`` to read, where the
checkpoint leaves out the fields this code does not know (a file of newer code).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pytorch_models.ngcf.model import NGCFConfig

__all__ = ["TrainConfig", "TrainMetrics"]


@dataclass(frozen=True)
class TrainConfig:
    """Training hyperparameters; the defaults were tuned on ml-100k (RS 80/10/10).

    Each step propagates the whole graph (3 sparse products and 6 dense layers,
    forward and backward), which costs about as much as the BPR work for 16k
    pairs on one CPU thread; so few, large batches (4 per ml-100k epoch) with a
    larger learning rate are what keep an epoch near 0.5 s. Measured over split
    seeds 0-2: edge dropout 0.2 and no message dropout gave the best validation
    and test numbers; lr 1e-2 or batch 16k without edge dropout overfit early;
    8 uniform negatives, L2 1e-4 or 0, and N(0, 0.1) init changed nothing or
    hurt. Two hard negatives (each the best-scored of 4 uniform candidates)
    raised test NDCG@20 by about 0.007 over 4 uniform ones at a similar cost per
    epoch and with fewer epochs to the best; the refit on train + valid added
    about 0.014 more (docs/BENCHMARKS.md).
    """

    model: NGCFConfig = field(default_factory=NGCFConfig)  # architecture
    learning_rate: float = 5e-3  # Adam step size
    # positive (user, item) pairs per step (one propagation); the minimum, see
    # steps_per_epoch
    batch_size: int = 16384
    # most full-graph steps per epoch: larger graphs get proportionally larger
    # batches, so an epoch's cost grows linearly with the edges, not as their
    # square; 4 (ml-100k: 4 steps of 20k selection and 22.5k refit pairs) makes
    # an epoch at 10x a quarter cheaper than 6, at about a third more epochs to
    # the best on ml-100k and the same quality (docs/BENCHMARKS.md)
    steps_per_epoch: int = 4
    num_negatives: int = 2  # sampled negatives per positive pair
    negative_pool: int = 4  # candidates drawn per negative; the best-scored is kept
    l2_weight: float = 1e-5  # lambda of the L2 penalty on the batch's E0 rows
    edge_dropout: float = 0.2  # NGCF "node dropout": share of graph edges dropped
    max_epochs: int = 400  # hard cap on epochs
    patience: int = 15  # evaluations without a better valid Recall@20 before stop
    lr_decay: float = 1.0  # lr factor on each validation plateau (1 = off)
    lr_decay_patience: int = 5  # evaluations without improvement that make a plateau
    eval_every: int = 1  # validate every this many epochs
    eval_user_batch: int = 1024  # users scored per chunk during evaluation
    # early stopping ranks a fixed, seeded sample of this many validation users
    # (all of them when there are fewer: ml-100k's 943); the test ranks every
    # user. 1,024 (was 2,048) saves about 2 s per 10x epoch, at about 1.4 times
    # the sampling error of each validation's Recall@20
    valid_users: int = 1024
    # above 32k items, rank that sample from a bfloat16 shortlist rescored in
    # float32 where the CPU has bfloat16 instructions (RankingEvaluator); the
    # test ranking is always exact
    valid_shortlist: bool = True
    seed: int = 0  # seeds init, dropout, shuffling and sampling
    # number users and items inside training by descending training degree
    # (hubs first), so the rows the sparse products and the BPR gradient read
    # at random are more often near each other; the result and the checkpoint
    # are in the original order either way
    hub_order: bool = True
    # after early stopping, train again from scratch on train + valid for the
    # best epoch count; that model is the result (off, or without valid: the
    # best epoch's weights)
    refit: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.model, dict):  # read back from asdict()
            object.__setattr__(self, "model", NGCFConfig(**self.model))
        counts = (self.batch_size, self.num_negatives, self.negative_pool)
        if min(counts) < 1 or min(self.max_epochs, self.steps_per_epoch) < 1:
            raise ValueError(
                "batch_size, num_negatives, negative_pool, max_epochs and "
                "steps_per_epoch must be >= 1"
            )
        if self.valid_users < 1:
            raise ValueError("valid_users must be >= 1")
        if min(self.patience, self.lr_decay_patience, self.eval_every) < 1:
            raise ValueError("patience, lr_decay_patience and eval_every must be >= 1")
        if not 0 <= self.edge_dropout < 1:
            raise ValueError("edge_dropout must be in [0, 1)")


@dataclass(frozen=True)
class TrainMetrics:
    """What :func:`pytorch_models.training.train_ngcf` measured."""

    valid: dict[str, float]  # validation metrics of the best epoch
    test: dict[str, float]  # test metrics of the result (NaN without test data)
    best_epoch: int  # epoch with the best valid Recall@20 (the refit's length)
    epochs: int  # epochs run by the early-stopping (selection) run
    refit_epochs: int  # epochs of the refit on train + valid (0 without one)
    train_seconds_per_epoch: float  # wall time per selection epoch
    seconds_to_best: float  # wall time until the best epoch ended
    selection_seconds: float  # wall time of the selection run
    refit_seconds: float  # wall time of the refit
    train_seconds: float  # wall time of everything
    # CPU time of this process: close to wall time on an idle core, and a
    # fairer speed figure when other processes share the CPU
    cpu_seconds_per_epoch: float
    cpu_seconds_to_best: float
    cpu_seconds: float
    n_users: int  # users (rows of the embedding table)
    n_items: int  # items (rows of the embedding table)
    n_train: int  # distinct training pairs
    n_graph_edges: int  # pairs in the final graph (train, or train + valid)
    n_valid_users: int  # users evaluated on valid
    n_test_users: int  # users evaluated on test
