"""Tests of chromexpr.models.regression_baselines: flattening, the correlated-feature selector by hand, the
linear regression on an exact linear target and the forests' reproducibility."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression

from chromexpr.errors import InputError
from chromexpr.models import Flatten, TopCorrelatedFeatures, build_model, count_parameters, load_card
from chromexpr.models.regression_baselines import pearson_r

CARDS = ["linear_regression", "random_forest_regression", "random_forest_correlated"]
SMALL = {"n_marks": 2, "n_bins": 5}  # 10 features


def _rows(n: int = 60, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 2, 5))  # (n, marks, bins)


@pytest.mark.parametrize("name", CARDS)
def test_cards(name: str) -> None:
    card = load_card(name)
    assert card["task"] == "regression" and card["framework"] == "sklearn"
    assert card["input"]["values"] == "signal" and card["input"]["bins"] == 100
    assert len(card["input"]["marks"]) == 5 and card["outputs"] == ["predict"]
    assert card["training"]["loss"] == "mse" and card["training"]["selection_metric"] == "fixed"
    assert all(card["training"][k] is None for k in ("optimizer", "lr", "batch_size", "max_epochs"))
    assert card["expected_parameters"] is None and card["deviations"] and card["citation"].strip()
    assert count_parameters(build_model(name)) is None  # unfitted


def test_published() -> None:
    assert load_card("linear_regression")["published"] == [
        {"source": "Team Jamaica paper", "metric": "mse", "value": 4.70}
    ]
    assert load_card("random_forest_regression")["published"] == []
    assert load_card("random_forest_correlated")["published"] == []


def test_flatten_is_c_order_and_checks_shape() -> None:
    x = np.arange(20.0).reshape(2, 2, 5)
    f = Flatten(**SMALL).fit(x)
    assert f.transform(x).tolist() == [list(range(10)), list(range(10, 20))]
    assert f.transform(x.reshape(2, 10)).shape == (2, 10)
    assert f.get_feature_names_out()[6] == "mark1_bin1"
    with pytest.raises(InputError, match=r"expected \(n, 10\) rows"):
        f.transform(np.zeros((2, 9)))
    with pytest.raises(InputError, match=r"got \(2, 5, 2\)"):
        f.transform(np.zeros((2, 5, 2)))


def test_pearson_by_hand() -> None:
    X = np.array([[1.0, 2.0, 5.0], [2.0, 1.0, 5.0], [3.0, 0.0, 5.0], [4.0, 3.0, 5.0]])  # noqa: N806
    y = np.array([1.0, 2.0, 3.0, 4.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = pearson_r(X, y)
        # column 2 mean of 0.1s is not exactly 0.1 in floating point: still constant, still 0
        r_const = pearson_r(np.full((3, 1), 0.1), [1.0, 2.0, 4.0])
        r_flat_y = pearson_r(X, np.ones(4))
    # column 1 centred (0.5, -0.5, -1.5, 1.5), y centred (-1.5, -0.5, 0.5, 1.5): 1 / sqrt(5 x 5) = 0.2
    assert r[0] == pytest.approx(1.0)
    assert r[1] == pytest.approx(0.2)
    assert r[2] == 0.0 and r_const.tolist() == [0.0] and r_flat_y.tolist() == [0.0, 0.0, 0.0]


def test_top_correlated_features_by_hand() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 10))  # noqa: N806
    y = rng.normal(size=200)
    X[:, 3] = y  # r = 1
    X[:, 7] = -y + rng.normal(0, 0.3, 200)  # r ~ -0.96
    X[:, 5] = 2.0  # constant: r = 0
    sel = TopCorrelatedFeatures(k=2).fit(X, y)
    assert sel.selected_.tolist() == [3, 7]
    assert sel.scores_.shape == (10,) and sel.scores_[3] == pytest.approx(1.0) and sel.scores_[7] < -0.9
    assert sel.scores_[5] == 0.0
    assert np.array_equal(sel.transform(X), X[:, [3, 7]])
    everything = TopCorrelatedFeatures(k=50).fit(X, y)
    assert len(everything.selected_) == 10 and everything.selected_[-1] == 5  # constant last
    assert sorted(everything.selected_.tolist()) == list(range(10))


def test_ties_keep_the_lower_column_first() -> None:
    y = np.array([1.0, 2.0, 3.0, 5.0])
    X = np.stack([np.zeros(4), 2 * y, -y, y + 1, np.zeros(4)], axis=1)  # noqa: N806 - |r| = 0, 1, 1, 1, 0
    sel = TopCorrelatedFeatures(k=4).fit(X, y)
    assert sel.selected_.tolist() == [1, 2, 3, 0]
    with pytest.raises(InputError, match="positive integer"):
        TopCorrelatedFeatures(k=0).fit(X, y)


def test_linear_regression_recovers_a_linear_target() -> None:
    x = _rows(80)
    w = np.random.default_rng(1).normal(size=10)
    y = x.reshape(80, 10) @ w + 0.5
    model = build_model("linear_regression", overrides=SMALL)
    assert isinstance(model.steps[-1][1], LinearRegression)
    model.fit(x, y)  # 3-D accepted
    assert np.mean((model.predict(x) - y) ** 2) < 1e-20
    assert np.mean((model.predict(x.reshape(80, 10)) - y) ** 2) < 1e-20
    assert count_parameters(model) == 11  # 10 coefficients + intercept
    with pytest.raises(InputError, match="flatten each gene"):
        model.predict(np.zeros((3, 11)))


@pytest.mark.parametrize("name", ["random_forest_regression", "random_forest_correlated"])
def test_forests_are_reproducible(name: str) -> None:
    x = _rows(60)
    y = x[:, 0, 2] * 2 - x[:, 1, 4]
    overrides = {**SMALL, "n_estimators": 5, "random_state": 7}
    a = build_model(name, overrides=overrides).fit(x, y)
    b = build_model(name, overrides=overrides).fit(x.reshape(60, 10), y)
    assert np.array_equal(a.predict(x), b.predict(x))
    forest = a.steps[-1][1]
    assert isinstance(forest, RandomForestRegressor) and forest.random_state == 7
    assert forest.max_features == 0.333 and forest.min_samples_leaf == 5 and forest.n_jobs == 1
    c = build_model(name, overrides={**overrides, "random_state": 8}).fit(x, y)
    assert not np.array_equal(a.predict(x), c.predict(x))
    with pytest.raises(InputError):
        a.predict(np.zeros((2, 3, 5)))


def test_correlated_forest_selects_the_driving_bins() -> None:
    x = _rows(100, seed=4)
    y = x[:, 0, 2] * 2 - x[:, 1, 4]  # columns 2 and 9 (C order: mark 1 bin 4 = 5 + 4)
    model = build_model("random_forest_correlated", overrides={**SMALL, "k": 2, "n_estimators": 3, "random_state": 0})
    assert model.get_params()["select__k"] == 2
    with pytest.raises(AttributeError):
        model.selected_features_  # noqa: B018 - not fitted yet
    model.fit(x, y)
    assert model.selected_features_.tolist() == [2, 9]
    assert model.steps[-1][1].n_features_in_ == 2
