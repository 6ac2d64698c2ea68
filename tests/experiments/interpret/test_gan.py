"""Tests of chromexpr.experiments.interpret.gan: DeepChrome 2.0's GAN Monte-Carlo visualization and Table 1 (CPU,
tiny)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chromexpr.errors import InputError
from chromexpr.experiments.interpret import gan as gan_module
from chromexpr.experiments.interpret.gan import (
    GanModel,
    monte_carlo,
    normalize_profiles,
    published_sanity,
    sample_gan,
    sanity_table,
    train_gan,
)

GENES, MARKS, BINS = 256, 5, 20


def _counts(seed: int = 0) -> np.ndarray:
    """Heavy-ish tailed non-negative counts ``(256, 5, 20)`` float32."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(0.5, 4.0, size=(GENES, MARKS, 1))  # (genes, marks, 1)
    return rng.poisson(rate * np.ones((1, 1, BINS))).astype(np.float32)


def _bimodal(seed: int = 0) -> np.ndarray:
    """Two kinds of genes: marks 0 and 2 high, or marks 1 and 3 high ``(256, 5, 20)`` float32 counts."""
    rng = np.random.default_rng(seed)
    first = rng.random(GENES) < 0.5
    rate = np.where(first[:, None], [8.0, 0.5, 6.0, 0.5, 1.0], [0.5, 6.0, 0.5, 8.0, 1.0])  # (genes, marks)
    return rng.poisson(rate[:, :, None] * np.ones((1, 1, BINS))).astype(np.float32)


def _classify(x: np.ndarray) -> np.ndarray:
    """P(expressed) = sigmoid(mean of mark 0 - mean of mark 1), per input."""
    return 1.0 / (1.0 + np.exp(-(x[:, 0].mean(axis=1) - x[:, 1].mean(axis=1))))


@pytest.fixture(scope="module")
def x_counts() -> np.ndarray:
    return _counts()


@pytest.fixture(scope="module")
def gan(x_counts) -> GanModel:
    return train_gan(x_counts, epochs=2, batch_size=64, seed=0)


def _same_state(a: GanModel, b: GanModel) -> bool:
    return a.generator_state.keys() == b.generator_state.keys() and all(
        torch.equal(a.generator_state[k], b.generator_state[k]) for k in a.generator_state
    )


def test_train_gan_is_seeded(x_counts, gan):
    again = train_gan(x_counts, epochs=2, batch_size=64, seed=0)
    other = train_gan(x_counts, epochs=2, batch_size=64, seed=1)
    assert _same_state(gan, again)
    assert not _same_state(gan, other)
    assert gan.g_loss == again.g_loss and gan.d_loss == again.d_loss
    assert len(gan.g_loss) == len(gan.d_loss) == 2
    assert np.isfinite(gan.g_loss).all() and np.isfinite(gan.d_loss).all()
    assert (gan.marks, gan.bins, gan.latent, gan.transform) == (MARKS, BINS, 32, "log1p")
    np.testing.assert_allclose(gan.center, np.log1p(x_counts.astype(np.float64)).mean(axis=(0, 2)))
    assert not gan.generator().training


def test_global_rng_untouched(x_counts):
    torch_state = torch.get_rng_state()
    model = train_gan(x_counts, epochs=1, batch_size=64, seed=3)
    sample_gan(model, 50, seed=4)
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_sample_gan(gan, x_counts):
    a = sample_gan(gan, 300, seed=5)
    assert a.shape == (300, MARKS, BINS) and a.dtype == np.float32
    np.testing.assert_array_equal(a, sample_gan(gan, 300, seed=5))
    np.testing.assert_array_equal(a, sample_gan(gan, 300, seed=5, batch_size=7))
    np.testing.assert_array_equal(a[:100], sample_gan(gan, 100, seed=5))
    assert not np.array_equal(a, sample_gan(gan, 300, seed=6))
    assert a.min() >= 0  # trained on counts: expm1 clamped at 0
    assert (a.max(axis=(0, 2)) <= x_counts.max(axis=(0, 2)) * (1 + 1e-5)).all()  # clipped to the data's range
    assert np.unique(a).size > 100  # not collapsed to the clip bounds


