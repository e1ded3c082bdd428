"""The served predictor's fine-tuning and signal settings, built from the Django
settings (the library never reads settings itself)."""

from __future__ import annotations

from django.conf import settings

from pytorch_models.ngcf.predictor import FinetuneConfig
from pytorch_models.ngcf.signals import GradedSignals


def served_finetune_config() -> FinetuneConfig:
    """What the site serves: graded signals, the centred neighbour term and the
    default dial, as settings.NGCF_* say."""
    return FinetuneConfig(
        learning_rate=settings.NGCF_LEARNING_RATE,
        signals=GradedSignals(
            click_weight=settings.NGCF_CLICK_WEIGHT,
            star_weights=tuple(settings.NGCF_STAR_WEIGHTS),
            not_interested_weight=settings.NGCF_NOT_INTERESTED_WEIGHT,
        ),
        own_negative_weight=settings.NGCF_OWN_NEGATIVE_WEIGHT,
        neighbour_weight=settings.NGCF_NEIGHBOUR_WEIGHT,
        neighbour_weight_learning_rate=settings.NGCF_NEIGHBOUR_WEIGHT_LR,
        neighbour_weight_temperature=settings.NGCF_NEIGHBOUR_WEIGHT_TEMPERATURE,
        centring=settings.NGCF_CENTRING,
    )
