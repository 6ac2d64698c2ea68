"""DeepDiff's classical baselines for differential expression (scikit-learn).

DeepDiff (Sekhon, Singh & Qi 2018, Sec. 4.2) compares its networks with three scikit-learn
baselines, each predicting a gene's log fold change ``LFC = log2((count_B + 1) / (count_A + 1))``
between cells A and B from the histone-mark read counts of both cells:

* :class:`SVRBestBin` -- Cheng & Gerstein (2012)'s best-bin strategy: one RBF support vector
  regression (SVR) per bin, the bin whose SVR has the highest Pearson r on the validation genes is
  kept and predicts alone.
* :class:`SVRTwoLayer` -- Cheng & Gerstein's two-layer SVR: bin-specific RBF SVRs (layer 1), then an
  RBF SVR on the vector of their per-bin predictions (layer 2).
* :class:`ReliefFRandomForest` -- Li J et al. (2015)'s ReliefF feature selection followed by a random
  forest, as regression; the number of selected features (50, 70, 100) and of trees
  (10, 50, 100, 150, 200) are chosen by validation Pearson r.

Features (:func:`pair_features`)
--------------------------------
The two-layer SVR's bin models see, by default, Cheng & Gerstein's input: that bin's difference of the mark
signals, ``log2(B + 1) - log2(A + 1)`` per mark (``features: difference``, 5 numbers per bin); its
``levels_and_diff`` option and the other two baselines see all three kinds below.
Each bin of a gene is described by ``3 * marks`` numbers: for every mark, ``log2(A + 1)``,
``log2(B + 1)`` and their difference ``log2(B + 1) - log2(A + 1)`` (columns
``[log_a m0..m4, log_b m0..m4, log_diff m0..m4]``). The difference is Cheng & Gerstein's input for
differential expression ("the difference of the HM signals"); DeepDiff found the difference alone
insufficient (its ``raw_d`` variant is its worst), so the levels in both cells are kept too. The
``log2(count + 1)`` transform puts features and the LFC target on the same scale and tames the
orders-of-magnitude spread of raw counts. Each (bin, feature) column is standardised with the mean
and standard deviation of the training genes (a constant column gets standard deviation 1).

Common interface
----------------
``Model(n_marks=5, n_bins=200, <hyperparameters>, random_state=None)``;
``fit(x_a, x_b, y, *, valid=(x_a_v, x_b_v, y_v), seed=0) -> self`` with ``x_*`` float arrays
``(genes, marks, bins)`` of raw read counts and ``y`` the LFC ``(genes,)``; ``predict(x_a, x_b)``
``-> (genes,) float64`` LFC. After ``fit``: ``selection_`` (dict: what validation chose and its
``valid_pearson``) and ``history_`` (one dict per candidate, its settings and ``valid_pearson``).
The seed used is ``random_state`` when set (the training rule passes the run's seed there, as for
the other scikit-learn cards), otherwise ``fit``'s ``seed``. Fits are deterministic given the seed,
and fitted models are plain-picklable. Validation genes only ever choose among candidates (and, for
the two-layer SVR, report); no model is fitted on them.

Choices where the paper is silent (they are the cards' ``deviations``)
---------------------------------------------------------------------
* Features as above (log2(count + 1) of A, of B, and B - A per mark; standardised per column).
* SVR: scikit-learn defaults (RBF kernel, C = 1, epsilon = 0.1, gamma = 'scale') fitted on the LFC
  standardised with the training mean and standard deviation (so C and epsilon do not depend on the
  spread of the LFC of a cell pair); predictions are mapped back to LFC units.
* Best bin chosen on the validation split (the paper says "cross-validation").
* Two-layer SVR: layer 2 is fitted on out-of-fold layer-1 predictions of the training genes
  (``n_folds``-fold cross-fitting, seeded shuffled folds, 3 by default); layer 1 is then refitted on
  all training genes and its predictions feed layer 2 at prediction time. Layer 2's inputs are the
  raw per-bin predictions (standardised-LFC units, not re-standardised, so uninformative bins whose
  predictions hardly vary weigh little in the RBF distance).
* ReliefF + random forest: ReliefF (skrebate, ``n_neighbors`` 10 as in Kononenko's ReliefF and
  Weka's default, all features continuous) ranks coarse features: the per-bin features averaged
  over ``n_windows`` (20) windows of consecutive bins (1 kb for 200 x 100 bp), i.e. 300 features for
  5 marks; skrebate's pure-Python scoring costs ~20 us per (gene, feature), so the 3,000 per-bin
  features would take minutes. ReliefF is fitted on a seeded subsample of at most
  ``relief_max_genes`` (1,000) training genes (its cost grows with genes squared). The forest sees the
  selected coarse features, uses Breiman's / R randomForest's regression settings (a third of the
  features per split, ``min_samples_leaf`` 5) and is fitted once per feature count with the largest
  tree count; smaller forests are its first trees (identical to fresh fits with the same seed, as
  scikit-learn draws per-tree seeds in order). When fewer features exist than a candidate count,
  the candidate is capped at the number available and duplicates dropped.
* 200 bins around the TSS (+/- 10 kb, the DeepDiff data) instead of Cheng & Gerstein's 160 bins
  flanking the TSS and TTS.
* Fitted SVRs are scikit-learn ``SVR`` objects; their predictions are evaluated with numpy
  (:func:`svr_predict`, equal to ``SVR.predict`` to ~1e-13, ~4x faster over 200 bins).

Cost (one core, 1,100 / 1,100 / 1,100 genes, 5 x 200): fit 9 s (best bin), 21 s (two-layer),
10 s (ReliefF + forest, of which ReliefF ~6 s); predicting 1,100 genes 0.05 s / 1.7 s / 0.2 s.
The SVRs grow roughly with genes squared (one 15-feature SVR: 0.09 s at 1,100, 3.1 s at 10,000
genes); ReliefF's cost is capped by ``relief_max_genes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.base import BaseEstimator
from sklearn.ensemble import RandomForestRegressor
from sklearn.model_selection import KFold
from sklearn.svm import SVR

from chromexpr.errors import InputError
from chromexpr.models.registry import register_model

#: The three feature kinds of :func:`pair_features`, in column order (each repeated per mark).
FEATURE_KINDS = ("log_a", "log_b", "log_diff")
#: The per-bin features a model may take (its ``features``): Cheng & Gerstein's signal difference of each mark
#: (``difference``: 5 per bin), or both cells' levels and their difference (``levels_and_diff``: 15 per bin).
FEATURE_SETS = {"difference": ("log_diff",), "levels_and_diff": FEATURE_KINDS}


def pair_features(x_a: np.ndarray, x_b: np.ndarray) -> np.ndarray:
    """Per-bin features of a cell pair.

    Args:
        x_a: raw read counts of cell A, ``(genes, marks, bins)``, non-negative.
        x_b: raw read counts of cell B, same shape.

    Returns:
        ``(genes, bins, 3 * marks)`` float64: per bin ``[log2(A+1) for each mark, log2(B+1) for each
        mark, log2(B+1) - log2(A+1) for each mark]``.

    Raises:
        InputError: on shapes that are not equal 3-D arrays, or negative / non-finite counts.
    """
    a = np.asarray(x_a, dtype=np.float64)
    b = np.asarray(x_b, dtype=np.float64)
    if a.ndim != 3 or a.shape != b.shape:
        raise InputError(
            f"x_a and x_b must be equal (genes, marks, bins) arrays, got {a.shape} and {b.shape}",
            hint="give both cells' counts for the same genes, marks and bins",
        )
    for name, arr in (("x_a", a), ("x_b", b)):
        if not np.all(np.isfinite(arr)) or (arr.size and arr.min() < 0):
            raise InputError(
                f"{name} must hold non-negative finite read counts",
                hint="the DeepDiff baselines take raw counts (input.transform: none)",
            )
    la = np.log2(a + 1.0)
    lb = np.log2(b + 1.0)
    feats = np.concatenate([la, lb, lb - la], axis=1)  # (genes, 3 * marks, bins)
    return np.ascontiguousarray(feats.transpose(0, 2, 1))  # (genes, bins, 3 * marks)


def feature_names(n_marks: int) -> list[str]:
    """Names of the per-bin feature columns of :func:`pair_features` (``log_diff_m1`` ...)."""
    return [f"{kind}_m{m}" for kind in FEATURE_KINDS for m in range(n_marks)]


def pearson(pred: np.ndarray, y: np.ndarray) -> float:
    """Pearson r of two vectors; NaN when either is constant."""
    p = np.asarray(pred, dtype=np.float64).ravel()
    t = np.asarray(y, dtype=np.float64).ravel()
    p = p - p.mean()
    t = t - t.mean()
    denom = np.sqrt(np.dot(p, p) * np.dot(t, t))
    if not np.isfinite(denom) or denom <= 0:
        return float("nan")
    return float(np.dot(p, t) / denom)


def rbf_gamma(gamma: str | float, X: np.ndarray) -> float:  # noqa: N803
    """The RBF width scikit-learn's ``SVR`` uses for ``gamma`` on training rows ``X``:
    ``'scale'`` = 1 / (features * X.var()) (1 when X is constant), ``'auto'`` = 1 / features."""
    if gamma == "scale":
        var = float(np.var(X))
        return 1.0 / (X.shape[1] * var) if var > 0 else 1.0
    if gamma == "auto":
        return 1.0 / X.shape[1]
    return float(gamma)


def svr_predict(svr: SVR, X: np.ndarray) -> np.ndarray:  # noqa: N803
    """``svr.predict(X)`` for a fitted RBF ``SVR`` with a numeric ``gamma``, computed with numpy:
    the same numbers (to ~1e-13) about 4x faster than libsvm's per-row loop, which matters for 200
    bin SVRs scoring thousands of genes."""
    d2 = cdist(np.asarray(X, dtype=np.float64), svr.support_vectors_, "sqeuclidean")
    return np.exp(-float(svr.gamma) * d2) @ svr.dual_coef_[0] + svr.intercept_[0]


def _best(scores: Sequence[float]) -> int:
    """Index of the highest score, NaN counting as -inf, the first on ties."""
    arr = np.asarray(scores, dtype=np.float64)
    if np.all(np.isnan(arr)):
        return 0
    return int(np.nanargmax(arr))


class _DiffBaseline(BaseEstimator):
    """Shared checks, feature standardisation and target scaling (not registered)."""

    n_marks: int
    n_bins: int
    random_state: int | None

    def _seed(self, seed: int) -> int:
        return int(self.random_state) if self.random_state is not None else int(seed)

    def _check_pair(self, x_a: np.ndarray, x_b: np.ndarray) -> np.ndarray:
        """The per-bin features ``(genes, bins, features)`` of the model's ``features`` set (``FEATURE_SETS``; a
        model without one, e.g. a file of an older chromexpr, takes all three kinds)."""
        feats = pair_features(x_a, x_b)
        if feats.shape[1] != self.n_bins or feats.shape[2] != 3 * self.n_marks:
            raise InputError(
                f"expected (genes, {self.n_marks}, {self.n_bins}) counts, got {np.shape(x_a)}",
                hint="the card's input.marks and input.bins must match the data",
            )
        kinds = FEATURE_SETS.get(getattr(self, "features", "levels_and_diff"))
        if kinds is None:
            raise InputError(
                f"unknown features {self.features!r}",
                key="hyperparameters.features",
                hint=f"use one of {', '.join(FEATURE_SETS)}",
            )
        if kinds == FEATURE_KINDS:
            return feats
        columns = [
            i * self.n_marks + m for i, kind in enumerate(FEATURE_KINDS) if kind in kinds for m in range(self.n_marks)
        ]
        return np.ascontiguousarray(feats[:, :, columns])

    def _check_target(self, y: np.ndarray, n: int, what: str) -> np.ndarray:
        t = np.asarray(y, dtype=np.float64).ravel()
        if t.shape[0] != n or not np.all(np.isfinite(t)):
            raise InputError(f"{what}: expected {n} finite LFC values, got shape {np.shape(y)}")
        return t

    def _fit_scaler(self, feats: np.ndarray, y: np.ndarray) -> None:
        self.feature_mean_ = feats.mean(axis=0)  # (bins, features)
        std = feats.std(axis=0)
        self.feature_std_ = np.where(std > 0, std, 1.0)
        self.y_mean_ = float(y.mean())
        y_std = float(y.std())
        self.y_std_ = y_std if y_std > 0 else 1.0

    def _scale(self, feats: np.ndarray) -> np.ndarray:
        return (feats - self.feature_mean_) / self.feature_std_

    def _prepare(self, x_a, x_b, y, valid) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Standardised train / valid features and train / valid targets (scaler fitted on train)."""
        if valid is None or len(valid) != 3:
            raise InputError("fit needs valid=(x_a_valid, x_b_valid, y_valid): validation genes choose the model")
        feats = self._check_pair(x_a, x_b)
        y_t = self._check_target(y, feats.shape[0], "y")
        feats_v = self._check_pair(valid[0], valid[1])
        y_v = self._check_target(valid[2], feats_v.shape[0], "valid y")
        if feats.shape[0] < 3 or feats_v.shape[0] < 2:
            raise InputError("need at least 3 training and 2 validation genes")
        self._fit_scaler(feats, y_t)
        return self._scale(feats), self._scale(feats_v), y_t, y_v

    def _fit_svr(self, X: np.ndarray, y: np.ndarray, C: float, epsilon: float, gamma: Any) -> SVR:  # noqa: N803
        """An RBF ``SVR`` fitted on ``X``, its ``gamma`` resolved to the number scikit-learn would use."""
        svr = SVR(kernel="rbf", C=C, epsilon=epsilon, gamma=rbf_gamma(gamma, X), cache_size=self.cache_size)
        return svr.fit(X, y)


