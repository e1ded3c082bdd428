"""NGCF: the model (`model`) and the per-request predictor (`predictor`)."""

from pytorch_models.ngcf.model import NGCF, NGCFConfig, message_dropout

__all__ = ["NGCF", "NGCFConfig", "message_dropout"]
