"""Interaction data: reading TSV files, the per-user random split, cleaning.

Every row of an interaction file is one positive (user, item) interaction; ratings,
if present, are ignored. Ids stay *raw* here (the integers of the file); the
training code maps them to contiguous indices.

Problems with the input raise :class:`DataError`. Recoverable oddities (duplicate
rows, users with a single interaction, valid/test rows whose user or item never
occurs in train) are handled, logged, and counted in a returned report, so a caller
such as a management command can print them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

__all__ = [
    "AlignReport",
    "DataError",
    "DataSplit",
    "Interactions",
    "ReadReport",
    "SplitReport",
    "align_to_train",
    "read_atomic",
    "read_interactions",
    "split_per_user",
]


class DataError(ValueError):
    """Input data that cannot be used: the message says what and where."""


@dataclass(frozen=True)
class Interactions:
    """Positive interactions with raw ids, one entry per row."""

    users: np.ndarray  # (n,) int64 raw user ids
    items: np.ndarray  # (n,) int64 raw item ids
    timestamps: np.ndarray | None = None  # (n,) float64, or None if the file had none

    def __post_init__(self) -> None:
        if self.users.shape != self.items.shape or self.users.ndim != 1:
            raise DataError(
                f"users and items must be 1-d arrays of the same length, got "
                f"{self.users.shape} and {self.items.shape}"
            )
        if self.timestamps is not None and self.timestamps.shape != self.users.shape:
            raise DataError("timestamps must have the same length as users")

    def __len__(self) -> int:
        return int(self.users.shape[0])

    def take(self, index: np.ndarray) -> Interactions:
        """The rows selected by an integer or boolean index array."""
        ts = None if self.timestamps is None else self.timestamps[index]
        return Interactions(self.users[index], self.items[index], ts)

    @classmethod
    def from_pairs(cls, users: object, items: object) -> Interactions:
        """Build from any two int sequences (lists, arrays, tensors)."""
        return cls(
            np.asarray(users, dtype=np.int64).reshape(-1),
            np.asarray(items, dtype=np.int64).reshape(-1),
        )


@dataclass(frozen=True)
class ReadReport:
    """What :func:`read_interactions` found in a file."""

    path: str  # the file read
    rows: int  # data rows in the file (header excluded, blank lines skipped)
    duplicates_dropped: int  # repeated (user, item) rows dropped, first one kept
    kept: int  # rows returned
    users: int  # distinct users among the rows kept
    items: int  # distinct items among the rows kept

    def messages(self) -> list[str]:
        """Human-readable lines for a command to print."""
        summary = (
            f"{self.path}: {self.kept} interactions, {self.users} users, "
            f"{self.items} items"
        )
        dropped = (
            f"{self.path}: dropped {self.duplicates_dropped} duplicate (user, item) "
            "rows, kept the first of each"
        )
        return [summary, dropped] if self.duplicates_dropped else [summary]


@dataclass(frozen=True)
class SplitReport:
    """What :func:`split_per_user` did."""

    seed: int  # the seed of the shuffle
    ratios: tuple[float, float, float]  # train, valid, test ratios
    users: int  # distinct users in the input
    train: int  # interactions in train
    valid: int  # interactions in valid
    test: int  # interactions in test
    single_interaction_users: int  # users with one interaction: train only
    users_without_valid: int  # users that got no validation interaction
    users_without_test: int  # users that got no test interaction

    def messages(self) -> list[str]:
        """Human-readable lines for a command to print."""
        out = [
            f"split (seed {self.seed}): {self.users} users, train {self.train}, "
            f"valid {self.valid}, test {self.test}"
        ]
        if self.single_interaction_users:
            out.append(
                f"{self.single_interaction_users} users have a single interaction: "
                "kept in train only, not evaluated"
            )
        if (
            self.ratios[2] > 0
            and self.users_without_test > self.single_interaction_users
        ):
            out.append(
                f"{self.users_without_test} users have no test interaction "
                "(too few interactions)"
            )
        return out


@dataclass(frozen=True)
class AlignReport:
    """What :func:`align_to_train` dropped from valid and test."""

    valid_unseen_dropped: int  # valid rows whose user or item is not in train
    test_unseen_dropped: int  # test rows whose user or item is not in train
    valid_known_dropped: int  # valid rows repeating a train pair (or duplicates)
    test_known_dropped: int  # test rows repeating a train or valid pair (or dups)

    def messages(self) -> list[str]:
        """Human-readable lines for a command to print."""
        out = []
        for name, unseen, known in (
            ("valid", self.valid_unseen_dropped, self.valid_known_dropped),
            ("test", self.test_unseen_dropped, self.test_known_dropped),
        ):
            if unseen:
                out.append(
                    f"{name}: dropped {unseen} rows whose user or item never "
                    "occurs in train"
                )
            if known:
                out.append(
                    f"{name}: dropped {known} rows that repeat an earlier pair "
                    "(already known, so they could never be recommended)"
                )
        return out


@dataclass(frozen=True)
class DataSplit:
    """Train, validation and test interactions (raw ids)."""

    train: Interactions  # used to fit the model
    valid: Interactions  # used for early stopping / model selection only
    test: Interactions  # reported once, never used for selection


def read_atomic(
    path: str | Path, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict[str, list[str]]:
    """The named columns of a RecBole atomic file: tab-separated, one header row.

    Header fields may carry RecBole's type suffix (``user_id:token``); values are
    stripped; blank lines are skipped. Returns the ``required`` columns and those
    of ``optional`` that the header has, each a list of strings in file order.

    Raises:
        DataError: no such file, an empty file, a required column missing, or a
            row with too few fields (the message names the line).
    """
    name = str(path)
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DataError(f"{name}: file not found") from None
    if not lines or not lines[0].strip():
        raise DataError(f"{name}: file is empty (expected a header row)")
    header = [field.split(":", 1)[0].strip() for field in lines[0].split("\t")]
    missing = [c for c in required if c not in header]
    if missing:
        raise DataError(
            f"{name}: missing column(s) {', '.join(missing)}; header has "
            f"{header} (tab-separated, e.g. '{'<TAB>'.join(required)}')"
        )
    wanted = [*required, *(c for c in optional if c in header)]
    where = {c: header.index(c) for c in wanted}
    need = max(where.values()) + 1
    columns: dict[str, list[str]] = {c: [] for c in wanted}
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < need:
            raise DataError(
                f"{name}: line {lineno}: expected at least {need} tab-separated "
                f"fields, got {len(fields)}"
            )
        for column, position in where.items():
            columns[column].append(fields[position].strip())
    return columns


def _parse_int_column(values: list[str], name: str, path: str) -> np.ndarray:
    try:
        return np.array(values, dtype=np.str_).astype(np.int64)
    except (ValueError, OverflowError):
        for row, value in enumerate(values):
            try:
                int(value)
            except ValueError:
                raise DataError(
                    f"{path}: line {row + 2}: {name} {value!r} is not an integer"
                ) from None
        raise


def read_interactions(path: str | Path) -> tuple[Interactions, ReadReport]:
    """Read a tab-separated interaction file with a header row.

    The header must name ``user_id`` and ``item_id`` columns (RecBole's
    ``user_id:token`` spelling is accepted); a ``timestamp`` column is read if
    present; other columns are ignored. Ids must be integers.

    Duplicate (user, item) rows are dropped, keeping the first occurrence: every
    row is a positive interaction, so a repeat (a re-rating) adds nothing, and it
    would otherwise be counted twice in training and evaluation. The count is
    logged and returned in the report.

    Raises:
        DataError: empty file, missing columns, a row with too few fields, or a
            non-integer id (the message names the line).
    """
    name = str(path)
    columns = read_atomic(path, ("user_id", "item_id"), ("timestamp",))
    users, items = columns["user_id"], columns["item_id"]
    if not users:
        raise DataError(f"{name}: file has a header but no interactions")

    user_arr = _parse_int_column(users, "user_id", name)
    item_arr = _parse_int_column(items, "item_id", name)
    ts_arr = None
    if "timestamp" in columns:
        try:
            ts_arr = np.array(columns["timestamp"], dtype=np.str_).astype(np.float64)
        except ValueError:
            raise DataError(
                f"{name}: timestamp column has non-numeric values"
            ) from None

    interactions = Interactions(user_arr, item_arr, ts_arr)
    first = _first_occurrence(user_arr, item_arr)
    duplicates = len(interactions) - int(first.size)
    if duplicates:
        interactions = interactions.take(first)
        logger.warning(
            "%s: dropped %d duplicate (user, item) rows, kept the first of each",
            name,
            duplicates,
        )
    report = ReadReport(
        path=name,
        rows=len(users),
        duplicates_dropped=duplicates,
        kept=len(interactions),
        users=int(np.unique(interactions.users).size),
        items=int(np.unique(interactions.items).size),
    )
    logger.info("%s", report.messages()[0])
    return interactions, report


def _first_occurrence(users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Sorted row indices of the first occurrence of each (user, item) pair."""
    pairs = np.stack([users, items], axis=1)
    _, first = np.unique(pairs, axis=0, return_index=True)
    return np.sort(first)


