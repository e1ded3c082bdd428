"""The process-wide NGCF predictor: loaded once from the checkpoint, shared by all
requests and threads, and reloaded when the checkpoint file is replaced."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_loaded: dict[str, object] = {}


@dataclass(frozen=True)
class PredictorState:
    predictor: object | None  # pytorch_models.ngcf.predictor.NgcfPredictor, or None
    problem: str = ""  # why there is no predictor


def get_predictor() -> PredictorState:
    """The predictor of settings.NGCF_CHECKPOINT, or why there is none."""
    path = Path(settings.NGCF_CHECKPOINT)
    try:
        stamp = (str(path), path.stat().st_mtime_ns)
    except FileNotFoundError:
        return PredictorState(None, "no NGCF checkpoint has been trained yet")
    cached = _loaded.get("state")
    if cached is not None and _loaded.get("stamp") == stamp:
        return cached
    with _lock:
        if _loaded.get("stamp") != stamp:
            _loaded["state"] = _load(path)
            _loaded["stamp"] = stamp
        return _loaded["state"]


def _load(path: Path) -> PredictorState:
    # torch is imported with the first recommendation, not when Django loads the
    # views: management commands and checks that never recommend stay light
    import torch

    from movie.recommendations.config import served_finetune_config
    from pytorch_models.checkpoint import CheckpointError
    from pytorch_models.ngcf.predictor import NgcfPredictor

    torch.set_num_threads(settings.TORCH_THREADS)
    try:
        predictor = NgcfPredictor.load(path, served_finetune_config())
    except (CheckpointError, OSError) as exc:
        logger.error("cannot load NGCF checkpoint %s: %s", path, exc)
        return PredictorState(None, f"the NGCF checkpoint cannot be loaded ({exc})")
    logger.info("loaded NGCF checkpoint %s", path)
    return PredictorState(predictor)
