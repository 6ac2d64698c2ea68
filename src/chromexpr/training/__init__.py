"""Training: one loop for every task, and the entry points that build runs from datasets.

Modules, by job: ``runtime`` (card, device, determinism, seeding), ``optim`` (optimizer and
schedule), ``tasks`` (what differs between experiments: batches, loss, validation), ``loop`` (the one
training loop), ``sklearn_fit`` (scikit-learn cards), ``genes`` (which genes a run uses, per role and protocol), ``run``
(the training entry points and the run's files), ``inference`` (a finished run reloaded and scored),
``data`` (card input from a dataset), ``checkpoint`` (resumable epoch checkpoints), ``outputs``.
"""

from chromexpr.training.data import ModelData, model_inputs
from chromexpr.training.genes import PROTOCOLS, GeneSet, RunData, paper_halves, transfer_gene_sets
from chromexpr.training.inference import load_trained, predict_probability, score_run
from chromexpr.training.outputs import HISTORY_COLUMNS, PREDICTION_COLUMNS
from chromexpr.training.run import METRICS_KEYS, VARIANTS, train_cells, train_model, train_run, train_transfer
from chromexpr.training.runtime import TrainingError, deterministic, resolve_card, resolve_device
from chromexpr.training.tasks import (
    ClassificationTask,
    DomainAdaptationTask,
    Examples,
    Task,
    dann_lambda,
    lambda_schedule,
    predict_logits,
)

__all__ = [
    "HISTORY_COLUMNS",
    "METRICS_KEYS",
    "PREDICTION_COLUMNS",
    "PROTOCOLS",
    "VARIANTS",
    "ClassificationTask",
    "DomainAdaptationTask",
    "Examples",
    "GeneSet",
    "ModelData",
    "RunData",
    "Task",
    "TrainingError",
    "dann_lambda",
    "deterministic",
    "lambda_schedule",
    "load_trained",
    "model_inputs",
    "paper_halves",
    "predict_logits",
    "predict_probability",
    "resolve_card",
    "resolve_device",
    "score_run",
    "train_cells",
    "train_model",
    "train_run",
    "train_transfer",
    "transfer_gene_sets",
]
