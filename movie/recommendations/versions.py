"""Model versions: registering trained checkpoints, the promotion gate, promotion
and rollback. Every web process serves the champion (movie.recommendations.
predictor notices a change within MODEL_SWAP_INTERVAL seconds).

The gate compares a candidate with the champion on the gate split: the test part
of the seeded per-user split of the MovieLens ratings, which every training of
this site holds out (visitor events only ever join the training part), so neither
model was trained on it. Both record NDCG@20 on it; the candidate passes when its
NDCG@20 is at least the champion's minus MODEL_GATE_TOLERANCE and both were
measured on the same gate split (same fingerprint).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from movie.artifacts import ArtifactError, get_artifact_store
from movie.models import ChampionChange, ModelVersion
from pytorch_models.checkpoint import CheckpointError, load_checkpoint

logger = logging.getLogger(__name__)

GATE_METRIC = "ndcg@20"


class VersionError(Exception):
    """A version that cannot be registered, promoted or rolled back to."""


@dataclass(frozen=True)
class GateResult:
    passed: bool
    reason: str
    candidate: float | None = None  # NDCG@20 on the gate split
    champion: float | None = None
    tolerance: float = 0.0


def new_version_name() -> str:
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
    return f"ngcf-{stamp}-{secrets.token_hex(3)}"


def register_version(
    *,
    checkpoint: Path,
    metrics: dict[str, Any],
    data_snapshot: dict[str, Any],
    training_config: dict[str, Any],
) -> ModelVersion:
    """Write the checkpoint to the artifact store under a new version and record
    it as a candidate. Raises ArtifactError (nothing is recorded) when it cannot
    be stored."""
    name = new_version_name()
    stored = get_artifact_store().put(f"{name}.pt", checkpoint)
    version = ModelVersion.objects.create(
        version=name,
        created_at=timezone.now(),
        artifact_uri=stored.uri,
        sha256=stored.sha256,
        size=stored.size,
        data_snapshot=data_snapshot,
        metrics=metrics,
        training_config=training_config,
    )
    logger.info("registered model version %s (%s)", name, stored.uri)
    return version


def champion_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.CHAMPION).first()


def list_versions() -> list[ModelVersion]:
    return list(ModelVersion.objects.all())


def champion_history(*, limit: int = 50) -> list[ChampionChange]:
    """Champion changes, newest first."""
    return list(ChampionChange.objects.select_related("version")[:limit])


def _gate_score(version: ModelVersion) -> float | None:
    value = (version.metrics.get("test") or {}).get(GATE_METRIC)
    return float(value) if isinstance(value, (int, float)) and value == value else None


def evaluate_gate(
    *, candidate: ModelVersion, champion: ModelVersion | None
) -> GateResult:
    """Whether `candidate` may replace `champion` (module docstring)."""
    tolerance = settings.MODEL_GATE_TOLERANCE
    if champion is None:
        return GateResult(True, "no champion yet", tolerance=tolerance)
    ours, theirs = _gate_score(candidate), _gate_score(champion)
    if ours is None or theirs is None:
        return GateResult(
            False, f"no {GATE_METRIC} on the gate split to compare", ours, theirs
        )
    split_a = candidate.data_snapshot.get("gate_split")
    split_b = champion.data_snapshot.get("gate_split")
    if not split_a or split_a != split_b:
        return GateResult(
            False,
            "measured on different gate splits, so not comparable",
            ours,
            theirs,
            tolerance,
        )
    if ours < theirs - tolerance:
        return GateResult(
            False,
            f"{GATE_METRIC} {ours:.4f} is below the champion's {theirs:.4f} "
            f"by more than {tolerance}",
            ours,
            theirs,
            tolerance,
        )
    return GateResult(
        True,
        f"{GATE_METRIC} {ours:.4f} against the champion's {theirs:.4f} "
        f"(tolerance {tolerance})",
        ours,
        theirs,
        tolerance,
    )


def _check_artifact(version: ModelVersion) -> None:
    """Fetch, verify and read the version's checkpoint; VersionError if any fails."""
    try:
        path = get_artifact_store().fetch(
            version.artifact_uri, version.sha256, Path(settings.MODEL_CACHE_DIR)
        )
        load_checkpoint(path)
    except (ArtifactError, CheckpointError, OSError) as exc:
        raise VersionError(
            f"version {version.version} cannot be served: {exc}"
        ) from exc


