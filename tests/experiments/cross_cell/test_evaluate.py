"""Tests of chromexpr.experiments.cross_cell.evaluate (DeepChrome 2.0 cross-cell experiment): every number checked
by hand on tiny tables."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pandas as pd
import pytest

from chromexpr.dataset import Dataset
from chromexpr.errors import InputError
from chromexpr.experiments.cross_cell import evaluate as cc

# ---------------------------------------------------------------------------------------------------
# expression and correlation

# 3 cells x 8 genes: 4 train, 2 valid, 2 test
GENES = [f"g{i}" for i in range(1, 9)]
SPLIT = ["train"] * 4 + ["valid"] * 2 + ["test"] * 2
RPKM = {
    #      train ........  valid   test
    "A": [1, 2, 3, 4, 1, 3, 2, 1],
    "B": [2, 4, 6, 9, 5, 2, 1, 2],
    "C": [1, 3, 2, 4, 0, 1, 3, 4],
}


def expression_frame() -> pd.DataFrame:
    return pd.DataFrame({"gene_id": GENES, "split": SPLIT, **{c: np.array(v, dtype=float) for c, v in RPKM.items()}})


def dataset(genes, split, expression) -> Dataset:
    n = len(genes)
    return Dataset(
        counts=np.zeros((n, 1, 2), dtype=np.int32),
        signal=np.zeros((n, 1, 2), dtype=np.float32),
        expression=np.asarray(expression, dtype=float),
        label=np.zeros(n, dtype=np.int8),
        split=np.asarray(split),
        gene_ids=np.asarray(genes),
        marks=np.asarray(["H3K4me3"]),
        zscore_mean=np.zeros(1),
        zscore_std=np.ones(1),
    )


def test_expression_table_columns_in_mapping_order():
    datasets = {c: dataset(GENES, SPLIT, RPKM[c]) for c in ("C", "A", "B")}
    table = cc.expression_table(datasets)
    assert list(table.columns) == ["gene_id", "split", "C", "A", "B"]
    assert table["gene_id"].tolist() == GENES
    assert table["split"].tolist() == SPLIT
    assert table["A"].tolist() == RPKM["A"]


def test_expression_table_names_cell_and_gene_that_differ():
    other = GENES.copy()
    other[2] = "gX"
    datasets = {"A": dataset(GENES, SPLIT, RPKM["A"]), "B": dataset(other, SPLIT, RPKM["B"])}
    with pytest.raises(InputError, match=r"cell B.*gX instead of g3"):
        cc.expression_table(datasets)
    moved = SPLIT.copy()
    moved[0] = "test"
    datasets = {"A": dataset(GENES, SPLIT, RPKM["A"]), "C": dataset(GENES, moved, RPKM["C"])}
    with pytest.raises(InputError, match=r"cell C: gene g1 is in split 'test'"):
        cc.expression_table(datasets)


def test_correlation_by_hand():
    tables = cc.correlation_tables(expression_frame())
    assert set(tables) == {"train", "valid", "test"}
    train = tables["train"]
    assert list(train.columns) == ["cell_a", "cell_b", "pearson", "normalized", "n_genes"]
    # ordered pairs, the diagonal included, cell_a outer
    assert list(zip(train["cell_a"], train["cell_b"], strict=True)) == [(a, b) for a in "ABC" for b in "ABC"]
    assert (train["n_genes"] == 4).all()
    r = {(a, b): p for a, b, p in zip(train["cell_a"], train["cell_b"], train["pearson"], strict=True)}
    # train genes: A = 1 2 3 4 (mean 2.5), B = 2 4 6 9 (mean 5.25), C = 1 3 2 4 (mean 2.5)
    # centred A = -1.5 -.5 .5 1.5 (SS 5); B = -3.25 -1.25 .75 3.75 (SS 26.75); C = -1.5 .5 -.5 1.5 (SS 5)
    r_ab = (4.875 + 0.625 + 0.375 + 5.625) / math.sqrt(5 * 26.75)  # 0.99438
    r_ac = (2.25 - 0.25 - 0.25 + 2.25) / 5  # 0.8
    r_bc = (4.875 - 0.625 - 0.375 + 5.625) / math.sqrt(26.75 * 5)  # 0.82144
    assert r[("A", "B")] == pytest.approx(r_ab)
    assert r[("B", "A")] == pytest.approx(r_ab)
    assert r[("A", "C")] == pytest.approx(r_ac)
    assert r[("B", "C")] == pytest.approx(r_bc)
    assert r[("A", "A")] == r[("B", "B")] == r[("C", "C")] == 1.0
    # min-max over all pairs of the split: min = r_ac = 0.8, max = 1 (the diagonal)
    norm = {(a, b): v for a, b, v in zip(train["cell_a"], train["cell_b"], train["normalized"], strict=True)}
    assert norm[("A", "A")] == 1.0
    assert norm[("A", "C")] == 0.0
    assert norm[("A", "B")] == pytest.approx((r_ab - 0.8) / 0.2)  # 0.9719
    assert norm[("B", "C")] == pytest.approx((r_bc - 0.8) / 0.2)  # 0.1072
    # valid: A = 1 3, B = 5 2, C = 0 1 -> r(A,B) = -1, r(A,C) = 1, r(B,C) = -1: normalized = (r + 1) / 2
    valid = tables["valid"].set_index(["cell_a", "cell_b"])
    assert valid.loc[("A", "B"), "pearson"] == pytest.approx(-1.0)
    assert valid.loc[("A", "C"), "normalized"] == pytest.approx(1.0)
    assert valid.loc[("C", "B"), "normalized"] == pytest.approx(0.0)
    assert (valid["n_genes"] == 2).all()


def test_correlation_constant_cell_is_an_error():
    table = expression_frame()
    table.loc[table["split"] == "valid", "B"] = 7.0
    with pytest.raises(InputError, match=r"cell B.*split 'valid'.*zero variance"):
        cc.correlation_tables(table)


# ---------------------------------------------------------------------------------------------------
# groups: a hand-made normalized correlation table of 5 cells

CELLS = ["A", "B", "C", "D", "E"]
NORMALIZED = np.array(
    [
        # A    B     C    D    E
        [1.0, 0.75, 0.9, 0.5, 0.2],  # A: C > .75; B exactly .75 (not highly), D exactly .5 (not somewhat)
        [0.75, 1.0, 0.6, 0.3, 0.1],  # B: highly none, somewhat A and C
        [0.9, 0.6, 1.0, 0.4, 0.0],
        [0.5, 0.3, 0.4, 1.0, 0.5],  # D: both .5: highly and somewhat empty
        [0.2, 0.1, 0.0, 0.5, 1.0],  # E: highly and somewhat empty
    ]
)


def correlation_table(cells=CELLS, values=NORMALIZED) -> pd.DataFrame:
    n = len(cells)
    return pd.DataFrame(
        {
            "cell_a": np.repeat(cells, n),
            "cell_b": np.tile(cells, n),
            "pearson": values.ravel(),
            "normalized": values.ravel(),
            "n_genes": 100,
        }
    )


def row(groups: pd.DataFrame, target: str, run: str) -> pd.Series:
    hit = groups[(groups["target"] == target) & (groups["run"] == run)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_groups_layout():
    groups = cc.cross_cell_groups(correlation_table(), CELLS, ["E", "A"], random_size=2)
    assert list(groups.columns) == list(cc.GROUP_COLUMNS)
    assert len(groups) == 2 * 4 * 2
    assert groups["target"].tolist() == ["E"] * 8 + ["A"] * 8
    assert groups["run"].tolist()[:8] == [f"{g}_{m}" for g in cc.GROUPS for m in cc.MODES]
    assert groups["n_cells"].dtype == int
    assert groups["empty"].dtype == bool


def test_groups_membership_strict_thresholds():
    groups = cc.cross_cell_groups(correlation_table(), CELLS, CELLS, random_size=2)
    # A: highly = C only (B sits exactly at 0.75), somewhat = B, C (D sits exactly at 0.5)
    assert row(groups, "A", "highly_exclusive")["cells"] == "C"
    assert row(groups, "A", "highly_inclusive")["cells"] == "A,C"
    assert row(groups, "A", "somewhat_exclusive")["cells"] == "B,C"
    assert row(groups, "A", "somewhat_inclusive")["cells"] == "A,B,C"
    assert row(groups, "A", "all_exclusive")["cells"] == "B,C,D,E"
    assert row(groups, "A", "all_inclusive")["cells"] == "A,B,C,D,E"
    assert row(groups, "A", "all_inclusive")["n_cells"] == 5
    assert row(groups, "A", "all_exclusive")["n_cells"] == 4
    # B: the target listed in cells order inside the inclusive group
    assert row(groups, "B", "somewhat_inclusive")["cells"] == "A,B,C"
    assert row(groups, "B", "somewhat_exclusive")["cells"] == "A,C"
    # mean normalized correlation to the target, the target's own 1.0 when inclusive
    assert row(groups, "A", "highly_inclusive")["mean_correlation"] == pytest.approx((1.0 + 0.9) / 2)
    assert row(groups, "A", "highly_exclusive")["mean_correlation"] == pytest.approx(0.9)
    assert row(groups, "A", "somewhat_inclusive")["mean_correlation"] == pytest.approx((1 + 0.75 + 0.9) / 3)
    assert row(groups, "A", "somewhat_exclusive")["mean_correlation"] == pytest.approx((0.75 + 0.9) / 2)
    assert row(groups, "A", "all_inclusive")["mean_correlation"] == pytest.approx((1 + 0.75 + 0.9 + 0.5 + 0.2) / 5)
    assert row(groups, "A", "all_exclusive")["mean_correlation"] == pytest.approx((0.75 + 0.9 + 0.5 + 0.2) / 4)


@pytest.mark.parametrize("target", ["B", "D", "E"])
def test_empty_groups_in_both_modes(target):
    groups = cc.cross_cell_groups(correlation_table(), CELLS, CELLS, random_size=2)
    for mode in cc.MODES:
        r = row(groups, target, f"highly_{mode}")
        assert bool(r["empty"]) and r["cells"] == "" and r["n_cells"] == 0 and math.isnan(r["mean_correlation"])
    somewhat_empty = target in ("D", "E")
    for mode in cc.MODES:
        assert bool(row(groups, target, f"somewhat_{mode}")["empty"]) is somewhat_empty
    assert not groups.loc[groups["group"].isin(["all", "random"]), "empty"].any()


def test_single_cell_every_group_empty():
    groups = cc.cross_cell_groups(correlation_table(["A"], np.ones((1, 1))), ["A"], ["A"])
    assert groups["empty"].all()
    assert (groups["n_cells"] == 0).all()


def test_random_group_seeded_reproducible_and_independent_of_targets():
    table = correlation_table()
    one = cc.cross_cell_groups(table, CELLS, ["C"], random_size=2, seed=7)
    again = cc.cross_cell_groups(table, CELLS, ["C"], random_size=2, seed=7)
    many = cc.cross_cell_groups(table, CELLS, ["A", "E", "C"], random_size=2, seed=7)
    chosen = row(one, "C", "random_exclusive")["cells"]
    assert chosen == row(again, "C", "random_exclusive")["cells"] == row(many, "C", "random_exclusive")["cells"]
    picked = chosen.split(",")
    assert len(picked) == 2 and "C" not in picked
    assert picked == [c for c in CELLS if c in picked]  # listed in cells order
    assert row(one, "C", "random_inclusive")["cells"] == ",".join(c for c in CELLS if c in picked or c == "C")
    # the documented draw
    others = ["A", "B", "D", "E"]
    rng = np.random.default_rng(np.random.SeedSequence([7, zlib.crc32(b"C")]))
    assert picked == [others[i] for i in sorted(rng.choice(4, size=2, replace=False))]
    # other seeds give other draws (6 possible pairs: some of 10 seeds must differ)
    draws = {
        row(cc.cross_cell_groups(table, CELLS, ["C"], random_size=2, seed=s), "C", "random_exclusive")["cells"]
        for s in range(10)
    }
    assert len(draws) > 1
    # size = min(random_size, others)
    big = cc.cross_cell_groups(table, CELLS, ["C"], random_size=10)
    assert row(big, "C", "random_exclusive")["cells"] == "A,B,D,E"
    assert row(big, "C", "random_inclusive")["n_cells"] == 5


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"highly": 1.2}, "experiments.cross_cell.highly"),
        ({"somewhat": -0.1}, "experiments.cross_cell.somewhat"),
        ({"highly": 0.4, "somewhat": 0.5}, "experiments.cross_cell.highly"),
        ({"random_size": 0}, "experiments.cross_cell.random_size"),
        ({"targets": ["A", "Z"]}, "experiments.cross_cell.targets"),
        ({"cells": [*CELLS, "F"], "targets": ["A"]}, "experiments.cross_cell.cells"),
    ],
)
def test_groups_validation(kwargs, key):
    cells = kwargs.pop("cells", CELLS)
    targets = kwargs.pop("targets", ["A"])
    with pytest.raises(InputError) as err:
        cc.cross_cell_groups(correlation_table(), cells, targets, **kwargs)
    assert err.value.key == key


# ---------------------------------------------------------------------------------------------------
# Test-on-Rest


def test_test_on_rest_table_by_hand():
    scores = pd.DataFrame(
        {
            "train_cell": ["B", "C", "A"],
            "test_cell": ["A", "A", "B"],
            "auroc": [0.70, 0.78, 0.66],
            "model": "deepchrome_avgpool",
            "seed": [0, 0, 1],
            "n_test": [50, 50, 40],
        }
    )
    out = cc.test_on_rest_table(scores, {"A": 0.80, "B": 0.70}, correlation_table())
    assert list(out.columns) == [
        "train_cell",
        "test_cell",
        "correlation",
        "auroc",
        "own_auroc",
        "delta_auroc",
        "model",
        "seed",
        "n_test",
    ]
    assert out["correlation"].tolist() == pytest.approx([0.75, 0.9, 0.75])
    assert out["own_auroc"].tolist() == pytest.approx([0.80, 0.80, 0.70])
    assert out["delta_auroc"].tolist() == pytest.approx([-0.10, -0.02, -0.04])
    assert out["seed"].tolist() == [0, 0, 1]
    with pytest.raises(InputError, match="no own single-cell AUROC for test cell"):
        cc.test_on_rest_table(scores, {"A": 0.8}, correlation_table())


def test_trend_on_a_line():
    x = np.array([0.0, 0.25, 0.5, 1.0])
    table = pd.DataFrame({"correlation": x, "delta_auroc": 0.1 * x - 0.05})
    trend = cc.test_on_rest_trend(table)
    assert trend["slope"] == pytest.approx(0.1)
    assert trend["intercept"] == pytest.approx(-0.05)
    assert trend["r"] == pytest.approx(1.0)
    assert trend["p_value"] < 1e-6
    assert trend["n"] == 4
    # NaN rows are dropped; fewer than 3 points: NaNs
    few = pd.DataFrame({"correlation": [0.1, 0.2, np.nan], "delta_auroc": [0.0, 0.1, 0.2]})
    trend = cc.test_on_rest_trend(few)
    assert trend["n"] == 2 and math.isnan(trend["slope"]) and math.isnan(trend["r"])
    assert cc.test_on_rest_trend(pd.DataFrame(columns=["correlation", "delta_auroc"]))["n"] == 0


# ---------------------------------------------------------------------------------------------------
# experiments (Fig. 5, 6)

# test AUROC per (run, target): seeds averaged where two are given
RUN_AUROC = {
    ("all_inclusive", "A"): [0.80],
    ("all_exclusive", "A"): [0.75],
    ("highly_inclusive", "A"): [0.76],
    ("highly_exclusive", "A"): [0.73],
    ("somewhat_inclusive", "A"): [0.77],
    ("somewhat_exclusive", "A"): [0.72],
    ("random_inclusive", "A"): [0.78, 0.80],  # mean 0.79
    ("random_exclusive", "A"): [0.71],
    ("all_inclusive", "E"): [0.78],
    ("all_exclusive", "E"): [0.74],
    ("random_inclusive", "E"): [0.65],
    # random_exclusive of E not run yet; highly and somewhat of E are empty
}


def experiment_inputs():
    groups = cc.cross_cell_groups(correlation_table(), CELLS, ["A", "E"], random_size=2)
    cells = groups.set_index(["run", "target"])
    rows = []
    for (run, target), values in RUN_AUROC.items():
        g = cells.loc[(run, target)]
        for seed, auroc in enumerate(values):
            rows.append(
                {
                    "model": "deepchrome_avgpool",
                    "run": run,
                    "cell": target,
                    "seed": seed,
                    "test_auroc": auroc,
                    "n_train": 100 * int(g["n_cells"]),
                    "n_train_cells": int(g["n_cells"]),
                    "train_cells": g["cells"],
                    "path": f"/runs/{run}/{target}/seed{seed}/metrics.json",
                }
            )
    runs = pd.DataFrame(rows)
    baseline = pd.DataFrame(
        {
            "model": "deepchrome_avgpool",
            "cell": ["A", "A", "E"],
            "seed": [0, 1, 0],
            "test_auroc": [0.70, 0.72, 0.60],
            "n_train": 100,
        }
    )
    return runs, baseline, groups


def entry(table: pd.DataFrame, experiment: str, target: str) -> pd.Series:
    hit = table[(table["experiment"] == experiment) & (table["target"] == target)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_experiment_table_by_hand():
    runs, baseline, groups = experiment_inputs()
    table = cc.experiment_table(runs, baseline, groups)
    assert list(table.columns) == list(cc.EXPERIMENT_COLUMNS)
    assert table["experiment"].tolist() == [e for e in cc.EXPERIMENTS for _ in ("A", "E")]
    assert table["target"].tolist() == ["A", "E"] * 9
    base = entry(table, "baseline", "A")
    assert base["test_auroc"] == pytest.approx(0.71)
    assert base["n_seeds"] == 2 and base["n_train"] == 100 and base["n_train_cells"] == 1
    assert base["mean_correlation"] == 1.0 and not base["empty"]
    random_a = entry(table, "random_inclusive", "A")
    assert random_a["test_auroc"] == pytest.approx(0.79) and random_a["n_seeds"] == 2
    assert random_a["n_train_cells"] == 3 and random_a["n_train"] == 300
    assert entry(table, "highly_exclusive", "A")["mean_correlation"] == pytest.approx(0.9)
    # blanks: E's highly and somewhat groups are empty
    for run in ("highly_inclusive", "highly_exclusive", "somewhat_inclusive", "somewhat_exclusive"):
        e = entry(table, run, "E")
        assert e["empty"] and math.isnan(e["test_auroc"]) and math.isnan(e["normalized_auroc"]) and e["n_seeds"] == 0
    # not run yet: NaN but not empty
    missing = entry(table, "random_exclusive", "E")
    assert not missing["empty"] and math.isnan(missing["test_auroc"]) and missing["n_seeds"] == 0
    # normalized over every entry with an AUROC: min 0.60 (baseline E), max 0.80 (all_inclusive A)
    assert entry(table, "baseline", "E")["normalized_auroc"] == pytest.approx(0.0)
    assert entry(table, "all_inclusive", "A")["normalized_auroc"] == pytest.approx(1.0)
    assert entry(table, "baseline", "A")["normalized_auroc"] == pytest.approx((0.71 - 0.60) / 0.20)
    assert entry(table, "random_inclusive", "E")["normalized_auroc"] == pytest.approx((0.65 - 0.60) / 0.20)


def test_experiment_table_rejects_inconsistent_runs():
    runs, baseline, groups = experiment_inputs()
    empty_run = runs.iloc[[0]].assign(run="highly_inclusive", cell="E", train_cells="")
    with pytest.raises(InputError, match="says that group is empty"):
        cc.experiment_table(pd.concat([runs, empty_run], ignore_index=True), baseline, groups)
    stale = runs.copy()
    stale.loc[0, "train_cells"] = "A,B"
    with pytest.raises(InputError, match="trained on A,B"):
        cc.experiment_table(stale, baseline, groups)
    with pytest.raises(InputError, match="several models"):
        cc.experiment_table(runs, pd.concat([baseline, baseline.assign(model="deepchrome")]), groups)


def test_experiment_summary_by_hand():
    runs, baseline, groups = experiment_inputs()
    summary = cc.experiment_summary(cc.experiment_table(runs, baseline, groups)).set_index("experiment")
    assert list(summary.index) == list(cc.EXPERIMENTS)
    assert summary.loc["baseline", "mean_auroc"] == pytest.approx((0.71 + 0.60) / 2)
    assert summary.loc["baseline", "sd_auroc"] == pytest.approx(np.std([0.71, 0.60], ddof=1))
    assert summary.loc["baseline", "n_targets"] == 2
    assert summary.loc["baseline", "mean_correlation"] == 1.0
    assert summary.loc["highly_inclusive", "n_targets"] == 1
    assert math.isnan(summary.loc["highly_inclusive", "sd_auroc"])
    assert summary.loc["all_inclusive", "mean_auroc"] == pytest.approx(0.79)
    assert summary.loc["all_inclusive", "mean_n_train"] == pytest.approx(500)
    assert summary.loc["random_exclusive", "n_targets"] == 1  # E not run yet
    a = (1 + 0.75 + 0.9 + 0.5 + 0.2) / 5
    e = (0.2 + 0.1 + 0.0 + 0.5 + 1) / 5
    assert summary.loc["all_inclusive", "mean_correlation"] == pytest.approx((a + e) / 2)


# ---------------------------------------------------------------------------------------------------
# Fig. 9


def test_probability_difference_by_hand():
    # A: RPKM 1 2 3 4 -> percentile ranks .25 .5 .75 1; B: 5 5 1 1 -> ties averaged: .875 .875 .375 .375
    expression = pd.DataFrame(
        {"gene_id": ["g1", "g2", "g3", "g4"], "split": "test", "A": [1.0, 2.0, 3.0, 4.0], "B": [5.0, 5.0, 1.0, 1.0]}
    )
    baseline = pd.DataFrame(
        {
            "target": ["A", "A", "A", "A", "A", "B"],
            "gene_id": ["g1", "g1", "g2", "g3", "g4", "g3"],
            "probability": [0.5, 0.7, 0.5, 0.4, 0.9, 0.3],  # g1 of A: two seeds, mean 0.6
        }
    )
    full = pd.DataFrame(
        {
            "target": ["A", "A", "A", "A", "B", "B"],
            "gene_id": ["g1", "g2", "g3", "g4", "g3", "g1"],  # B g1 has no baseline prediction: dropped
            "probability": [0.2, 0.5, 0.6, 0.8, 0.1, 0.9],
        }
    )
    out = cc.probability_difference(baseline, full, expression, bins=2)
    assert list(out.columns) == list(cc.PROBABILITY_COLUMNS)
    assert out["bin_left"].tolist() == [0.0, 0.5]
    assert out["bin_right"].tolist() == [0.5, 1.0]
    assert out["bin_center"].tolist() == [0.25, 0.75]
    # bin [0, .5): A g1 (rank .25, 0.2 - 0.6 = -0.4), B g3 (rank .375, 0.1 - 0.3 = -0.2)
    # bin [.5, 1]: A g2 (rank .5, the median cutoff: 0), g3 (+0.2), g4 (-0.1)
    assert out["n_genes"].tolist() == [2, 3]
    assert out["mean_difference"].tolist() == pytest.approx([-0.3, 0.1 / 3])
    assert out["sd_difference"].tolist() == pytest.approx(
        [np.std([-0.4, -0.2], ddof=1), np.std([0, 0.2, -0.1], ddof=1)]
    )
    assert out["q25"].tolist() == pytest.approx([-0.35, -0.05])
    assert out["q75"].tolist() == pytest.approx([-0.25, 0.1])
    four = cc.probability_difference(baseline, full, expression, bins=4)
    assert four["bin_left"].tolist() == [0.0, 0.25, 0.5, 0.75]
    # ranks .25 and .375 -> bin 1; .5 -> bin 2; .75 and 1.0 -> bin 3 (the last bin is closed)
    assert four["n_genes"].tolist() == [0, 2, 1, 2]
    assert math.isnan(four.loc[0, "mean_difference"])


def test_probability_difference_unknown_target():
    expression = pd.DataFrame({"gene_id": ["g1", "g2"], "split": "test", "A": [1.0, 2.0]})
    pred = pd.DataFrame({"target": ["Z"], "gene_id": ["g1"], "probability": [0.5]})
    with pytest.raises(InputError, match="target Z has no expression column"):
        cc.probability_difference(pred, pred, expression)
