"""Tests of chromexpr.evaluation.statistics: chance-level loss and the paired Wilcoxon test, by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy import stats

from chromexpr.evaluation.statistics import MIN_CELLS, chance_bce, paired_vs_reference


def test_chance_bce_by_hand():
    assert chance_bce(0.5) == pytest.approx(math.log(2))
    # p = 0.64 (the demo's E003 training genes): -(0.64 ln 0.64 + 0.36 ln 0.36)
    assert chance_bce(0.64) == pytest.approx(0.64 * 0.446287 + 0.36 * 1.021651, abs=1e-6)
    assert chance_bce(0.25) == pytest.approx(chance_bce(0.75))  # symmetric
    assert chance_bce(0.0) == 0.0 and chance_bce(1.0) == 0.0
    assert math.isnan(chance_bce(math.nan))


def _runs(diffs: list[float]) -> pd.DataFrame:
    rows = []
    for i, d in enumerate(diffs):
        rows.append({"model": "deepchrome", "cell": f"E{i:03d}", "seed": 0, "test_auroc": 0.8})
        rows.append({"model": "linear12", "cell": f"E{i:03d}", "seed": 0, "test_auroc": 0.8 + d})
    return pd.DataFrame(rows)


def test_paired_sweep_of_five_is_exact_with_its_floor():
    assert MIN_CELLS == 5
    paired = paired_vs_reference(_runs([0.01, 0.02, 0.03, 0.04, 0.05])).iloc[0]
    assert (paired["wins"], paired["losses"], paired["ties"]) == (5, 0, 0)
    assert paired["p_value"] == pytest.approx(2 / 2**5)  # a clean sweep of five: p = 0.0625, no lower
    assert "cannot be below 0.0625" in paired["note"]


def test_paired_four_differences_is_no_test():
    paired = paired_vs_reference(_runs([0.01, 0.02, 0.03, 0.04])).iloc[0]
    assert math.isnan(paired["p_value"]) and "too few" in paired["note"]


def test_paired_matches_scipy_with_mixed_signs():
    diffs = [0.01, -0.02, 0.03, 0.04, 0.05, -0.005, 0.06]
    paired = paired_vs_reference(_runs(diffs)).iloc[0]
    assert paired["p_value"] == pytest.approx(stats.wilcoxon(diffs).pvalue, rel=1e-6)
    assert paired["note"] == ""
    assert paired["median_difference"] == pytest.approx(0.03)