def _split_counts(
    n: np.ndarray, ratios: tuple[float, float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-user (train, valid, test) counts, exactly as RecBole's ``split_by_ratio``.

    valid = int(r_valid * n), test = int(r_test * n), train = the rest; then, test
    first, a part whose share ``r * n`` lies in (0, 1) gets one interaction from
    train, as long as train keeps more than one (so n = 1 stays all train, n = 2
    gives train 1 / test 1, n >= 3 gives at least 1 / 1 / 1).
    """
    n = n.astype(np.int64)
    counts = [np.floor(r * n).astype(np.int64) for r in ratios]
    counts[0] = n - counts[1] - counts[2]
    stopped = np.zeros(n.shape, dtype=bool)
    for part in (2, 1):
        stopped |= counts[0] <= 1
        share = ratios[part] * n
        bump = ~stopped & (share > 0) & (share < 1)
        counts[part] = counts[part] + bump
        counts[0] = counts[0] - bump
    return counts[0], counts[1], counts[2]


def split_per_user(
    interactions: Interactions,
    seed: int,
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1),
) -> tuple[DataSplit, SplitReport]:
    """Seeded random per-user split (RecBole's ``RS`` ordering, ``group_by`` user).

    Each user's interactions are shuffled with ``numpy.random.default_rng(seed)``;
    the first ``train`` go to train, the next ``valid`` to valid, the rest to test,
    with the counts of :func:`_split_counts`. A user with a single interaction
    stays in train only (reported). Row order inside each part is grouped by user.
    """
    if len(interactions) == 0:
        raise DataError("cannot split an empty set of interactions")
    if len(ratios) != 3 or any(r < 0 for r in ratios) or abs(sum(ratios) - 1) > 1e-6:
        raise DataError(
            f"ratios must be three non-negative numbers summing to 1, got {ratios}"
        )
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(len(interactions))
    # A stable sort by user keeps the random order inside each user's group.
    order = shuffled[np.argsort(interactions.users[shuffled], kind="stable")]
    users_sorted = interactions.users[order]
    uniq, start, n = np.unique(users_sorted, return_index=True, return_counts=True)
    n_train, n_valid, _ = _split_counts(n, ratios)
    rank = np.arange(len(order)) - np.repeat(start, n)  # position inside the user
    t_end = np.repeat(n_train, n)
    v_end = t_end + np.repeat(n_valid, n)
    split = DataSplit(
        train=interactions.take(order[rank < t_end]),
        valid=interactions.take(order[(rank >= t_end) & (rank < v_end)]),
        test=interactions.take(order[rank >= v_end]),
    )
    n_test = n - n_train - n_valid
    report = SplitReport(
        seed=seed,
        ratios=tuple(ratios),
        users=int(uniq.size),
        train=len(split.train),
        valid=len(split.valid),
        test=len(split.test),
        single_interaction_users=int((n == 1).sum()),
        users_without_valid=int((n_valid == 0).sum()),
        users_without_test=int((n_test == 0).sum()),
    )
    for message in report.messages():
        logger.info("%s", message)
    return split, report


def _pair_keys(users: np.ndarray, items: np.ndarray, n_items: int) -> np.ndarray:
    return users.astype(np.int64) * n_items + items.astype(np.int64)


def align_to_train(
    train: Interactions, valid: Interactions, test: Interactions
) -> tuple[Interactions, Interactions, AlignReport]:
    """Drop valid/test rows the model cannot be judged on.

    A row is dropped when its user or item never occurs in train (the model has
    no embedding for it), or when its pair is already known: a valid pair that is
    in train, a test pair that is in train or valid, or a repeat within the part.
    Known pairs are masked out of the ranking, so they could never be hit.
    Counts are logged and returned.
    """
    train_users = np.unique(train.users)
    train_items = np.unique(train.items)
    all_items = np.unique(np.concatenate([train.items, valid.items, test.items]))
    # Keys over a shared item index so pairs compare across parts.
    n_items = int(all_items.size)

    def keys(part: Interactions) -> np.ndarray:
        return _pair_keys(part.users, np.searchsorted(all_items, part.items), n_items)

    def seen(part: Interactions) -> np.ndarray:
        return np.isin(part.users, train_users) & np.isin(part.items, train_items)

    known = np.unique(keys(train))
    kept = []
    unseen_counts = []
    known_counts = []
    for part in (valid, test):
        ok = seen(part)
        part_keys = keys(part)
        fresh = ~np.isin(part_keys, known)
        first = np.zeros(len(part), dtype=bool)
        first[np.unique(part_keys, return_index=True)[1]] = True
        keep = ok & fresh & first
        unseen_counts.append(int((~ok).sum()))
        known_counts.append(int((ok & ~(fresh & first)).sum()))
        kept.append(part.take(np.flatnonzero(keep)))
        known = np.union1d(known, part_keys[keep])
    report = AlignReport(
        valid_unseen_dropped=unseen_counts[0],
        test_unseen_dropped=unseen_counts[1],
        valid_known_dropped=known_counts[0],
        test_known_dropped=known_counts[1],
    )
    for message in report.messages():
        logger.warning("%s", message)
    return kept[0], kept[1], report
