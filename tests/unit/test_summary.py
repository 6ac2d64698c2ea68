"""Tests for chromexpr.evaluation.summary: per-dataset summary rows and the per-mark-mean baseline AUROC."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chromexpr.dataset import Dataset, build_dataset, save_dataset
from chromexpr.evaluation.summary import (
    baseline_auroc,
    summarize_dataset,
    summarize_datasets,
)

GEOM = {"window_bp": 500, "bin_bp": 100, "orient_by_strand": True, "n_bins": 10}


def synthetic(n: int, *, separable: bool, seed: int = 0, cell: str = "E003") -> Dataset:
    """``n`` genes x 2 marks x 10 bins; blocks split (first / second / last third)."""
    rng = np.random.default_rng(seed)
    expression = rng.gamma(1.0, 10.0, n)
    median = np.median(expression)
    label = expression >= median
    counts = rng.poisson(5, (n, 2, 10)).astype(np.int32)
    if separable:
        # mark 0: 0-2 reads per bin when silent, 20-22 when expressed -> per-mark means never overlap
        counts[:, 0, :] = rng.integers(0, 3, (n, 10)) + 20 * label[:, None]
    split = np.array(["train"] * (n - 2 * (n // 3)) + ["valid"] * (n // 3) + ["test"] * (n // 3))
    return build_dataset(
        counts, [f"G{i:05d}" for i in range(n)], ["H3K4me3", "H3K27me3"], expression, split, cell=cell, geometry=GEOM
    )


def test_baseline_perfect_mark_gives_auroc_1() -> None:
    ds = synthetic(300, separable=True)
    assert baseline_auroc(ds) == 1.0


def test_baseline_random_marks_near_half() -> None:
    # 3000 genes, 1000 in test: under no signal the AUROC's sd is about
    # sqrt((n1 + n2 + 1) / (12 n1 n2)) = sqrt(1001 / (12 * 500 * 500)) = 0.018; 0.08 is > 4 sd
    ds = synthetic(3000, separable=False, seed=3)
    auc = baseline_auroc(ds)
    assert abs(auc - 0.5) < 0.08


def test_baseline_is_deterministic() -> None:
    ds = synthetic(600, separable=False, seed=5)
    assert baseline_auroc(ds, seed=0) == baseline_auroc(ds, seed=0)


def test_baseline_nan_when_a_split_has_one_class() -> None:
    ds = synthetic(30, separable=True)
    ds.label[ds.split == "test"] = 1
    assert math.isnan(baseline_auroc(ds))


def test_summarize_dataset_by_hand() -> None:
    # 3 genes x 2 marks x 2 bins; expression 1 2 3 -> median 2 -> labels 0 1 1 -> positive fraction 2/3
    counts = np.array([[[0, 2], [1, 1]], [[4, 6], [1, 1]], [[2, 4], [1, 1]]], dtype=np.int32)
    ds = build_dataset(
        counts,
        ["a", "b", "c"],
        ["K4", "K27"],
        np.array([1.0, 2.0, 3.0]),
        ["train", "valid", "test"],
        cell="E123",
        geometry=GEOM,
    )
    row = summarize_dataset(ds)
    assert row["cell"] == "E123"
    assert (row["genes"], row["bins"]) == (3, 2)
    assert (row["train"], row["valid"], row["test"]) == (1, 1, 1)
    assert row["positive_fraction"] == 0.6667  # round(2 / 3, 4)
    assert row["median_expression"] == 2.0
    assert row["mean_K4"] == 3.0  # (0 + 2 + 4 + 6 + 2 + 4) / 6 = 18 / 6
    assert row["mean_K27"] == 1.0
    # one gene per class cannot fit: train holds only label 0 -> NaN
    assert math.isnan(row["baseline_logreg_test_auroc"])


def test_summarize_datasets_one_row_per_cell(tmp_path: Path) -> None:
    paths = []
    for i, cell in enumerate(["E003", "E116", "E123"]):
        ds = synthetic(90, separable=(cell != "E116"), seed=i, cell=cell)
        paths.append(save_dataset(ds, tmp_path / "datasets" / f"{cell}.npz"))
    out = tmp_path / "report" / "datasets.tsv"
    table = summarize_datasets(paths, out)
    assert table["cell"].tolist() == ["E003", "E116", "E123"]
    on_disk = pd.read_csv(out, sep="\t")
    assert on_disk["cell"].tolist() == ["E003", "E116", "E123"]
    assert len(on_disk) == 3
    # 90 genes: 90 - 2 * 30 = 30 train, 30 valid, 30 test
    assert on_disk[["genes", "train", "valid", "test"]].values.tolist() == [[90, 30, 30, 30]] * 3
    assert (on_disk["bins"] == 10).all()
    assert {
        "mean_H3K4me3",
        "mean_H3K27me3",
        "positive_fraction",
        "median_expression",
        "baseline_logreg_test_auroc",
    } <= set(on_disk.columns)
    assert on_disk.loc[on_disk["cell"] == "E003", "baseline_logreg_test_auroc"].item() == 1.0
    assert on_disk.loc[on_disk["cell"] == "E123", "baseline_logreg_test_auroc"].item() == 1.0
    # median labels: at least half of the genes are positive
    assert (on_disk["positive_fraction"] >= 0.5).all()
    assert sorted(p.name for p in out.parent.iterdir()) == ["datasets.tsv"]
    pd.testing.assert_frame_equal(on_disk, table, check_dtype=False)


@pytest.mark.parametrize("n", [60])
def test_positive_fraction_is_half_for_distinct_values(n: int) -> None:
    # n distinct values, n even: exactly the upper n/2 are >= the median (mean of the two middle values)
    row = summarize_dataset(synthetic(n, separable=True))
    assert row["positive_fraction"] == 0.5
