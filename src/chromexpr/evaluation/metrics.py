"""Classification metrics: AUROC, AUPRC (average precision) and accuracy.

AUROC and AUPRC are scikit-learn's (``roc_auc_score``, ``average_precision_score``) behind a thin
wrapper that never raises on a degenerate split: when ``y`` holds a single class, or a score is not
finite (a diverged model), the ranking metrics are NaN with a ``RuntimeWarning`` (where scikit-learn
would raise or warn differently) so that one bad cell does not stop a sweep, and the NaN shows in
the results table. Accuracy equals ``accuracy_score`` on the calls ``prob >= threshold``.

``y`` is 0/1 (class 1 = expressed above the cell's median); ``score`` / ``prob`` is any score that
is larger for class 1 (a probability, a logit).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from chromexpr.errors import InputError


def _check(y, score, name: str) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y).ravel()
    score = np.asarray(score, dtype=np.float64).ravel()
    if y.shape != score.shape:
        raise InputError(f"{name}: {y.size} labels but {score.size} scores")
    if y.size and not np.isin(y, (0, 1)).all():
        bad = y[~np.isin(y, (0, 1))][0]
        raise InputError(f"{name}: labels must be 0 or 1, found {bad!r}")
    return y.astype(np.int64), score


def _undefined(y: np.ndarray, score: np.ndarray, name: str) -> bool:
    """True (with a warning) where a ranking metric has no value."""
    n_pos = int(y.sum())
    if y.size == 0 or n_pos == 0 or n_pos == y.size:
        warnings.warn(
            f"{name} is undefined with a single class ({y.size} samples, {n_pos} positive); reported as NaN",
            RuntimeWarning,
            stacklevel=3,
        )
        return True
    if not np.isfinite(score).all():
        warnings.warn(
            f"{name}: {int((~np.isfinite(score)).sum())} scores are NaN or infinite "
            "(did training diverge?); reported as NaN",
            RuntimeWarning,
            stacklevel=3,
        )
        return True
    return False


def auroc(y, score) -> float:
    """Area under the ROC curve (``sklearn.metrics.roc_auc_score``): the Mann-Whitney probability
    that a random positive scores above a random negative, ties counting one half.

    NaN with a ``RuntimeWarning`` when ``y`` holds a single class or a score is not finite.
    """
    y, score = _check(y, score, "auroc")
    if _undefined(y, score, "AUROC"):
        return float("nan")
    return float(roc_auc_score(y, score))


def auprc(y, score) -> float:
    """Average precision (``sklearn.metrics.average_precision_score``): ``sum_n (R_n - R_(n-1)) P_n``
    over the distinct score thresholds from the highest down, without interpolation.

    NaN with a ``RuntimeWarning`` when ``y`` holds a single class or a score is not finite.
    """
    y, score = _check(y, score, "auprc")
    if _undefined(y, score, "AUPRC"):
        return float("nan")
    return float(average_precision_score(y, score))


def accuracy(y, prob, threshold: float = 0.5) -> float:
    """Fraction of genes whose call ``prob >= threshold`` equals the label."""
    y, prob = _check(y, prob, "accuracy")
    if y.size == 0:
        warnings.warn("accuracy of zero samples is undefined; reported as NaN", RuntimeWarning, stacklevel=2)
        return float("nan")
    return float(np.mean((prob >= threshold).astype(np.int64) == y))


def classification_metrics(y, prob, threshold: float = 0.5) -> dict[str, float | int]:
    """``auroc``, ``auprc``, ``accuracy`` (at ``threshold``), ``n`` and ``n_positive`` of one split.

    Args:
        y: 0/1 labels ``(n,)``.
        prob: probability of class 1 ``(n,)`` (any monotone score works for the AUCs, but accuracy
            needs a probability).
        threshold: probability at and above which a gene is called class 1.
    """
    y_arr, prob_arr = _check(y, prob, "classification_metrics")
    return {
        "auroc": auroc(y_arr, prob_arr),
        "auprc": auprc(y_arr, prob_arr),
        "accuracy": accuracy(y_arr, prob_arr, threshold),
        "n": int(y_arr.size),
        "n_positive": int(y_arr.sum()),
    }


def regression_metrics(y, prediction) -> dict[str, float | int]:
    """``pearson``, ``spearman`` (scipy), ``mse`` and ``r2`` (scikit-learn) and ``n`` of one split.

    A correlation of a constant vector is undefined: NaN (with a warning), never a made-up 0.

    Args:
        y: true values ``(n,)``.
        prediction: predicted values ``(n,)``.
    """
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics import mean_squared_error, r2_score

    y_arr = np.asarray(y, dtype=np.float64).ravel()
    p_arr = np.asarray(prediction, dtype=np.float64).ravel()
    if y_arr.shape != p_arr.shape:
        raise InputError(f"regression_metrics: {y_arr.size} values but {p_arr.size} predictions")
    if not (np.isfinite(y_arr).all() and np.isfinite(p_arr).all()):
        raise InputError("regression_metrics: the values or predictions hold NaN or infinity")
    n = int(y_arr.size)
    if n < 2:
        warnings.warn("correlations of fewer than 2 genes are undefined; reported as NaN", RuntimeWarning, stacklevel=2)
        nan = float("nan")
        mse = float(mean_squared_error(y_arr, p_arr)) if n else nan
        return {"pearson": nan, "spearman": nan, "mse": mse, "r2": nan, "n": n}
    constant = np.ptp(y_arr) == 0 or np.ptp(p_arr) == 0
    if constant:
        warnings.warn("a constant vector has no correlation; reported as NaN", RuntimeWarning, stacklevel=2)
        pearson = spearman = float("nan")
    else:
        pearson = float(pearsonr(y_arr, p_arr).statistic)
        spearman = float(spearmanr(y_arr, p_arr).statistic)
    return {
        "pearson": pearson,
        "spearman": spearman,
        "mse": float(mean_squared_error(y_arr, p_arr)),
        "r2": float(r2_score(y_arr, p_arr)) if np.ptp(y_arr) > 0 else float("nan"),
        "n": n,
    }