def test_sample_gan_across_chunks(gan, monkeypatch):
    monkeypatch.setattr(gan_module, "SAMPLE_CHUNK", 16)
    whole = sample_gan(gan, 50, seed=2)
    np.testing.assert_array_equal(whole, sample_gan(gan, 50, seed=2, batch_size=7))
    np.testing.assert_array_equal(whole[:20], sample_gan(gan, 20, seed=2, batch_size=3))
    assert not np.array_equal(whole[:16], whole[16:32])  # each chunk draws its own latents


def test_zscore_inputs_use_identity():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((128, MARKS, BINS)).astype(np.float32) * np.arange(1, 6, dtype=np.float32)[:, None]
    model = train_gan(x, epochs=1, batch_size=32, seed=0)
    assert model.transform == "identity"
    np.testing.assert_allclose(model.scale, x.astype(np.float64).std(axis=(0, 2)))
    y = sample_gan(model, 200, seed=0)
    assert y.min() < 0 < y.max()
    assert (y.min(axis=(0, 2)) >= x.min(axis=(0, 2)) - 1e-5).all()
    with pytest.raises(InputError):
        train_gan(x, epochs=1, transform="log1p")


def _brute_force(model: GanModel, n: int, k: int, seed: int) -> dict[str, np.ndarray]:
    x = sample_gan(model, n, seed=seed)
    p = _classify(x)
    out = {}
    for c, order in (("expressed", np.argsort(-p, kind="stable")), ("not_expressed", np.argsort(p, kind="stable"))):
        top = order[:k]
        out[f"{c}_index"] = top
        out[f"{c}_probability"] = p[top]
        out[f"{c}_maps"] = x[top].astype(np.float64).mean(axis=0)
        out[f"{c}_mean"] = out[f"{c}_maps"].mean(axis=1)
    peak = np.maximum(np.abs(out["expressed_mean"]), np.abs(out["not_expressed_mean"]))
    out["expressed"] = out["expressed_mean"] / peak
    out["not_expressed"] = out["not_expressed_mean"] / peak
    return out


def test_monte_carlo_matches_brute_force(gan):
    n, k = 600, 10
    expected = _brute_force(gan, n, k, seed=3)
    small = monte_carlo(_classify, gan, n_samples=n, top_k=k, seed=3, batch_size=7)
    large = monte_carlo(_classify, gan, n_samples=n, top_k=k, seed=3, batch_size=10000)
    for key, value in expected.items():
        np.testing.assert_array_equal(small[key], value, err_msg=key)
        np.testing.assert_array_equal(large[key], value, err_msg=key)
    assert small["expressed_maps"].shape == small["not_expressed_maps"].shape == (MARKS, BINS)
    assert small["expressed"].shape == small["not_expressed"].shape == (MARKS,)
    assert (small["n_samples"], small["top_k"]) == (n, k)
    # the classes are what the classifier says: mark 0 over mark 1 when expressed, the reverse when not
    assert small["expressed_probability"].min() > small["not_expressed_probability"].max()
    assert small["expressed_mean"][0] > small["not_expressed_mean"][0]
    assert small["expressed_mean"][1] < small["not_expressed_mean"][1]
    # Fig. 4 normalization: per mark, the larger of the two classes is exactly 1 (counts are non-negative)
    np.testing.assert_array_equal(np.maximum(small["expressed"], small["not_expressed"]), np.ones(MARKS))
    assert (small["expressed"] >= 0).all() and (small["not_expressed"] >= 0).all()


def test_monte_carlo_across_chunks(gan, monkeypatch):
    monkeypatch.setattr(gan_module, "SAMPLE_CHUNK", 32)
    expected = _brute_force(gan, 200, 5, seed=1)
    got = monte_carlo(_classify, gan, n_samples=200, top_k=5, seed=1, batch_size=13)
    for key, value in expected.items():
        np.testing.assert_array_equal(got[key], value, err_msg=key)


