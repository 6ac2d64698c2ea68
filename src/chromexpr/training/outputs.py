"""A training run's files, each written atomically.

================== ===============================================================================
file               content
================== ===============================================================================
model.pt           the selected epoch's ``state_dict`` with the card, marks, geometry and normalization
                   (torch; ``chromexpr.training.model_file``); ``model.skops``: the fitted estimator
                   (scikit-learn; ``chromexpr.training.sklearn_file``, no pickle)
metrics.json       see ``METRICS_KEYS`` in ``chromexpr.training.loop``; NaN is written as ``null``
predictions.tsv.gz gene_id, split, label, probability (of class 1) for every gene of the dataset
history.tsv        epoch, train_loss, valid_loss, valid_auroc, valid_auprc, lr, seconds, then the task's
                   own columns (domain adaptation: domain_loss, domain_accuracy, grl_lambda)
genes.tsv.gz       cell, gene_id, role (train / valid / adapt / test): every gene a multi-cell or
                   transfer run used, so a test can prove no test gene was trained or adapted on
================== ===============================================================================
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from chromexpr.io.atomic import atomic_path
from chromexpr.io.jsonio import write_json

HISTORY_COLUMNS = (
    "epoch",
    "train_loss",
    "valid_loss",
    "valid_auroc",
    "valid_auprc",
    "lr",
    "seconds",
)
PREDICTION_COLUMNS = ("gene_id", "split", "label", "probability")


def write_metrics(path: str | Path, metrics: Mapping[str, Any]) -> Path:
    """``metrics.json``, keys in the given order, NaN as ``null``."""
    return write_json(path, metrics)


def predictions_table(
    gene_ids: np.ndarray, split: np.ndarray, label: np.ndarray, probability: np.ndarray
) -> pd.DataFrame:
    """A classification run's ``predictions.tsv.gz`` table (``PREDICTION_COLUMNS``), one row per gene."""
    return pd.DataFrame(
        {
            "gene_id": np.asarray(gene_ids).astype(str),
            "split": np.asarray(split).astype(str),
            "label": np.asarray(label).astype(np.int64),
            "probability": np.asarray(probability, dtype=np.float64),
        }
    )


def write_predictions(
    path: str | Path,
    gene_ids: np.ndarray,
    split: np.ndarray,
    label: np.ndarray,
    probability: np.ndarray,
) -> Path:
    """``predictions.tsv.gz``, one row per gene in dataset order (gzip without a timestamp or name,
    so equal predictions give equal bytes)."""
    return write_table_gz(path, predictions_table(gene_ids, split, label, probability))


def write_genes(path: str | Path, roles: Sequence[tuple[str, Any]]) -> Path:
    """``genes.tsv.gz``: ``cell``, ``gene_id``, ``role`` of every gene a run used, role by role (``roles``:
    ``(role, Examples)`` pairs)."""
    table = pd.concat(
        [pd.DataFrame({"cell": e.cells, "gene_id": e.gene_ids, "role": role}) for role, e in roles],
        ignore_index=True,
    )
    return write_table_gz(path, table)


def write_history(
    path: str | Path,
    history: Sequence[Mapping[str, Any]],
    *,
    extra_columns: Sequence[str] = (),
    columns: Sequence[str] | None = None,
) -> Path:
    """``history.tsv``, one row per epoch run: ``HISTORY_COLUMNS`` then ``extra_columns`` (the task's), or
    exactly ``columns`` when given (a task whose metrics are not the classification ones)."""
    path = Path(path)
    columns = [*HISTORY_COLUMNS, *extra_columns] if columns is None else list(columns)
    table = pd.DataFrame([{c: row.get(c) for c in columns} for row in history], columns=columns)
    with atomic_path(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False, na_rep="NA")
    return path


def write_table_gz(path: str | Path, table: pd.DataFrame) -> Path:
    """A TSV, gzip-compressed without a timestamp (equal tables give equal bytes)."""
    path = Path(path)
    text = table.to_csv(sep="\t", index=False)
    with atomic_path(path) as tmp:
        tmp.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0))
    return path


def save_torch_model(path: str | Path, state_dict: Mapping[str, Any], meta: Mapping[str, Any] | None = None) -> Path:
    """``model.pt``: the state dict with ``meta`` (``chromexpr.training.model_file``: the card, marks,
    geometry and normalization a new sample needs), or a bare state dict without. Either loads with
    ``torch.load(..., weights_only=True)`` (``model_file.load_model_file``)."""
    from chromexpr.training.model_file import save_model_file

    return save_model_file(path, state_dict, meta)


def save_sklearn_model(path: str | Path, estimator: Any) -> Path:
    """``model.skops``: the fitted estimator in skops' format (``chromexpr.training.sklearn_file``)."""
    from chromexpr.training.sklearn_file import save_sklearn_file

    return save_sklearn_file(path, estimator)
