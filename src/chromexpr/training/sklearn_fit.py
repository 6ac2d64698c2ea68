"""scikit-learn cards: one fit on the training genes, scored on validation genes, the same run files.

The single fit counts as epoch 1 of the history; ``random_state`` is the run's seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from chromexpr.evaluation.metrics import classification_metrics
from chromexpr.models import build_model, resolve_hyperparameters
from chromexpr.training.runtime import fmt
from chromexpr.training.tasks import Examples


def bce(prob: np.ndarray, y: np.ndarray) -> float:
    """Mean binary cross-entropy of probabilities ``prob`` against 0/1 labels ``y``."""
    p = np.clip(np.asarray(prob, dtype=np.float64), 1e-15, 1 - 1e-15)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def flat(x: np.ndarray) -> np.ndarray:
    """``(genes, marks, bins)`` -> ``(genes, marks * bins)``, C order as the scikit-learn models expect."""
    return x.reshape(x.shape[0], -1)


def fit_sklearn(
    card: Mapping[str, Any],
    train: Examples,
    valid: Examples,
    *,
    seed: int,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Fit the card's estimator on ``train``, score ``valid``; return the fit record (``estimator``,
    ``history``, ``valid`` metrics, timings). The run shell saves ``model.skops``."""
    overrides = {"random_state": seed} if "random_state" in resolve_hyperparameters(card) else None
    estimator = build_model(card, overrides=overrides)
    say(f"fitting {card['name']} (scikit-learn, seed {seed}) on {len(train)} genes")
    start = time.perf_counter()
    estimator.fit(flat(train.x), train.y)
    fit_seconds = time.perf_counter() - start
    p_train = predict_sklearn(estimator, train.x)
    p_valid = predict_sklearn(estimator, valid.x)
    valid_metrics = classification_metrics(valid.y, p_valid)
    record = {
        "epoch": 1,
        "train_loss": bce(p_train, train.y),
        "valid_loss": bce(p_valid, valid.y),
        "valid_auroc": valid_metrics["auroc"],
        "valid_auprc": valid_metrics["auprc"],
        "valid_accuracy": valid_metrics["accuracy"],
        "lr": None,
        "seconds": fit_seconds,
    }
    say(f"fit in {fit_seconds:.1f} s  train_loss {record['train_loss']:.4f}  valid_auroc {fmt(valid_metrics['auroc'])}")
    return {
        "estimator": estimator,
        "history": [record],
        "valid": {k: valid_metrics[k] for k in ("auroc", "auprc", "accuracy")},
        "train_seconds": fit_seconds,
        "train_genes_per_second": len(train) / max(fit_seconds, 1e-9),
    }


def predict_sklearn(estimator: Any, x: np.ndarray) -> np.ndarray:
    """Probability of class 1 for ``x`` ``(genes, marks, bins)``."""
    classes = list(estimator.classes_)
    return estimator.predict_proba(flat(x))[:, classes.index(1)].astype(np.float64)
