"""Dataset summaries: size, label balance, signal per mark and a per-mark-mean baseline AUROC."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from chromexpr.dataset import Dataset, load_dataset
from chromexpr.io.atomic import atomic_path


def baseline_auroc(dataset: Dataset, seed: int = 0) -> float:
    """Test AUROC of a logistic regression on per-mark mean ``log1p`` counts, fit on train.

    A quick, honest check that expression is learnable from the marks (no model selection:
    fixed regularisation, fit on train, scored once on test).
    """
    x = np.log1p(np.asarray(dataset.counts, dtype=np.float64).clip(min=0)).mean(axis=2)
    train, test = dataset.split == "train", dataset.split == "test"
    y = dataset.label.astype(int)
    if len(np.unique(y[train])) < 2 or len(np.unique(y[test])) < 2:
        return float("nan")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
    model.fit(x[train], y[train])
    return float(roc_auc_score(y[test], model.predict_proba(x[test])[:, 1]))


def summarize_dataset(dataset: Dataset) -> dict[str, object]:
    """One summary row for a dataset."""
    row: dict[str, object] = {
        "cell": dataset.meta.get("cell", ""),
        "genes": dataset.n_genes,
        "bins": int(dataset.counts.shape[2]),
        "train": int((dataset.split == "train").sum()),
        "valid": int((dataset.split == "valid").sum()),
        "test": int((dataset.split == "test").sum()),
        "positive_fraction": round(float(dataset.label.mean()), 4),
        "median_expression": round(float(dataset.meta.get("label", {}).get("median", float("nan"))), 4),
        "median_over": dataset.meta.get("label", {}).get("median_over", ""),
    }
    for i, mark in enumerate(dataset.marks):
        row[f"mean_{mark}"] = round(float(np.asarray(dataset.counts[:, i], dtype=np.float64).mean()), 4)
    row["baseline_logreg_test_auroc"] = round(baseline_auroc(dataset), 4)
    return row


def summarize_datasets(paths: list[str | Path], out: str | Path) -> pd.DataFrame:
    """Summarise every dataset into one TSV (one row per cell), written atomically."""
    table = pd.DataFrame([summarize_dataset(load_dataset(p)) for p in paths])
    with atomic_path(out) as tmp:
        table.to_csv(tmp, sep="\t", index=False)
    return table
