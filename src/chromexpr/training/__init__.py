"""Training: one entry point, ``train_model``, for every model card (torch and scikit-learn).

Modules: ``data`` (card input from a dataset), ``loop`` (the training loop and ``train_model``),
``checkpoint`` (resumable epoch checkpoints), ``outputs`` (the run's files).
"""

from chromexpr.training.data import ModelData, model_inputs
from chromexpr.training.loop import (
    METRICS_KEYS,
    TrainingError,
    deterministic,
    predict_logits,
    resolve_card,
    resolve_device,
    train_model,
)
from chromexpr.training.outputs import HISTORY_COLUMNS, PREDICTION_COLUMNS

__all__ = [
    "HISTORY_COLUMNS",
    "METRICS_KEYS",
    "PREDICTION_COLUMNS",
    "ModelData",
    "TrainingError",
    "deterministic",
    "model_inputs",
    "predict_logits",
    "resolve_card",
    "resolve_device",
    "train_model",
]
