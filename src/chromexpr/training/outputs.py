"""A training run's files, each written atomically.

================== ===============================================================================
file               content
================== ===============================================================================
model.pt           the selected epoch's ``state_dict`` (torch); ``model.pkl``: the fitted estimator
metrics.json       see ``METRICS_KEYS`` in ``chromexpr.training.loop``; NaN is written as ``null``
predictions.tsv.gz gene_id, split, label, probability (of class 1) for every gene of the dataset
history.tsv        epoch, train_loss, valid_loss, valid_auroc, valid_auprc, lr, seconds
================== ===============================================================================
"""

from __future__ import annotations

import gzip
import pickle
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


def write_predictions(
    path: str | Path,
    gene_ids: np.ndarray,
    split: np.ndarray,
    label: np.ndarray,
    probability: np.ndarray,
) -> Path:
    """``predictions.tsv.gz``, one row per gene in dataset order (gzip without a timestamp or name,
    so equal predictions give equal bytes)."""
    path = Path(path)
    table = pd.DataFrame(
        {
            "gene_id": np.asarray(gene_ids).astype(str),
            "split": np.asarray(split).astype(str),
            "label": np.asarray(label).astype(np.int64),
            "probability": np.asarray(probability, dtype=np.float64),
        }
    )
    text = table.to_csv(sep="\t", index=False)
    with atomic_path(path) as tmp:
        # gzip.compress writes neither a timestamp nor a file name into the header
        tmp.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0))
    return path


def write_history(path: str | Path, history: Sequence[Mapping[str, Any]]) -> Path:
    """``history.tsv``, one row per epoch run."""
    path = Path(path)
    table = pd.DataFrame([{c: row.get(c) for c in HISTORY_COLUMNS} for row in history], columns=list(HISTORY_COLUMNS))
    with atomic_path(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False, na_rep="NA")
    return path


def save_torch_model(path: str | Path, state_dict: Mapping[str, Any]) -> Path:
    """``model.pt``: a plain ``state_dict`` (load with ``torch.load(..., weights_only=True)``)."""
    import torch

    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(dict(state_dict), tmp)
    return path


def save_sklearn_model(path: str | Path, estimator: Any) -> Path:
    """``model.pkl``: the fitted estimator, pickled."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        pickle.dump(estimator, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return path