def _make_champion(
    version: ModelVersion, reason: ChampionChange.Reason, note: str = ""
) -> None:
    """Inside a transaction that locked the versions: swap the champion."""
    ModelVersion.objects.filter(status=ModelVersion.Status.CHAMPION).exclude(
        pk=version.pk
    ).update(status=ModelVersion.Status.RETIRED)
    version.status = ModelVersion.Status.CHAMPION
    version.save(update_fields=["status", "gate"])
    # Takes effect a little later, so every web process has it loaded by then
    # (movie.recommendations.predictor).
    effective = timezone.now() + dt.timedelta(seconds=settings.MODEL_SWAP_DELAY)
    ChampionChange.objects.create(
        version=version, at=effective, reason=reason, note=note[:500]
    )


def promote_version(*, version: str, force: bool = False) -> GateResult:
    """Make `version` the champion if its artifact is sound and the gate passes
    (or `force`). Raises VersionError, changing nothing, otherwise."""
    candidate = ModelVersion.objects.filter(version=version).first()
    if candidate is None:
        raise VersionError(f"no model version {version!r}")
    _check_artifact(candidate)
    with transaction.atomic():
        locked = list(ModelVersion.objects.select_for_update().order_by("pk"))
        candidate = next(v for v in locked if v.version == version)
        champion = next(
            (v for v in locked if v.status == ModelVersion.Status.CHAMPION), None
        )
        if champion is not None and champion.pk == candidate.pk:
            raise VersionError(f"{version} is already the champion")
        gate = evaluate_gate(candidate=candidate, champion=champion)
        candidate.gate = asdict(gate)
        refused = not gate.passed and not force
        if refused:
            candidate.save(update_fields=["gate"])  # kept: the refusal is recorded
        else:
            _make_champion(
                candidate,
                ChampionChange.Reason.PROMOTE
                if gate.passed
                else ChampionChange.Reason.FORCE,
                gate.reason,
            )
    if refused:
        raise VersionError(f"the promotion gate refused {version}: {gate.reason}")
    logger.info("model version %s is the champion (%s)", version, gate.reason)
    return gate


def roll_back_version() -> ModelVersion:
    """Make the champion before the current one the champion again."""
    with transaction.atomic():
        list(ModelVersion.objects.select_for_update().order_by("pk"))
        current = champion_version()
        earlier = ChampionChange.objects.select_related("version")
        if current is not None:
            earlier = earlier.exclude(version=current)
        previous = earlier.first()
        if previous is None:
            raise VersionError("no earlier champion to roll back to")
        target = previous.version
        _check_artifact(target)
        note = f"from {current.version}" if current else ""
        _make_champion(target, ChampionChange.Reason.ROLLBACK, note)
    logger.info("rolled back to model version %s", target.version)
    return target


def register_first_version(*, checkpoint: Path) -> ModelVersion | None:
    """A fresh install's first version: register an existing checkpoint file (with
    the metrics JSON training wrote beside it) and make it the champion when no
    version exists yet; None when there already is one."""
    if ModelVersion.objects.exists() or not checkpoint.is_file():
        return None
    beside = checkpoint.with_suffix(".json")
    info = json.loads(beside.read_text()) if beside.is_file() else {}
    version = register_version(
        checkpoint=checkpoint,
        metrics=info.get("metrics", {}),
        data_snapshot=info.get("data_snapshot", {"source": str(checkpoint)}),
        training_config=info.get("config", {}),
    )
    with transaction.atomic():
        _make_champion(
            version, ChampionChange.Reason.FIRST, f"registered from {checkpoint.name}"
        )
    return version