def test_monte_carlo_ties_and_errors(gan):
    constant = monte_carlo(lambda x: np.full(len(x), 0.5), gan, n_samples=50, top_k=4, seed=0, batch_size=9)
    np.testing.assert_array_equal(constant["expressed_index"], np.arange(4))  # ties go to the earlier sample
    np.testing.assert_array_equal(constant["not_expressed_index"], np.arange(4))
    with pytest.raises(InputError):
        monte_carlo(_classify, gan, n_samples=5, top_k=6)
    with pytest.raises(InputError):
        monte_carlo(lambda x: np.zeros(len(x) + 1), gan, n_samples=10, top_k=2)
    with pytest.raises(InputError):
        monte_carlo(lambda x: np.full(len(x), np.nan), gan, n_samples=10, top_k=2)


def test_normalize_profiles():
    e, ne = normalize_profiles(np.array([2.0, 0.0, -1.0, 0.0]), np.array([1.0, 3.0, -4.0, 0.0]))
    np.testing.assert_array_equal(e, [1.0, 0.0, -0.25, 0.0])
    np.testing.assert_array_equal(ne, [0.5, 1.0, -1.0, 0.0])


def test_sanity_table(gan, x_counts):
    rows = sanity_table(lambda x: np.full(len(x), 0.25), x_counts, gan, n=100, seed=0)
    assert [r["input"] for r in rows] == ["real", "gan", "random"]
    for r in rows:
        assert r["n"] == 100
        assert r["mean_positive"] == pytest.approx(0.25, abs=1e-12)
        assert r["mean_negative"] == pytest.approx(0.75, abs=1e-12)
        assert (r["published_positive"], r["published_negative"]) == published_sanity()[r["input"]]
    # DeepChrome 2.0 Table 1, read from the card of deepchrome_avgpool
    assert published_sanity() == {"real": (0.30, 0.70), "gan": (0.31, 0.69), "random": (0.19, 0.81)}

    seen: list[np.ndarray] = []

    def recording(x: np.ndarray) -> np.ndarray:
        seen.append(x)
        return _classify(x)

    rows = sanity_table(recording, x_counts, gan, n=1000, seed=4)
    real, generated, random = seen
    np.testing.assert_array_equal(real, x_counts)  # fewer genes than n: all of them, in order
    np.testing.assert_array_equal(generated, sample_gan(gan, 1000, seed=4))
    low, high = x_counts.min(axis=(0, 2)), x_counts.max(axis=(0, 2))
    assert random.shape == (1000, MARKS, BINS)
    assert (random.min(axis=(0, 2)) >= low).all() and (random.max(axis=(0, 2)) <= high).all()
    np.testing.assert_allclose(random.mean(axis=(0, 2)), (low + high) / 2, rtol=0.02)  # uniform over the range
    for r, x in zip(rows, seen, strict=True):
        assert r["n"] == len(x)
        assert r["mean_positive"] + r["mean_negative"] == pytest.approx(1.0, abs=1e-12)
        assert r["mean_positive"] == pytest.approx(float(_classify(x).astype(np.float64).mean()), abs=1e-12)
    subset = sanity_table(lambda x: np.full(len(x), 0.25), x_counts, gan, n=50, seed=0)
    assert subset[0]["n"] == 50


def test_training_moves_samples_toward_the_data():
    x = _bimodal()
    untrained = sample_gan(train_gan(x, epochs=0, seed=0), 1000, seed=5)
    trained_gan = train_gan(x, epochs=12, batch_size=64, seed=0)
    trained = sample_gan(trained_gan, 1000, seed=5)
    target = x.mean(axis=(0, 2))
    error_untrained = np.abs(untrained.mean(axis=(0, 2)) - target).sum()
    error_trained = np.abs(trained.mean(axis=(0, 2)) - target).sum()
    assert error_trained < 0.9 * error_untrained
    # and it learned the two kinds of genes: marks 0 and 1 anti-correlated across samples, as in the data
    gene_means = trained.mean(axis=2)
    assert np.corrcoef(gene_means[:, 0], gene_means[:, 1])[0, 1] < -0.4
    assert len(trained_gan.g_loss) == 12
