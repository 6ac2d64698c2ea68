"""Normalization of a cell's values: median labels and the per-mark z-score."""

from __future__ import annotations

import numpy as np

from chromexpr.errors import InputError


def label_by_median(expression: np.ndarray, over: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Binary labels: expression >= the median -> 1, else 0; the median over ``over`` (e.g. every gene of the
    cell in the expression matrix), default over these genes.

    The median itself is labelled 1. Returns ``(labels, median)``.
    """
    expression = np.asarray(expression, dtype=np.float64)
    reference = expression if over is None else np.asarray(over, dtype=np.float64)
    if expression.size == 0 or reference.size == 0:
        raise InputError("cannot label an empty set of genes")
    if not (np.all(np.isfinite(expression)) and np.all(np.isfinite(reference))):
        raise InputError("expression contains NaN or infinite values; clean the expression table")
    median = float(np.median(reference))
    return (expression >= median).astype(np.int8), median


def zscore_marks(
    counts: np.ndarray, *, log1p: bool = False, fit_mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Z-score each mark with mean and sd over all genes x bins of that mark (paper Eq. 1).

    Args:
        counts: ``(genes, marks, bins)`` raw values.
        log1p: apply ``log(1 + x)`` before standardising.
        fit_mask: boolean ``(genes,)``; statistics are computed on these genes only
            (``fit_on: train``), then applied to every gene. ``None`` uses all genes.

    Returns:
        ``(signal float32, mean per mark, sd per mark)``. A mark with zero variance keeps
        sd 1 so that its signal is all zeros rather than NaN.
    """
    x = np.asarray(counts, dtype=np.float64)
    if x.ndim != 3:
        raise InputError(f"counts must be (genes, marks, bins), got shape {x.shape}")
    if log1p:
        if (x < 0).any():
            raise InputError("log1p needs non-negative values; disable normalize.log1p")
        x = np.log1p(x)
    fit = x if fit_mask is None else x[np.asarray(fit_mask, dtype=bool)]
    if fit.shape[0] == 0:
        raise InputError("no genes to fit the z-score on", key="normalize.fit_on")
    mean = fit.mean(axis=(0, 2))
    sd = fit.std(axis=(0, 2))
    sd = np.where(sd > 0, sd, 1.0)
    signal = (x - mean[None, :, None]) / sd[None, :, None]
    return signal.astype(np.float32), mean, sd
