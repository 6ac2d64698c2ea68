"""Training: one loop for every task, and the entry points that build runs from datasets.

Modules, by job: ``runtime`` (card, device, determinism, seeding), ``optim`` (optimizer and
schedule), ``tasks`` (what differs between experiments: batches, loss, validation), ``loop`` (the one
training loop), ``sklearn_fit`` (scikit-learn cards), ``genes`` (which genes a run uses, per role and protocol), ``run``
(the training entry points and the run's files), ``inference`` (a finished run reloaded and scored),
``data`` (card input from a dataset), ``checkpoint`` (resumable epoch checkpoints), ``outputs``.
"""

from chromexpr.lazy import lazy_exports

# Names load with their module on first access (chromexpr.lazy): the Snakefile imports light
# modules of this package (regression_plan) without paying for torch.
_LAZY = {
    "ModelData": "data",
    "model_inputs": "data",
    "PROTOCOLS": "genes",
    "GeneSet": "genes",
    "RunData": "genes",
    "paper_halves": "genes",
    "transfer_gene_sets": "genes",
    "load_trained": "inference",
    "predict_probability": "inference",
    "score_run": "inference",
    "HISTORY_COLUMNS": "outputs",
    "PREDICTION_COLUMNS": "outputs",
    "METRICS_KEYS": "run",
    "VARIANTS": "run",
    "train_cells": "run",
    "train_model": "run",
    "train_run": "run",
    "train_transfer": "run",
    "TrainingError": "runtime",
    "deterministic": "runtime",
    "resolve_card": "runtime",
    "resolve_device": "runtime",
    "ClassificationTask": "tasks",
    "DomainAdaptationTask": "tasks",
    "Examples": "tasks",
    "Task": "tasks",
    "dann_lambda": "tasks",
    "lambda_schedule": "tasks",
    "predict_logits": "tasks",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

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
