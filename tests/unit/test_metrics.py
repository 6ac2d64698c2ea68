"""Tests for chromexpr.evaluation.metrics: the thin wrapper over scikit-learn (ties included),
hand-worked values, and degenerate splits giving NaN with a warning instead of an exception."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import accuracy_score, average_precision_score, roc_auc_score

from chromexpr.errors import InputError
from chromexpr.evaluation.metrics import (
    accuracy,
    auprc,
    auroc,
    classification_metrics,
)


def random_case(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random labels with both classes and scores with many ties (few distinct values)."""
    n = int(rng.integers(2, 400))
    y = rng.integers(0, 2, n)
    y[rng.choice(n, 2, replace=False)] = [0, 1]
    distinct = int(rng.integers(1, 30))
    score = rng.integers(0, distinct, n) / max(distinct - 1, 1)
    return y, score


@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_sklearn_on_random_data_with_ties(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        y, score = random_case(rng)
        assert auroc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
        assert auprc(y, score) == pytest.approx(average_precision_score(y, score), abs=1e-12)
        assert accuracy(y, score) == accuracy_score(y, score >= 0.5)


def test_agrees_with_sklearn_on_continuous_scores():
    rng = np.random.default_rng(42)
    y = rng.integers(0, 2, 5000)
    score = rng.normal(size=5000) + y  # informative, no ties
    assert auroc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert auprc(y, score) == pytest.approx(average_precision_score(y, score), abs=1e-12)


def test_hand_worked_values():
    # positives score 0.9 and 0.4, negatives 0.5 and 0.1: pairs (pos > neg) = 0.9>0.5, 0.9>0.1,
    # 0.4>0.1 -> 3 of 4 -> AUROC 0.75
    y, score = [1, 0, 1, 0], [0.9, 0.5, 0.4, 0.1]
    assert auroc(y, score) == 0.75
    # thresholds from the top: 0.9 (P 1/1, R 1/2), 0.5 (P 1/2, R 1/2), 0.4 (P 2/3, R 1)
    # AP = 0.5 * 1 + 0 * 0.5 + 0.5 * 2/3 = 5/6
    assert auprc(y, score) == pytest.approx(5 / 6)
    # calls at 0.5: 1 1 0 0 vs labels 1 0 1 0 -> 2 of 4 right
    assert accuracy(y, score) == 0.5
    assert accuracy(y, score, threshold=0.45) == 0.5  # 1 1 0 0 still
    assert accuracy(y, score, threshold=0.3) == 0.75  # 1 1 1 0 vs 1 0 1 0 -> 3 of 4


def test_all_scores_tied_is_chance():
    # every score equal: each pair counts 1/2 -> AUROC 0.5; one threshold: AP = positive fraction
    y = [1, 0, 0, 1, 1]
    assert auroc(y, [0.3] * 5) == 0.5
    assert auprc(y, [0.3] * 5) == pytest.approx(3 / 5)


@pytest.mark.parametrize("seed", range(3))
def test_wrapper_equals_sklearn_exactly_with_ties_any_label_dtype(seed):
    # the wrapper passes scores on unchanged: the very same float as scikit-learn, whatever dtype
    # the labels come in (bool, int8 as stored in a dataset, float 0/1) and with many tied scores
    rng = np.random.default_rng(100 + seed)
    for _ in range(25):
        y, score = random_case(rng)
        expected_auroc, expected_auprc = roc_auc_score(y, score), average_precision_score(y, score)
        for labels in (y, y.astype(np.int8), y.astype(bool), y.astype(np.float64)):
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                assert auroc(labels, score) == expected_auroc
                assert auprc(labels, score) == expected_auprc
        assert isinstance(auroc(y, score), float) and isinstance(auprc(y, score), float)


def test_degenerate_cases_never_reach_sklearn():
    # where scikit-learn raises or warns (UndefinedMetricWarning, depending on its version: one
    # class, no positive, a non-finite score), the wrapper gives NaN with its own RuntimeWarning,
    # exactly as the former numpy code did
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert np.isnan(auroc([1, 1, 1], [0.1, 0.2, 0.3]))
        assert np.isnan(auprc([0, 0, 0], [0.1, 0.2, 0.3]))
        assert np.isnan(auprc([0, 1], [np.inf, 0.2]))
    kinds = [w.category for w in caught]
    assert kinds == [RuntimeWarning] * 3
    assert not any(issubclass(k, UndefinedMetricWarning) for k in kinds)


@pytest.mark.parametrize("y", [[1, 1, 1], [0, 0, 0, 0], []])
def test_single_class_is_nan_with_a_warning(y):
    score = np.linspace(0, 1, len(y))
    with pytest.warns(RuntimeWarning, match="single class"):
        assert np.isnan(auroc(y, score))
    with pytest.warns(RuntimeWarning, match="single class"):
        assert np.isnan(auprc(y, score))


def test_single_class_split_still_gives_accuracy():
    with pytest.warns(RuntimeWarning):
        result = classification_metrics([1, 1, 1], [0.9, 0.2, 0.7])
    assert np.isnan(result["auroc"]) and np.isnan(result["auprc"])
    assert result["accuracy"] == pytest.approx(2 / 3)
    assert (result["n"], result["n_positive"]) == (3, 3)


def test_non_finite_scores_are_nan_with_a_warning():
    with pytest.warns(RuntimeWarning, match="NaN or infinite"):
        assert np.isnan(auroc([0, 1, 0, 1], [0.1, np.nan, 0.3, 0.8]))


def test_classification_metrics_keys_and_no_warning_on_good_input():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = classification_metrics(np.array([0, 1, 1, 0]), np.array([0.2, 0.8, 0.6, 0.4]))
    assert result == {"auroc": 1.0, "auprc": 1.0, "accuracy": 1.0, "n": 4, "n_positive": 2}


def test_bad_input_is_an_input_error():
    with pytest.raises(InputError, match="labels must be 0 or 1"):
        auroc([0, 2, 1], [0.1, 0.2, 0.3])
    with pytest.raises(InputError, match="3 labels but 2 scores"):
        auprc([0, 1, 1], [0.1, 0.2])


# --- regression ----------------------------------------------------------------------------------


def test_regression_metrics_by_hand() -> None:
    """y = (1, 2, 3, 4), prediction = (1, 3, 2, 5): errors 0, 1, -1, 1 -> MSE 3/4; SS_tot = 5 -> R^2 =
    1 - 3/5 = 0.4; Pearson r = S_yp / sqrt(S_yy S_pp) = 5.5 / sqrt(5 * 8.75) = 0.8315...; ranks (1,3,2,4) ->
    Spearman 1 - 6 * 2 / (4 * 15) = 0.8."""
    from chromexpr.evaluation.metrics import regression_metrics

    m = regression_metrics([1, 2, 3, 4], [1, 3, 2, 5])
    assert m["n"] == 4
    assert m["mse"] == pytest.approx(0.75)
    assert m["r2"] == pytest.approx(0.4)
    assert m["pearson"] == pytest.approx(5.5 / np.sqrt(5 * 8.75))
    assert m["spearman"] == pytest.approx(0.8)


def test_regression_metrics_agree_with_scipy_and_sklearn() -> None:
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics import mean_squared_error, r2_score

    from chromexpr.evaluation.metrics import regression_metrics

    rng = np.random.default_rng(3)
    y = rng.normal(size=200)
    p = 0.5 * y + rng.normal(size=200)
    m = regression_metrics(y, p)
    assert m["pearson"] == pytest.approx(pearsonr(y, p).statistic, abs=1e-12)
    assert m["spearman"] == pytest.approx(spearmanr(y, p).statistic, abs=1e-12)
    assert m["mse"] == pytest.approx(mean_squared_error(y, p), abs=1e-12)
    assert m["r2"] == pytest.approx(r2_score(y, p), abs=1e-12)


def test_regression_metrics_undefined_correlation_is_nan() -> None:
    from chromexpr.evaluation.metrics import regression_metrics

    with pytest.warns(RuntimeWarning, match="constant"):
        m = regression_metrics([1.0, 2.0, 3.0], [2.0, 2.0, 2.0])
    assert np.isnan(m["pearson"]) and np.isnan(m["spearman"])
    assert m["mse"] == pytest.approx(2 / 3)
    with pytest.raises(InputError, match="NaN"):
        regression_metrics([1.0, np.nan], [1.0, 2.0])
