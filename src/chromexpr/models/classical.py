"""Classical baselines (scikit-learn) on per-mark means.

Input: scikit-learn wants 2-D ``X``; give each gene as one row of its ``(marks, bins)`` matrix
flattened in C order, i.e. ``X = x.reshape(n, marks * bins)`` (mark-major: columns
``[m0 b0, m0 b1, ..., m1 b0, ...]``). A 3-D ``(n, marks, bins)`` array is accepted as well.
``MarkMeans`` reduces either to ``(n, marks)`` means, then the classifier runs. The value kind and
transform (raw counts, ``log1p``) are applied by the data loader as the card's ``input`` says.
Estimators are unfitted; pass ``overrides={"random_state": seed}`` to ``build_model`` for
reproducible fits.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from chromexpr.errors import InputError
from chromexpr.models.registry import register_model


class MarkMeans(TransformerMixin, BaseEstimator):
    """Mean of each mark over its bins: ``(n, marks * bins)`` or ``(n, marks, bins)`` ->
    ``(n, marks)``.

    Args:
        n_marks: marks per gene.
        n_bins: bins per mark.
    """

    def __init__(self, n_marks: int = 5, n_bins: int = 100) -> None:
        self.n_marks = n_marks
        self.n_bins = n_bins

    def fit(self, X, y=None) -> MarkMeans:  # noqa: N803 - scikit-learn naming
        self._reshape(X)
        self.n_features_in_ = self.n_marks * self.n_bins
        return self

    def transform(self, X) -> np.ndarray:  # noqa: N803
        return self._reshape(X).mean(axis=2)  # (n, marks)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.asarray([f"mark{m}_mean" for m in range(self.n_marks)], dtype=object)

    def _reshape(self, X) -> np.ndarray:  # noqa: N803
        x = np.asarray(X, dtype=np.float64)
        if x.ndim == 2 and x.shape[1] == self.n_marks * self.n_bins:
            return x.reshape(x.shape[0], self.n_marks, self.n_bins)  # (n, marks, bins)
        if x.ndim == 3 and x.shape[1:] == (self.n_marks, self.n_bins):
            return x
        raise InputError(
            f"expected (n, {self.n_marks * self.n_bins}) rows of flattened (marks, bins) or "
            f"(n, {self.n_marks}, {self.n_bins}), got {x.shape}",
            hint="flatten each gene's (marks, bins) matrix in C order: x.reshape(n, -1)",
        )


@register_model("MarkMeanLogisticRegression", framework="sklearn")
def mark_mean_logistic_regression(
    *,
    n_marks: int = 5,
    n_bins: int = 100,
    C: float = 1.0,  # noqa: N803 - scikit-learn's name
    max_iter: int = 1000,
    random_state: int | None = None,
) -> Pipeline:
    """Per-mark means -> standardise -> L2 logistic regression (6 learned parameters for 5 marks).

    Args:
        n_marks: marks per gene.
        n_bins: bins per mark.
        C: inverse L2 regularisation strength.
        max_iter: solver iterations.
        random_state: seed (the lbfgs solver is deterministic; kept for a uniform interface).
    """
    return Pipeline(
        [
            ("mark_means", MarkMeans(n_marks=n_marks, n_bins=n_bins)),
            ("scale", StandardScaler()),
            ("classifier", LogisticRegression(C=C, max_iter=max_iter, random_state=random_state)),
        ]
    )


@register_model("MarkMeanRandomForest", framework="sklearn")
def mark_mean_random_forest(
    *,
    n_marks: int = 5,
    n_bins: int = 100,
    n_estimators: int = 500,
    max_depth: int | None = None,
    min_samples_leaf: int = 5,
    max_features: str | int | float | None = "sqrt",
    n_jobs: int | None = 1,
    random_state: int | None = None,
) -> Pipeline:
    """Per-mark means -> random forest.

    Args:
        n_marks: marks per gene.
        n_bins: bins per mark.
        n_estimators: trees.
        max_depth: tree depth limit (``None`` = grow until ``min_samples_leaf``).
        min_samples_leaf: smallest leaf.
        max_features: features tried per split.
        n_jobs: parallel jobs (the rule's ``threads``).
        random_state: seed for bootstrap and feature sampling.
    """
    return Pipeline(
        [
            ("mark_means", MarkMeans(n_marks=n_marks, n_bins=n_bins)),
            (
                "classifier",
                RandomForestClassifier(
                    n_estimators=n_estimators,
                    max_depth=max_depth,
                    min_samples_leaf=min_samples_leaf,
                    max_features=max_features,
                    n_jobs=n_jobs,
                    random_state=random_state,
                ),
            ),
        ]
    )
