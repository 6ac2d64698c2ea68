"""Team Jamaica's scikit-learn regression baselines on every bin of every mark.

Input, as ``chromexpr.models.classical``: each gene is one row of its ``(marks, bins)`` matrix flattened
in C order, ``X = x.reshape(n, marks * bins)`` (columns ``[m0 b0, m0 b1, ..., m1 b0, ...]``); a 3-D
``(n, marks, bins)`` array is accepted as well. ``Flatten`` checks either and returns the 2-D rows.

- ``FlatLinearRegression``: standardise -> ordinary least squares on all ``marks * bins`` features (the
  paper's linear regression, MSE 4.70).
- ``FlatRandomForestRegressor``: a random forest on all features (Breiman's ``p / 3`` per split).
- ``CorrelatedBinsRandomForest``: ``TopCorrelatedFeatures`` keeps the ``k`` features of largest Pearson
  ``|r|`` with the target on the training rows (Dong et al. 2012's correlated bins), then the same forest.

Estimators are unfitted; pass ``overrides={"random_state": seed}`` to ``build_model`` for reproducible fits.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from chromexpr.errors import InputError
from chromexpr.models.classical import MarkMeans
from chromexpr.models.registry import register_model


class Flatten(MarkMeans):
    """Check and flatten: ``(n, marks * bins)`` or ``(n, marks, bins)`` -> ``(n, marks * bins)``.

    Args:
        n_marks: marks per gene.
        n_bins: bins per mark.
    """

    def transform(self, X) -> np.ndarray:  # noqa: N803 - scikit-learn naming
        x = self._reshape(X)  # (n, marks, bins)
        return x.reshape(x.shape[0], self.n_marks * self.n_bins)  # (n, marks * bins), C order

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.asarray([f"mark{m}_bin{b}" for m in range(self.n_marks) for b in range(self.n_bins)], dtype=object)


def pearson_r(X, y) -> np.ndarray:  # noqa: N803
    """Pearson r of every column of ``X`` ``(n, p)`` with ``y`` ``(n,)``; 0 where a column or ``y`` is
    constant (or not finite), without warnings."""
    x = np.asarray(X, dtype=np.float64)
    t = np.asarray(y, dtype=np.float64).reshape(-1)
    xc = x - x.mean(axis=0)  # (n, p)
    tc = t - t.mean()  # (n,)
    cov = xc.T @ tc  # (p,)
    denom = np.sqrt((xc * xc).sum(axis=0) * (tc @ tc))  # (p,)
    varies = (np.ptp(x, axis=0) > 0) & (np.ptp(t) > 0) & np.isfinite(denom) & (denom > 0)
    r = np.zeros(x.shape[1], dtype=np.float64)
    np.divide(cov, denom, out=r, where=varies)
    r[~np.isfinite(r)] = 0.0
    return np.clip(r, -1.0, 1.0)


class TopCorrelatedFeatures(TransformerMixin, BaseEstimator):
    """Keep the ``k`` columns of largest ``|r|`` (Pearson, with ``y`` on the training rows).

    Ties are broken by the lower column index (a stable sort); ``k`` above the number of columns keeps
    them all.

    Args:
        k: columns kept.

    Attributes:
        scores_: ``(n_features,)`` Pearson r of each column (0 for constant columns).
        selected_: indices of the kept columns, by decreasing ``|r|``; ``transform`` returns them in
            this order.
    """

    def __init__(self, k: int = 50) -> None:
        self.k = k

    def fit(self, X, y) -> TopCorrelatedFeatures:  # noqa: N803
        x = self._check(X)
        if y is None:
            raise InputError("TopCorrelatedFeatures needs the target y to rank the features")
        t = np.asarray(y, dtype=np.float64).reshape(-1)
        if t.shape[0] != x.shape[0]:
            raise InputError(f"X has {x.shape[0]} rows but y has {t.shape[0]}")
        if not isinstance(self.k, (int, np.integer)) or isinstance(self.k, bool) or self.k < 1:
            raise InputError(f"k must be a positive integer, got {self.k!r}", key="hyperparameters.k")
        self.scores_ = pearson_r(x, t)  # (n_features,)
        order = np.argsort(-np.abs(self.scores_), kind="stable")  # decreasing |r|, ties: lower index
        self.selected_ = order[: min(int(self.k), x.shape[1])]
        self.n_features_in_ = x.shape[1]
        return self

    def transform(self, X) -> np.ndarray:  # noqa: N803
        x = self._check(X)
        if x.shape[1] != self.n_features_in_:
            raise InputError(f"fitted on {self.n_features_in_} features, got {x.shape[1]}")
        return x[:, self.selected_]  # (n, k)

    @staticmethod
    def _check(X) -> np.ndarray:  # noqa: N803
        x = np.asarray(X, dtype=np.float64)
        if x.ndim != 2:
            raise InputError(f"expected a 2-D (n, features) array, got shape {x.shape}")
        return x


class SelectedFeaturesPipeline(Pipeline):
    """A ``Pipeline`` exposing ``selected_features_``: the input columns its ``select`` step keeps
    (indices into the flattened ``marks * bins`` row, by decreasing ``|r|``)."""

    @property
    def selected_features_(self) -> np.ndarray:
        selector = self.named_steps["select"]
        if not hasattr(selector, "selected_"):
            raise AttributeError("selected_features_ is set by fit")
        return selector.selected_


def _forest(
    n_estimators: int,
    max_depth: int | None,
    min_samples_leaf: int,
    max_features: str | int | float | None,
    n_jobs: int | None,
    random_state: int | None,
) -> RandomForestRegressor:
    return RandomForestRegressor(
        n_estimators=n_estimators,
        max_depth=max_depth,
        min_samples_leaf=min_samples_leaf,
        max_features=max_features,
        n_jobs=n_jobs,
        random_state=random_state,
    )


@register_model("FlatLinearRegression", framework="sklearn")
def flat_linear_regression(*, n_marks: int = 5, n_bins: int = 100) -> Pipeline:
    """Every bin of every mark -> standardise -> ordinary least squares (``marks * bins + 1`` learned
    parameters: 501 for 5 x 100).

    Args:
        n_marks: marks per gene.
        n_bins: bins per mark.
    """
    return Pipeline(
        [
            ("flatten", Flatten(n_marks=n_marks, n_bins=n_bins)),
            ("scale", StandardScaler()),
            ("regressor", LinearRegression()),
        ]
    )


@register_model("FlatRandomForestRegressor", framework="sklearn")
def flat_random_forest_regressor(
    *,
    n_marks: int = 5,
    n_bins: int = 100,
    n_estimators: int = 100,
    max_depth: int | None = None,
    min_samples_leaf: int = 5,
    max_features: str | int | float | None = 0.333,
    n_jobs: int | None = 1,
    random_state: int | None = None,
) -> Pipeline:
    """Every bin of every mark -> random forest regression.

    Args:
        n_marks: marks per gene.
        n_bins: bins per mark.
        n_estimators: trees.
        max_depth: tree depth limit (``None`` = grow until ``min_samples_leaf``).
        min_samples_leaf: smallest leaf.
        max_features: features tried per split (0.333: Breiman's ``p / 3`` for regression).
        n_jobs: parallel jobs (the rule's ``threads``).
        random_state: seed for bootstrap and feature sampling.
    """
    return Pipeline(
        [
            ("flatten", Flatten(n_marks=n_marks, n_bins=n_bins)),
            ("regressor", _forest(n_estimators, max_depth, min_samples_leaf, max_features, n_jobs, random_state)),
        ]
    )


@register_model("CorrelatedBinsRandomForest", framework="sklearn")
def correlated_bins_random_forest(
    *,
    n_marks: int = 5,
    n_bins: int = 100,
    k: int = 50,
    n_estimators: int = 100,
    max_depth: int | None = None,
    min_samples_leaf: int = 5,
    max_features: str | int | float | None = 0.333,
    n_jobs: int | None = 1,
    random_state: int | None = None,
) -> SelectedFeaturesPipeline:
    """The ``k`` bins most correlated with the target (``|r|`` on the training rows) -> random forest.

    Args:
        n_marks: marks per gene.
        n_bins: bins per mark.
        k: (mark, bin) features kept by ``TopCorrelatedFeatures``.
        n_estimators, max_depth, min_samples_leaf, max_features, n_jobs, random_state: the forest's, as
            ``flat_random_forest_regressor`` (``max_features`` is a fraction of the ``k`` kept).
    """
    return SelectedFeaturesPipeline(
        [
            ("flatten", Flatten(n_marks=n_marks, n_bins=n_bins)),
            ("select", TopCorrelatedFeatures(k=k)),
            ("regressor", _forest(n_estimators, max_depth, min_samples_leaf, max_features, n_jobs, random_state)),
        ]
    )