@register_model("SVRBestBin", framework="sklearn")
class SVRBestBin(_DiffBaseline):
    """One RBF SVR per bin; the bin with the best validation Pearson r predicts alone.

    Args:
        n_marks: marks per cell.
        n_bins: bins per mark.
        C: SVR regularisation (on the standardised LFC).
        epsilon: SVR epsilon-tube half width (standardised-LFC units).
        gamma: RBF width, ``'scale'`` = 1 / (features * variance) as scikit-learn.
        cache_size: libsvm kernel cache (MB).
        random_state: seed (the SVR fit is deterministic; kept for a uniform interface).

    Attributes after ``fit``: ``bin_`` (chosen bin index), ``svr_`` (its fitted SVR),
    ``selection_`` ``{"bin", "valid_pearson"}``, ``history_`` (one row per bin).
    """

    def __init__(
        self,
        n_marks: int = 5,
        n_bins: int = 200,
        C: float = 1.0,  # noqa: N803 - scikit-learn's name
        epsilon: float = 0.1,
        gamma: str | float = "scale",
        cache_size: float = 200.0,
        random_state: int | None = None,
    ) -> None:
        self.n_marks = n_marks
        self.n_bins = n_bins
        self.C = C
        self.epsilon = epsilon
        self.gamma = gamma
        self.cache_size = cache_size
        self.random_state = random_state

    def fit(self, x_a, x_b, y, *, valid, seed: int = 0) -> SVRBestBin:
        self.seed_ = self._seed(seed)
        f, f_v, y_t, y_v = self._prepare(x_a, x_b, y, valid)
        y_s = (y_t - self.y_mean_) / self.y_std_
        history: list[dict[str, Any]] = []
        best_r, best_svr, best_bin = -np.inf, None, 0
        for b in range(self.n_bins):
            svr = self._fit_svr(f[:, b, :], y_s, self.C, self.epsilon, self.gamma)
            r = pearson(svr_predict(svr, f_v[:, b, :]), y_v)
            history.append({"bin": b, "valid_pearson": r})
            score = r if np.isfinite(r) else -np.inf
            if best_svr is None or score > best_r:  # ties keep the earlier bin
                best_r, best_svr, best_bin = score, svr, b
        self.bin_ = best_bin
        self.svr_ = best_svr
        self.history_ = history
        self.selection_ = {"bin": best_bin, "valid_pearson": history[best_bin]["valid_pearson"]}
        return self

    def predict(self, x_a, x_b) -> np.ndarray:
        f = self._scale(self._check_pair(x_a, x_b))
        pred = svr_predict(self.svr_, f[:, self.bin_, :])
        return (pred * self.y_std_ + self.y_mean_).astype(np.float64)


