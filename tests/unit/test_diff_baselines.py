"""DeepDiff's scikit-learn baselines (chromexpr.models.diff_baselines) on tiny synthetic pairs."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.svm import SVR

from chromexpr.errors import InputError
from chromexpr.models import build_model, load_card
from chromexpr.models import diff_baselines as db  # registers the three classes

N_MARKS, N_BINS = 5, 8
SIGNAL_MARK, SIGNAL_BIN = 1, 5
# flattened window-feature column of log_diff (kind 2) of the signal mark at the signal bin, 8 windows
SIGNAL_COLUMN = (2 * N_MARKS + SIGNAL_MARK) * N_BINS + SIGNAL_BIN


def make_pair(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Poisson counts; the LFC is twice the log2 signal difference of one mark in one bin, plus noise."""
    rng = np.random.default_rng(seed)
    x_a = rng.poisson(6.0, (n, N_MARKS, N_BINS)).astype(np.float32)
    x_b = rng.poisson(6.0, (n, N_MARKS, N_BINS)).astype(np.float32)
    diff = np.log2(x_b[:, SIGNAL_MARK, SIGNAL_BIN] + 1.0) - np.log2(x_a[:, SIGNAL_MARK, SIGNAL_BIN] + 1.0)
    y = 2.0 * diff + rng.normal(0.0, 0.1, n)
    return x_a, x_b, y


@pytest.fixture(scope="module")
def data():
    return {"train": make_pair(60, 0), "valid": make_pair(30, 1), "test": make_pair(30, 2)}


def fit(model, data, seed: int = 0):
    x_a, x_b, y = data["train"]
    return model.fit(x_a, x_b, y, valid=data["valid"], seed=seed)


def test_pair_features_by_hand():
    x_a = np.array([[[0, 1], [3, 7]]], dtype=np.float32)  # 1 gene, 2 marks, 2 bins
    x_b = np.array([[[1, 3], [0, 15]]], dtype=np.float32)
    feats = db.pair_features(x_a, x_b)
    # per bin: [log2(A+1) m0, m1, log2(B+1) m0, m1, diff m0, m1]
    expected = np.array([[[0, 2, 1, 0, 1, -2], [1, 3, 2, 4, 1, 1]]], dtype=np.float64)
    assert feats.shape == (1, 2, 6) and feats.dtype == np.float64
    np.testing.assert_array_equal(feats, expected)
    assert db.feature_names(2) == ["log_a_m0", "log_a_m1", "log_b_m0", "log_b_m1", "log_diff_m0", "log_diff_m1"]
    with pytest.raises(InputError):
        db.pair_features(x_a, -x_b)
    with pytest.raises(InputError):
        db.pair_features(x_a, x_b[:, :, :1])


def test_svr_predict_matches_sklearn():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(40, 6)), rng.normal(size=40)  # noqa: N806
    gamma = db.rbf_gamma("scale", X)
    assert gamma == pytest.approx(1.0 / (6 * X.var()))
    svr = SVR(gamma=gamma).fit(X, y)
    X_new = rng.normal(size=(25, 6))  # noqa: N806
    np.testing.assert_allclose(db.svr_predict(svr, X_new), svr.predict(X_new), rtol=0, atol=1e-10)
    np.testing.assert_allclose(svr.predict(X_new), SVR().fit(X, y).predict(X_new), rtol=0, atol=1e-12)


def test_best_bin_picks_the_signal_bin(data):
    model = fit(db.SVRBestBin(n_marks=N_MARKS, n_bins=N_BINS), data)
    assert model.selection_["bin"] == SIGNAL_BIN == model.bin_
    assert [h["bin"] for h in model.history_] == list(range(N_BINS))
    r = {h["bin"]: h["valid_pearson"] for h in model.history_}
    assert model.selection_["valid_pearson"] == r[SIGNAL_BIN] > 0.85  # 0.892 by hand
    assert max(abs(v) for b, v in r.items() if b != SIGNAL_BIN) < 0.5  # noise bins: at most 0.43 by hand
    x_a, x_b, y = data["test"]
    pred = model.predict(x_a, x_b)
    assert pred.shape == (30,) and pred.dtype == np.float64
    assert db.pearson(pred, y) > 0.8  # 0.847 by hand
    # predictions are in LFC units: the SVR on the standardised target, mapped back
    f = model._scale(db.pair_features(x_a, x_b))[:, SIGNAL_BIN, :]
    np.testing.assert_allclose(pred, model.svr_.predict(f) * model.y_std_ + model.y_mean_, atol=1e-9)
    assert model.y_mean_ == pytest.approx(data["train"][2].mean())


