"""Tests for chromexpr.preprocess.normalization (DESIGN.md section 4: median labels, per-mark z-score).

Every expected number is worked out by hand in the comment beside it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from chromexpr.errors import InputError
from chromexpr.preprocess.normalization import label_by_median, zscore_marks

# --------------------------------------------------------------------------------------------
# label_by_median
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "median", "labels"),
    [
        ([1, 2, 3, 4], 2.5, [0, 0, 1, 1]),  # even: (2 + 3) / 2 = 2.5
        ([5, 1, 3], 3.0, [1, 0, 1]),  # odd: sorted 1 3 5 -> 3; 3 >= 3 -> 1 (the median itself is 1)
        ([4, 1, 2, 2], 2.0, [1, 0, 1, 1]),  # sorted 1 2 2 4 -> (2 + 2) / 2 = 2; both 2s -> 1
        ([0, 0, 0, 7.5], 0.0, [1, 1, 1, 1]),  # median (0 + 0) / 2 = 0; every value >= 0
        ([2.0, 2.0, 2.0], 2.0, [1, 1, 1]),  # constant: all equal to the median
        ([0.1, 100.0], 50.05, [0, 1]),  # (0.1 + 100) / 2 = 50.05
        ([9], 9.0, [1]),  # a single gene is its own median
    ],
)
def test_label_by_median(expression: list[float], median: float, labels: list[int]) -> None:
    out, med = label_by_median(np.array(expression, dtype=np.float64))
    assert med == pytest.approx(median)
    assert out.tolist() == labels
    assert out.dtype == np.int8
    assert isinstance(med, float)


def test_label_by_median_rejects_empty_and_nan() -> None:
    with pytest.raises(InputError):
        label_by_median(np.array([]))
    with pytest.raises(InputError, match="NaN"):
        label_by_median(np.array([1.0, np.nan, 3.0]))
    with pytest.raises(InputError):
        label_by_median(np.array([1.0, np.inf]))


# --------------------------------------------------------------------------------------------
# zscore_marks
# --------------------------------------------------------------------------------------------

# (genes=2, marks=2, bins=2). Mark 0: values 1 3 5 7 -> mean 4, deviations -3 -1 1 3,
# population variance (9 + 1 + 1 + 9) / 4 = 5, sd sqrt(5) = 2.2360680.
# (The sample sd would be sqrt(20 / 3) = 2.5819889; per-bin statistics would give bin 0 = 1 5 -> -1 1.)
# Mark 1: constant 7 -> sd 0 -> kept as 1, signal all zeros.
TINY = np.array([[[1, 3], [7, 7]], [[5, 7], [7, 7]]], dtype=np.int32)
R5 = math.sqrt(5)


def test_zscore_by_hand() -> None:
    signal, mean, sd = zscore_marks(TINY)
    assert mean.tolist() == [4.0, 7.0]
    assert sd[0] == pytest.approx(R5)  # population sd, not sqrt(20/3)
    assert sd[1] == 1.0  # zero variance -> 1
    # mark 0: (1-4)/sqrt5 = -1.3416408, (3-4)/sqrt5 = -0.4472136, (5-4)/sqrt5 = 0.4472136, (7-4)/sqrt5 = 1.3416408
    np.testing.assert_allclose(signal[:, 0, :], [[-3 / R5, -1 / R5], [1 / R5, 3 / R5]], rtol=1e-6)
    np.testing.assert_allclose(signal[:, 0, :], [[-1.3416408, -0.4472136], [0.4472136, 1.3416408]], rtol=1e-6)
    # mark 1: (7 - 7) / 1 = 0 everywhere, no NaN
    assert (signal[:, 1, :] == 0).all()
    assert not np.isnan(signal).any()
    assert signal.dtype == np.float32
    assert mean.dtype == np.float64 and sd.dtype == np.float64
    assert signal.shape == TINY.shape


def test_zscore_log1p_first() -> None:
    # one mark, values 0 1 3 7 -> log1p: 0, L, 2L, 3L with L = ln 2 = 0.6931472
    # mean 1.5L = 1.0397208; deviations -1.5L -0.5L 0.5L 1.5L; variance (2.25+0.25+0.25+2.25)/4 L^2 = 1.25 L^2
    # sd = sqrt(1.25) L = 0.7749636; z = (-1.5, -0.5, 0.5, 1.5) / sqrt(1.25) = -1.3416408 -0.4472136 ...
    counts = np.array([[[0, 1]], [[3, 7]]])
    signal, mean, sd = zscore_marks(counts, log1p=True)
    L = math.log(2)
    assert mean[0] == pytest.approx(1.5 * L)  # 1.0397208
    assert sd[0] == pytest.approx(math.sqrt(1.25) * L)  # 0.7749636
    np.testing.assert_allclose(signal[:, 0, :], [[-1.3416408, -0.4472136], [0.4472136, 1.3416408]], rtol=1e-6)
    # without log1p: mean (0+1+3+7)/4 = 2.75, var (7.5625+3.0625+0.0625+18.0625)/4 = 7.1875,
    # sd 2.6809513, first z = -2.75 / 2.6809513 = -1.0257553
    raw, raw_mean, raw_sd = zscore_marks(counts)
    assert raw_mean[0] == 2.75
    assert raw_sd[0] == pytest.approx(math.sqrt(7.1875))
    assert raw[0, 0, 0] == pytest.approx(-1.0257553, rel=1e-6)


def test_zscore_fit_mask_uses_only_fit_genes() -> None:
    # genes 0 and 1 (fit) are mark 0 of TINY: mean 4, sd sqrt5; gene 2 (not fit) is 100 200
    counts = np.array([[[1, 3]], [[5, 7]], [[100, 200]]])
    signal, mean, sd = zscore_marks(counts, fit_mask=np.array([True, True, False]))
    assert mean.tolist() == [4.0]
    assert sd[0] == pytest.approx(R5)
    # the statistics are applied to every gene: (100 - 4)/sqrt5 = 42.9325, (200 - 4)/sqrt5 = 87.653862
    np.testing.assert_allclose(signal[2, 0], [96 / R5, 196 / R5], rtol=1e-6)
    np.testing.assert_allclose(signal[2, 0], [42.932505, 87.653862], rtol=1e-6)
    # fitting on all genes gives other numbers: mean (1+3+5+7+100+200)/6 = 316/6 = 52.666...
    _, mean_all, _ = zscore_marks(counts)
    assert mean_all[0] == pytest.approx(316 / 6)


def test_zscore_zero_variance_on_fit_genes() -> None:
    # fit genes constant 2 -> sd kept 1; the other gene (5) becomes (5 - 2) / 1 = 3
    counts = np.array([[[2, 2]], [[2, 2]], [[5, 5]]])
    signal, mean, sd = zscore_marks(counts, fit_mask=[True, True, False])
    assert (mean.tolist(), sd.tolist()) == ([2.0], [1.0])
    assert signal[:, 0, :].tolist() == [[0, 0], [0, 0], [3, 3]]


def test_zscore_all_zero_mark_is_zeros() -> None:
    # an unmapped mark (all zero reads), with log1p: log1p(0) = 0, sd 0 -> 1, signal 0, not NaN
    counts = np.zeros((5, 2, 4))
    counts[:, 1] = np.arange(20).reshape(5, 4)
    signal, mean, sd = zscore_marks(counts, log1p=True)
    assert (signal[:, 0] == 0).all()
    assert mean[0] == 0.0 and sd[0] == 1.0
    assert np.isfinite(signal).all()


def test_zscore_errors() -> None:
    with pytest.raises(InputError):
        zscore_marks(np.zeros((3, 4)))  # not (genes, marks, bins)
    with pytest.raises(InputError, match="log1p"):
        zscore_marks(np.array([[[-1.0, 2.0]]]), log1p=True)
    with pytest.raises(InputError) as exc:
        zscore_marks(TINY, fit_mask=np.array([False, False]))
    assert exc.value.key == "normalize.fit_on"
