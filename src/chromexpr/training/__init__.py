"""Training: one run shell and one loop for every task.

Modules, by job: ``shell`` (the one run shell: a ``RunSpec`` in, a run's files out; the metrics keys of
every task), ``loop`` (the one training loop), ``tasks`` (what every task shares), the tasks and their
runners (``classification``: classification and domain adaptation; ``differential``; ``regression``),
``runtime`` (card, device, determinism, seeding), ``optim`` (optimizer and schedule), ``sklearn_fit``
(scikit-learn cards), ``genes`` (which genes a run uses, per role and protocol), ``run`` (the classification
runs' entry points), ``inference`` (a finished run reloaded and scored), ``data`` (card input from a
dataset), ``checkpoint`` (resumable epoch checkpoints), ``outputs`` (the run's files).
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
    "RunSpec": "shell",
    "Settings": "shell",
    "run": "shell",
    "load_trained": "inference",
    "predict_probability": "inference",
    "score_run": "inference",
    "HISTORY_COLUMNS": "outputs",
    "PREDICTION_COLUMNS": "outputs",
    "METRICS_KEYS": "run",
    "VARIANTS": "run",
    "train_cells": "run",
    "train_model": "run",
    "train_transfer": "run",
    "TrainingError": "runtime",
    "deterministic": "runtime",
    "resolve_card": "runtime",
    "resolve_device": "runtime",
    "ClassificationTask": "classification",
    "DomainAdaptationTask": "classification",
    "Examples": "tasks",
    "Task": "tasks",
    "dann_lambda": "classification",
    "lambda_schedule": "classification",
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
    "RunSpec",
    "Settings",
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
    "run",
    "score_run",
    "train_cells",
    "train_model",
    "train_transfer",
    "transfer_gene_sets",
]