def test_two_layer_fits_layer2_on_out_of_fold_predictions(data):
    model = fit(db.SVRTwoLayer(n_marks=N_MARKS, n_bins=N_BINS, n_folds=3, random_state=7), data, seed=0)
    assert model.seed_ == 7  # random_state wins over fit's seed
    folds = model.folds_
    assert folds.shape == (60,) and np.bincount(folds).tolist() == [20, 20, 20]
    np.testing.assert_array_equal(folds, model.fold_assignment(60, 7))
    assert not np.array_equal(folds, model.fold_assignment(60, 8))
    assert len(model.layer1_) == N_BINS and model.layer2_.n_features_in_ == N_BINS

    # rebuild the out-of-fold matrix by hand: per fold and bin, an SVR fitted on the other folds, on that bin's
    # difference columns (features: difference, the default: columns 10-14 of pair_features)
    assert model.features == "difference" and model.feature_mean_.shape == (N_BINS, N_MARKS)
    x_a, x_b, y = data["train"]
    f = model._scale(db.pair_features(x_a, x_b)[:, :, 2 * N_MARKS :])
    y_s = (y - y.mean()) / y.std()
    oof = np.empty((60, N_BINS))
    for k in range(3):
        held = folds == k
        for b in range(N_BINS):
            X = f[~held, b, :]  # noqa: N806
            svr = SVR(kernel="rbf", gamma=db.rbf_gamma("scale", X)).fit(X, y_s[~held])
            oof[held, b] = svr.predict(f[held, b, :])
    in_sample = np.stack([svr.predict(f[:, b, :]) for b, svr in enumerate(model.layer1_)], axis=1)
    sv, idx = model.layer2_.support_vectors_, model.layer2_.support_
    np.testing.assert_allclose(sv, oof[idx], atol=1e-9)  # layer 2 saw the out-of-fold predictions...
    assert np.abs(sv - in_sample[idx]).max() > 1e-3  # ...not layer 1's in-sample ones

    assert model.history_ == [{"n_folds": 3, "valid_pearson": model.selection_["valid_pearson"]}]
    assert model.selection_["layer1_best_bin"] == SIGNAL_BIN
    xt_a, xt_b, yt = data["test"]
    pred = model.predict(xt_a, xt_b)
    assert pred.shape == (30,) and db.pearson(pred, yt) > 0.75  # 0.784 measured (0.850 on all 15 features)
    again = fit(db.SVRTwoLayer(n_marks=N_MARKS, n_bins=N_BINS, n_folds=3), data, seed=7)
    np.testing.assert_array_equal(again.predict(xt_a, xt_b), pred)  # deterministic given the seed


def test_relieff_rf_grid_and_determinism(data):
    make = lambda: db.ReliefFRandomForest(n_marks=N_MARKS, n_bins=N_BINS, n_windows=N_BINS)  # noqa: E731
    model = fit(make(), data, seed=3)
    assert len(model.feature_names_) == 15 * N_BINS == 120
    assert model.feature_names_[SIGNAL_COLUMN] == f"log_diff_m{SIGNAL_MARK}_w{SIGNAL_BIN}"
    assert model.ranking_[0] == SIGNAL_COLUMN  # ReliefF puts the signal feature first
    grid = [(h["features"], h["trees"]) for h in model.history_]
    assert grid == [(k, t) for k in (50, 70, 100) for t in (10, 50, 100, 150, 200)]
    best = max(model.history_, key=lambda h: h["valid_pearson"])
    assert model.selection_ == best
    assert len(model.selected_) == best["features"] and len(model.forest_.estimators_) == best["trees"]
    np.testing.assert_array_equal(model.selected_, model.ranking_[: best["features"]])

    # the chosen forest (first trees of the largest one) equals a fresh fit of that size
    x_a, x_b, y = data["train"]
    X = model.window_features(model._scale(db.pair_features(x_a, x_b)))[:, model.selected_]  # noqa: N806
    fresh = RandomForestRegressor(
        n_estimators=best["trees"], max_features=1 / 3, min_samples_leaf=5, random_state=3, n_jobs=1
    ).fit(X, y)
    xt_a, xt_b, yt = data["test"]
    Xt = model.window_features(model._scale(db.pair_features(xt_a, xt_b)))[:, model.selected_]  # noqa: N806
    pred = model.predict(xt_a, xt_b)
    np.testing.assert_allclose(pred, fresh.predict(Xt), rtol=0, atol=1e-12)
    assert db.pearson(pred, yt) > 0.9  # 0.946 by hand

    again = fit(make(), data, seed=3)
    assert again.history_ == model.history_
    np.testing.assert_array_equal(again.predict(xt_a, xt_b), pred)
    other = fit(make(), data, seed=4)
    assert other.history_ != model.history_