@register_model("SVRTwoLayer", framework="sklearn")
class SVRTwoLayer(_DiffBaseline):
    """Bin-specific RBF SVRs (layer 1), then an RBF SVR on their per-bin predictions (layer 2).

    Layer 2 is fitted on out-of-fold layer-1 predictions of the training genes (``n_folds`` seeded
    shuffled folds: each gene's per-bin predictions come from SVRs fitted without it); layer 1 is then
    refitted on all training genes for prediction. Validation genes only report.

    Args:
        n_marks: marks per cell.
        n_bins: bins per mark.
        features: what each bin's SVR sees of that bin (``FEATURE_SETS``): ``difference`` (default, Cheng &
            Gerstein's: each mark's log2(B+1) - log2(A+1)) or ``levels_and_diff`` (both cells' levels as well).
        C, epsilon, gamma: layer-1 SVR settings (standardised LFC).
        C2, epsilon2, gamma2: layer-2 SVR settings.
        n_folds: folds of the cross-fitting that produces layer 2's training inputs (>= 2).
        cache_size: libsvm kernel cache (MB).
        random_state: seed of the fold assignment (``fit``'s ``seed`` when ``None``).

    Attributes after ``fit``: ``layer1_`` (``n_bins`` SVRs), ``layer2_``, ``folds_`` (fold index of
    each training gene), ``selection_``, ``history_``.
    """

    def __init__(
        self,
        n_marks: int = 5,
        n_bins: int = 200,
        features: str = "difference",
        C: float = 1.0,  # noqa: N803 - scikit-learn's name
        epsilon: float = 0.1,
        gamma: str | float = "scale",
        C2: float = 1.0,  # noqa: N803
        epsilon2: float = 0.1,
        gamma2: str | float = "scale",
        n_folds: int = 3,
        cache_size: float = 200.0,
        random_state: int | None = None,
    ) -> None:
        self.n_marks = n_marks
        self.n_bins = n_bins
        self.features = features
        self.C = C
        self.epsilon = epsilon
        self.gamma = gamma
        self.C2 = C2
        self.epsilon2 = epsilon2
        self.gamma2 = gamma2
        self.n_folds = n_folds
        self.cache_size = cache_size
        self.random_state = random_state

    def fold_assignment(self, n_genes: int, seed: int) -> np.ndarray:
        """Fold index (0 .. n_folds - 1) of each of ``n_genes`` training genes: seeded shuffled KFold."""
        if int(self.n_folds) < 2 or n_genes < int(self.n_folds):
            raise InputError(f"n_folds must be >= 2 and <= the training genes ({n_genes}), got {self.n_folds}")
        folds = np.empty(n_genes, dtype=np.int64)
        kf = KFold(n_splits=int(self.n_folds), shuffle=True, random_state=seed)
        for k, (_, held) in enumerate(kf.split(np.arange(n_genes))):
            folds[held] = k
        return folds

    def _layer1_oof(self, f: np.ndarray, y_s: np.ndarray, folds: np.ndarray) -> np.ndarray:
        """Out-of-fold per-bin predictions ``(genes, bins)`` of the training genes."""
        oof = np.empty((f.shape[0], self.n_bins), dtype=np.float64)
        for k in range(int(self.n_folds)):
            held = folds == k
            for b in range(self.n_bins):
                svr = self._fit_svr(f[~held, b, :], y_s[~held], self.C, self.epsilon, self.gamma)
                oof[held, b] = svr_predict(svr, f[held, b, :])
        return oof

    def _layer1_predict(self, f: np.ndarray) -> np.ndarray:
        return np.stack([svr_predict(svr, f[:, b, :]) for b, svr in enumerate(self.layer1_)], axis=1)

    def fit(self, x_a, x_b, y, *, valid, seed: int = 0) -> SVRTwoLayer:
        self.seed_ = self._seed(seed)
        f, f_v, y_t, y_v = self._prepare(x_a, x_b, y, valid)
        y_s = (y_t - self.y_mean_) / self.y_std_
        self.folds_ = self.fold_assignment(f.shape[0], self.seed_)
        oof = self._layer1_oof(f, y_s, self.folds_)
        self.layer2_ = self._fit_svr(oof, y_s, self.C2, self.epsilon2, self.gamma2)
        self.layer1_ = [self._fit_svr(f[:, b, :], y_s, self.C, self.epsilon, self.gamma) for b in range(self.n_bins)]
        per_bin_v = self._layer1_predict(f_v)
        r = pearson(svr_predict(self.layer2_, per_bin_v), y_v)
        bin_r = [pearson(per_bin_v[:, b], y_v) for b in range(self.n_bins)]
        best_bin = _best(bin_r)
        self.history_ = [{"n_folds": int(self.n_folds), "valid_pearson": r}]
        self.selection_ = {
            "n_folds": int(self.n_folds),
            "valid_pearson": r,
            "layer1_best_bin": best_bin,
            "layer1_best_bin_valid_pearson": bin_r[best_bin],
        }
        return self

    def predict(self, x_a, x_b) -> np.ndarray:
        f = self._scale(self._check_pair(x_a, x_b))
        pred = svr_predict(self.layer2_, self._layer1_predict(f))
        return (pred * self.y_std_ + self.y_mean_).astype(np.float64)