@pytest.mark.parametrize(("n_windows", "counts"), [(4, [50, 60]), (2, [30])])
def test_relieff_rf_caps_the_feature_grid(data, n_windows, counts):
    model = db.ReliefFRandomForest(n_marks=N_MARKS, n_bins=N_BINS, n_windows=n_windows, tree_grid=(10, 20))
    fit(model, data)
    assert len(model.feature_names_) == 15 * n_windows
    assert [(h["features"], h["trees"]) for h in model.history_] == [(k, t) for k in counts for t in (10, 20)]


def test_models_pickle_and_predict_identically(data):
    xt_a, xt_b, _ = data["test"]
    models = [
        db.SVRBestBin(n_marks=N_MARKS, n_bins=N_BINS),
        db.SVRTwoLayer(n_marks=N_MARKS, n_bins=N_BINS, n_folds=2),
        db.ReliefFRandomForest(n_marks=N_MARKS, n_bins=N_BINS, n_windows=4, tree_grid=(10,)),
    ]
    for model in models:
        fit(model, data)
        restored = pickle.loads(pickle.dumps(model))
        np.testing.assert_array_equal(restored.predict(xt_a, xt_b), model.predict(xt_a, xt_b))
        assert restored.selection_ == model.selection_ and restored.history_ == model.history_


def test_fit_needs_validation_and_matching_shapes(data):
    x_a, x_b, y = data["train"]
    model = db.SVRBestBin(n_marks=N_MARKS, n_bins=N_BINS + 1)
    with pytest.raises(InputError):
        model.fit(x_a, x_b, y, valid=data["valid"])
    with pytest.raises(InputError):
        db.SVRBestBin(n_marks=N_MARKS, n_bins=N_BINS).fit(x_a, x_b, y, valid=None)


def test_two_layer_features_difference_sees_only_each_marks_difference(data):
    # scaling both cells' (count + 1) by the same factor leaves every log2 difference as it was: the difference
    # model predicts the same, the levels model does not
    x_a, x_b, _ = data["test"]
    xa2, xb2 = 4 * (x_a + 1) - 1, 4 * (x_b + 1) - 1  # log2(4 (c + 1)) = 2 + log2(c + 1)
    kw = {"n_marks": N_MARKS, "n_bins": N_BINS, "n_folds": 3}
    diff = fit(db.SVRTwoLayer(**kw), data)
    levels = fit(db.SVRTwoLayer(features="levels_and_diff", **kw), data)
    np.testing.assert_allclose(diff.predict(xa2, xb2), diff.predict(x_a, x_b), atol=1e-9)
    assert np.abs(levels.predict(xa2, xb2) - levels.predict(x_a, x_b)).max() > 1e-3
    np.testing.assert_array_equal(diff._check_pair(x_a, x_b), db.pair_features(x_a, x_b)[:, :, 10:15])
    np.testing.assert_array_equal(levels._check_pair(x_a, x_b), db.pair_features(x_a, x_b))
    # a file of an older chromexpr has no 'features': it took all three kinds
    old = pickle.loads(pickle.dumps(levels))
    del old.features
    np.testing.assert_array_equal(old.predict(x_a, x_b), levels.predict(x_a, x_b))
    with pytest.raises(InputError, match="unknown features 'nosuch'") as err:
        fit(db.SVRTwoLayer(features="nosuch", **kw), data)
    assert "hyperparameters.features" in str(err.value)


@pytest.mark.parametrize(
    ("card", "cls"),
    [
        ("svr_best_bin", db.SVRBestBin),
        ("svr_two_layer", db.SVRTwoLayer),
        ("svr_two_layer_levels", db.SVRTwoLayer),
        ("relieff_rf", db.ReliefFRandomForest),
    ],
)
def test_cards_build(card, cls):
    data = load_card(card)
    assert data["task"] == "differential" and data["framework"] == "sklearn"
    assert data["input"]["marks"] == ["H3K4me1", "H3K4me3", "H3K9me3", "H3K27me3", "H3K36me3"]
    assert data["training"]["selection_metric"] == "valid_pearson"
    model = build_model(card, overrides={"random_state": 5})
    assert type(model) is cls
    assert (model.n_marks, model.n_bins, model.random_state) == (5, 200, 5)
    if cls is db.ReliefFRandomForest:
        assert list(model.feature_grid) == [50, 70, 100]
        assert list(model.tree_grid) == [10, 50, 100, 150, 200]
        assert model.max_features == pytest.approx(1 / 3)
    else:
        assert (model.C, model.epsilon, model.gamma) == (1.0, 0.1, "scale")