@register_model("ReliefFRandomForest", framework="sklearn")
class ReliefFRandomForest(_DiffBaseline):
    """ReliefF feature selection on window-averaged pair features, then a random forest regressor.

    The (features, trees) pair with the best validation Pearson r over ``feature_grid`` x
    ``tree_grid`` is kept. Flattened columns are ``kind_mark * n_windows + window`` (see
    ``feature_names_``), each the mean over a window of consecutive bins of the standardised
    :func:`pair_features` column.

    Args:
        n_marks: marks per cell.
        n_bins: bins per mark.
        feature_grid: candidate numbers of ReliefF-selected features (capped at those available).
        tree_grid: candidate numbers of trees.
        n_windows: windows of consecutive bins averaged into one feature (``n_bins`` = per bin).
        relief_neighbors: ReliefF's k nearest hits / misses.
        relief_max_genes: ReliefF runs on a seeded subsample of at most this many training genes.
        max_features: features tried per split (a third, Breiman's regression default).
        min_samples_leaf: smallest leaf (5, Breiman's regression default).
        n_jobs: parallel jobs of the forest.
        random_state: seed of the subsample and the forest (``fit``'s ``seed`` when ``None``).

    Attributes after ``fit``: ``relief_scores_`` (ReliefF score per column, ``-inf`` for columns
    constant on the subsample), ``ranking_`` (columns best first), ``selected_`` (the chosen
    columns), ``forest_``, ``selection_`` ``{"features", "trees", "valid_pearson"}``, ``history_``.
    """

    def __init__(
        self,
        n_marks: int = 5,
        n_bins: int = 200,
        feature_grid: Sequence[int] = (50, 70, 100),
        tree_grid: Sequence[int] = (10, 50, 100, 150, 200),
        n_windows: int = 20,
        relief_neighbors: int = 10,
        relief_max_genes: int = 1000,
        max_features: float | str | None = 1.0 / 3.0,
        min_samples_leaf: int = 5,
        n_jobs: int | None = 1,
        random_state: int | None = None,
    ) -> None:
        self.n_marks = n_marks
        self.n_bins = n_bins
        self.feature_grid = feature_grid
        self.tree_grid = tree_grid
        self.n_windows = n_windows
        self.relief_neighbors = relief_neighbors
        self.relief_max_genes = relief_max_genes
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _windows(self) -> list[np.ndarray]:
        n_windows = int(self.n_windows)
        if not 1 <= n_windows <= self.n_bins:
            raise InputError(f"n_windows must be in 1..{self.n_bins}, got {self.n_windows}")
        return np.array_split(np.arange(self.n_bins), n_windows)

    def window_features(self, f: np.ndarray) -> np.ndarray:
        """Standardised per-bin features ``(genes, bins, F)`` -> flattened window means
        ``(genes, F * n_windows)``, column ``feature * n_windows + window``."""
        pooled = np.stack([f[:, idx, :].mean(axis=1) for idx in self._windows()], axis=2)  # (genes, F, W)
        return np.ascontiguousarray(pooled.reshape(f.shape[0], -1))

    def _relief(self, X: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:  # noqa: N803
        from skrebate import ReliefF

        n = X.shape[0]
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(n, size=min(n, int(self.relief_max_genes)), replace=False))
        Xs, ys = X[rows], y[rows]  # noqa: N806
        if np.unique(ys).size < 2:
            raise InputError("ReliefF needs at least two distinct LFC values among the training genes")
        varying = np.flatnonzero(np.ptp(Xs, axis=0) > 0)
        scores = np.full(X.shape[1], -np.inf)
        if varying.size:
            relief = ReliefF(
                n_features_to_select=varying.size,
                n_neighbors=int(self.relief_neighbors),
                categorical_features=[],
                label_type="continuous",
                n_jobs=1,
            )
            relief.fit(np.array(Xs[:, varying], dtype=np.float64), ys)
            scores[varying] = relief.feature_importances_
        return scores

    def fit(self, x_a, x_b, y, *, valid, seed: int = 0) -> ReliefFRandomForest:
        self.seed_ = self._seed(seed)
        f, f_v, y_t, y_v = self._prepare(x_a, x_b, y, valid)
        X = self.window_features(f)  # noqa: N806
        X_v = self.window_features(f_v).astype(np.float32)  # noqa: N806 - trees compare in float32
        n_cols = X.shape[1]
        self.feature_names_ = [
            f"{name}_w{w}" for name in feature_names(self.n_marks) for w in range(int(self.n_windows))
        ]
        self.relief_scores_ = self._relief(X, y_t, self.seed_)
        self.ranking_ = np.argsort(-self.relief_scores_, kind="stable")  # best first, ties by column
        feature_counts = sorted({min(int(k), n_cols) for k in self.feature_grid})
        tree_counts = sorted({int(t) for t in self.tree_grid})
        if not feature_counts or not tree_counts or min(feature_counts) < 1 or min(tree_counts) < 1:
            raise InputError("feature_grid and tree_grid must hold positive integers")
        history: list[dict[str, Any]] = []
        best: tuple[float, int, int] | None = None
        chosen: tuple[RandomForestRegressor, np.ndarray, int] | None = None
        for k in feature_counts:
            cols = self.ranking_[:k]
            forest = RandomForestRegressor(
                n_estimators=tree_counts[-1],
                max_features=self.max_features,
                min_samples_leaf=self.min_samples_leaf,
                n_jobs=self.n_jobs,
                random_state=self.seed_,
            ).fit(X[:, cols], y_t)
            per_tree = np.stack([tree.predict(X_v[:, cols]) for tree in forest.estimators_])
            running = np.cumsum(per_tree, axis=0)
            for t in tree_counts:
                r = pearson(running[t - 1] / t, y_v)
                history.append({"features": k, "trees": t, "valid_pearson": r})
                score = r if np.isfinite(r) else -np.inf
                if best is None or score > best[0]:  # ties keep the earlier (smaller) candidate
                    best = (score, k, t)
                    chosen = (forest, cols.copy(), t)
        forest, cols, t = chosen
        forest.estimators_ = forest.estimators_[:t]  # the first t trees = a fresh t-tree fit
        forest.n_estimators = t
        self.forest_ = forest
        self.selected_ = cols
        self.history_ = history
        r_best = next(h["valid_pearson"] for h in history if h["features"] == len(cols) and h["trees"] == t)
        self.selection_ = {"features": len(cols), "trees": t, "valid_pearson": r_best}
        return self

    def predict(self, x_a, x_b) -> np.ndarray:
        f = self._scale(self._check_pair(x_a, x_b))
        X = self.window_features(f)  # noqa: N806
        return self.forest_.predict(X[:, self.selected_]).astype(np.float64)
