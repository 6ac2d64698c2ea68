"""Tests of chromexpr.experiments.transfer.evaluate (Table 3 of TransferChrome, the paired variants, the domain curves):
values checked by hand on a small tree of fake runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from chromexpr.evaluation.runs import collect_metrics
from chromexpr.experiments.transfer.evaluate import (
    CURVE_COLUMNS,
    PER_TARGET_COLUMNS,
    ROW_ORDER,
    TABLE3_COLUMNS,
    domain_curves,
    paired_variants,
    per_target_table,
    published_table3,
    reported_drops,
    row_label,
    table3,
)
from chromexpr.models.display import display_name
from chromexpr.published import read_published

SOURCE = "E085"
TARGETS = ("E003", "E004", "E005")
# test AUROC per (base model, variant) and target, one value per seed; per-target means by hand:
#   transferchrome origin   .81 .85 .78  -> min .78 mean .813333 max .85 median .81
#   transferchrome uncross  .77 .80 .75  -> min .75 mean .773333 max .80 median .77
#   transferchrome cross    .79 .83 .76  -> min .76 mean .793333 max .83 median .79
#   deepchrome origin       .75 .79 .72  -> min .72 mean .753333 max .79 median .75   (one seed)
#   deepchrome uncross      .73 .77 .73  -> min .73 mean .743333 max .77 median .73   (one seed)
AUROC = {
    ("transferchrome", "origin"): {"E003": (0.80, 0.82), "E004": (0.84, 0.86), "E005": (0.78, 0.78)},
    ("transferchrome", "uncross"): {"E003": (0.76, 0.78), "E004": (0.80, 0.80), "E005": (0.74, 0.76)},
    ("transferchrome", "cross"): {"E003": (0.79, 0.79), "E004": (0.82, 0.84), "E005": (0.75, 0.77)},
    ("deepchrome", "origin"): {"E003": (0.75,), "E004": (0.79,), "E005": (0.72,)},
    ("deepchrome", "uncross"): {"E003": (0.73,), "E004": (0.77,), "E005": (0.73,)},
}
# the paper's Table 3 (min, mean, max, median), TransferChrome paper p. 6
PAPER_TABLE3 = {
    "TransferChrome_origin": (0.7972, 0.8479, 0.9289, 0.8449),
    "TransferChrome_uncross": (0.7672, 0.8185, 0.8950, 0.8182),
    "TransferChrome_cross": (0.7866, 0.8330, 0.9156, 0.8300),
    "DeepChrome": (0.6871, 0.8003, 0.9236, 0.8019),
    "DeepChrome_uncross": (0.6652, 0.7737, 0.8951, 0.7710),
    "ConvChrome": (0.7820, 0.8399, 0.9061, 0.8386),
    "ConvChrome_uncross": (0.7571, 0.8111, 0.8791, 0.8076),
}


def _record(model: str, cell: str, seed: int, auroc: float) -> dict:
    return {
        "model": model,
        "cell": cell,
        "seed": seed,
        "test_auroc": auroc,
        "test_auprc": auroc - 0.02,
        "test_accuracy": auroc - 0.1,
        "valid_auroc": auroc + 0.01,
        "best_epoch": 3,
        "epochs_run": 5,
        "wall_seconds": 12.0,
        "parameters": 1000,
        "device": "cpu",
        "n_test": 40,
    }


def write_origin_run(root: Path, model: str, cell: str, seed: int, auroc: float) -> Path:
    path = root / "runs" / "single_cell" / model / cell / f"seed{seed}" / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_record(model, cell, seed, auroc)))
    return path


def write_transfer_run(
    root: Path,
    base: str,
    variant: str,
    target: str,
    seed: int,
    auroc: float,
    *,
    source: str = SOURCE,
    protocol: str = "honest",
    history: pd.DataFrame | None = None,
) -> Path:
    model = f"{base}_{variant}"
    path = root / "runs" / "transfer" / model / f"{source}_to_{target}" / f"seed{seed}" / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = _record(model, target, seed, auroc)
    record.update(
        experiment="transfer",
        base_model=base,
        variant=variant,
        protocol=protocol,
        source=source,
        target=target,
        n_train=300,
        n_adapt=200,
        n_valid=60,
        n_test=40,
        max_epochs=5,
        training={"max_epochs": 5, "patience": 2},
    )
    path.write_text(json.dumps(record))
    if history is not None:
        history.to_csv(path.parent / "history.tsv", sep="\t", index=False)
    return path


def cross_history(epochs: int = 3, offset: float = 0.0) -> pd.DataFrame:
    epoch = np.arange(1, epochs + 1)
    return pd.DataFrame(
        {
            "epoch": epoch,
            "train_loss": 0.7 - 0.05 * epoch,
            "valid_loss": 0.7 - 0.04 * epoch,
            "valid_auroc": 0.7 + 0.02 * epoch,
            "valid_auprc": 0.7,
            "lr": 1e-3,
            "seconds": 1.0,
            "domain_loss": 0.5 + 0.05 * epoch,
            "domain_accuracy": 0.8 - 0.1 * epoch + offset,
            "grl_lambda": epoch / epochs,
        }
    )


def write_tree(root: Path, protocol: str = "honest", histories: bool = True) -> tuple[list[Path], list[Path]]:
    """The runs of AUROC, plus origin runs that must be left out (the source, a target without transfer runs,
    a model without transfer runs)."""
    transfer, origin = [], []
    for (base, variant), cells in AUROC.items():
        for target, values in cells.items():
            for seed, auroc in enumerate(values):
                if variant == "origin":
                    origin.append(write_origin_run(root, base, target, seed, auroc))
                else:
                    history = cross_history(offset=0.01 * seed) if variant == "cross" and histories else None
                    transfer.append(
                        write_transfer_run(root, base, variant, target, seed, auroc, protocol=protocol, history=history)
                    )
    origin.append(write_origin_run(root, "transferchrome", SOURCE, 0, 0.99))  # the source itself
    origin.append(write_origin_run(root, "transferchrome", "E006", 0, 0.99))  # no transfer run of E006
    origin.append(write_origin_run(root, "convchrome", "E003", 0, 0.99))  # no convchrome transfer run
    return transfer, origin


@pytest.fixture
def per_target(tmp_path: Path) -> pd.DataFrame:
    transfer, origin = write_tree(tmp_path)
    return per_target_table(collect_metrics(transfer), collect_metrics(origin), source=SOURCE)


def test_row_labels() -> None:
    assert row_label("transferchrome", "origin") == "TransferChrome_origin"
    assert row_label("transferchrome", "uncross") == "TransferChrome_uncross"
    assert row_label("transferchrome", "cross") == "TransferChrome_cross"
    assert row_label("deepchrome", "origin") == "DeepChrome"
    assert row_label("deepchrome", "uncross") == "DeepChrome_uncross"
    assert row_label("convchrome", "origin") == "ConvChrome"
    assert row_label("convchrome", "uncross") == "ConvChrome_uncross"
    assert row_label("attentivechrome", "uncross") == "AttentiveChrome_uncross"
    # other cards: their display.name; a name that is no card stays as it is
    assert display_name("deepchrome_avgpool") == "DeepChrome (avg-pool)"
    assert row_label("deepchrome_avgpool", "uncross") == "DeepChrome (avg-pool)_uncross"
    assert display_name("logreg") == "Logistic regression"
    assert row_label("fancychrome", "cross") == "fancychrome_cross"


def test_per_target_rows(per_target: pd.DataFrame) -> None:
    assert list(per_target.columns) == PER_TARGET_COLUMNS
    # 3 targets x (2 + 2 + 2 + 1 + 1) seeds; the source, E006 and convchrome origin runs are left out
    assert len(per_target) == 3 * 8
    assert SOURCE not in set(per_target["target"])
    assert set(per_target["target"]) == set(TARGETS)
    assert set(per_target["base_model"]) == {"transferchrome", "deepchrome"}
    assert list(dict.fromkeys(per_target["row"])) == [
        "TransferChrome_origin",
        "TransferChrome_uncross",
        "TransferChrome_cross",
        "DeepChrome",
        "DeepChrome_uncross",
    ]
    assert set(per_target["protocol"]) == {"honest"}
    assert set(per_target["source"]) == {SOURCE}
    row = per_target[(per_target["row"] == "TransferChrome_cross") & (per_target["target"] == "E004")]
    assert sorted(row["test_auroc"]) == [0.82, 0.84]
    assert list(row["seed"]) == [0, 1]
    assert set(per_target["n_test"]) == {40}
    origin = per_target[per_target["variant"] == "origin"]
    assert set(origin["row"]) == {"TransferChrome_origin", "DeepChrome"}


def test_per_target_leaves_out_other_sources(tmp_path: Path) -> None:
    transfer, origin = write_tree(tmp_path)
    transfer.append(write_transfer_run(tmp_path / "other", "convchrome", "uncross", "E003", 0, 0.5, source="E003"))
    table = per_target_table(collect_metrics(transfer), collect_metrics(origin), source=SOURCE)
    assert "convchrome" not in set(table["base_model"])  # its only run is from another source


def test_table3_by_hand(per_target: pd.DataFrame) -> None:
    t3 = table3(per_target, read_published())
    assert list(t3.columns) == TABLE3_COLUMNS
    assert list(t3["row"]) == [
        "TransferChrome_origin",
        "TransferChrome_uncross",
        "TransferChrome_cross",
        "DeepChrome",
        "DeepChrome_uncross",
    ]
    expected = {
        "TransferChrome_origin": (0.78, 2.44 / 3, 0.85, 0.81, 2),
        "TransferChrome_uncross": (0.75, 2.32 / 3, 0.80, 0.77, 2),
        "TransferChrome_cross": (0.76, 2.38 / 3, 0.83, 0.79, 2),
        "DeepChrome": (0.72, 2.26 / 3, 0.79, 0.75, 1),
        "DeepChrome_uncross": (0.73, 2.23 / 3, 0.77, 0.73, 1),
    }
    for row in t3.itertuples(index=False):
        lo, mean, hi, median, seeds = expected[row.row]
        assert (row.min, row.mean, row.max, row.median) == pytest.approx((lo, mean, hi, median), abs=1e-12)
        assert row.n_targets == 3
        assert row.n_seeds == seeds
        assert row.protocol == "honest"
        paper = PAPER_TABLE3[row.row]
        assert (row.published_min, row.published_mean, row.published_max, row.published_median) == paper
        assert row.delta_mean == pytest.approx(mean - paper[1], abs=1e-12)
    by_row = t3.set_index("row")
    assert by_row.at["TransferChrome_uncross", "published_source"] == "TransferChrome paper Table 3"
    assert by_row.at["TransferChrome_origin", "published_source"].startswith("TransferChrome paper Table 2")


def test_table3_without_published(per_target: pd.DataFrame) -> None:
    t3 = table3(per_target, None)
    assert t3["published_mean"].isna().all() and t3["delta_mean"].isna().all()
    assert table3(per_target.iloc[0:0], None).empty


def test_published_table3_has_every_row_with_the_paper_numbers() -> None:
    pub = published_table3(read_published()).set_index("row")
    assert set(pub.index) == set(ROW_ORDER)
    for row, (lo, mean, hi, median) in PAPER_TABLE3.items():
        got = tuple(pub.loc[row, ["published_min", "published_mean", "published_max", "published_median"]])
        assert got == (lo, mean, hi, median), row


def test_reported_drops(per_target: pd.DataFrame) -> None:
    drops = reported_drops(table3(per_target, read_published())).set_index("row")
    assert list(drops.index) == ["TransferChrome_uncross", "TransferChrome_cross", "DeepChrome_uncross"]
    assert drops.at["TransferChrome_uncross", "versus"] == "TransferChrome_origin"
    assert drops.at["TransferChrome_uncross", "drop"] == pytest.approx(-0.04, abs=1e-12)
    assert drops.at["TransferChrome_cross", "drop"] == pytest.approx(-0.02, abs=1e-12)
    assert drops.at["DeepChrome_uncross", "drop"] == pytest.approx(-0.01, abs=1e-12)
    assert drops.at["TransferChrome_uncross", "published_drop"] == pytest.approx(0.8185 - 0.8479)
    assert drops.at["TransferChrome_cross", "published_drop"] == pytest.approx(0.8330 - 0.8479)
    assert drops.at["TransferChrome_uncross", "paper_text_drop"] == -2.9
    assert drops.at["TransferChrome_cross", "paper_text_drop"] == -1.5
    # the paper's text gives the differences of its own means to 0.1 point (DeepChrome: 2.66 printed as 2.6)
    for row in drops.index:
        assert abs(100 * drops.at[row, "published_drop"] - drops.at[row, "paper_text_drop"]) < 0.1


def test_paired_by_hand(per_target: pd.DataFrame) -> None:
    paired = paired_variants(per_target)
    keyed = paired.set_index(["base_model", "a", "b"])
    assert list(keyed.index) == [
        ("transferchrome", "uncross", "origin"),
        ("transferchrome", "cross", "origin"),
        ("transferchrome", "cross", "uncross"),
        ("deepchrome", "uncross", "origin"),
    ]
    # per-target differences: uncross - origin -.04 -.05 -.03; cross - origin -.02 -.02 -.02;
    # cross - uncross +.02 +.03 +.01; deepchrome uncross - origin -.02 -.02 +.01
    expected = {
        ("transferchrome", "uncross", "origin"): (0, 3, 0, -0.04, -0.04),
        ("transferchrome", "cross", "origin"): (0, 3, 0, -0.02, -0.02),
        ("transferchrome", "cross", "uncross"): (3, 0, 0, 0.02, 0.02),
        ("deepchrome", "uncross", "origin"): (1, 2, 0, -0.01, -0.02),
    }
    for key, (wins, losses, ties, mean, median) in expected.items():
        row = keyed.loc[key]
        assert (row["wins"], row["losses"], row["ties"]) == (wins, losses, ties)
        assert row["n_targets"] == 3
        assert row["mean_difference"] == pytest.approx(mean, abs=1e-12)
        assert row["median_difference"] == pytest.approx(median, abs=1e-12)
        assert math.isnan(row["p_value"])  # 3 targets < 5
        assert "too few" in row["note"]
        assert bool(row["paired_genes"]) is True


def _frame(origin: list[float], uncross: list[float], protocol: str = "honest") -> pd.DataFrame:
    rows = []
    for variant, values in (("origin", origin), ("uncross", uncross)):
        for i, v in enumerate(values):
            rows.append(
                {
                    "row": row_label("transferchrome", variant),
                    "base_model": "transferchrome",
                    "variant": variant,
                    "protocol": protocol,
                    "source": SOURCE,
                    "target": f"E{i + 3:03d}",
                    "seed": 0,
                    "test_auroc": v,
                    "n_test": 40,
                }
            )
    return pd.DataFrame(rows)


def test_paired_p_value_equals_scipy_for_six_targets() -> None:
    origin = [0.80, 0.82, 0.78, 0.85, 0.81, 0.79]
    uncross = [0.77, 0.81, 0.80, 0.81, 0.76, 0.775]
    paired = paired_variants(_frame(origin, uncross))
    assert len(paired) == 1
    row = paired.iloc[0]
    diff = np.array(uncross) - np.array(origin)
    assert (row["wins"], row["losses"], row["ties"]) == (1, 5, 0)
    assert row["mean_difference"] == pytest.approx(diff.mean())
    assert row["median_difference"] == pytest.approx(np.median(diff))
    assert row["p_value"] == pytest.approx(stats.wilcoxon(diff).pvalue)
    assert 0 < row["p_value"] < 1


def test_paired_drops_ties_and_skips_below_five_nonzero() -> None:
    # six targets, two of them ties: 4 non-zero differences -> no test
    origin = [0.80, 0.82, 0.78, 0.85, 0.81, 0.79]
    uncross = [0.77, 0.82, 0.80, 0.85, 0.76, 0.775]
    row = paired_variants(_frame(origin, uncross)).iloc[0]
    assert (row["n_targets"], row["wins"], row["losses"], row["ties"]) == (6, 1, 3, 2)
    assert math.isnan(row["p_value"])
    assert "only 4 non-zero" in row["note"]


def test_paired_genes_false_under_paper_protocol() -> None:
    origin = [0.80, 0.82, 0.78, 0.85, 0.81, 0.79]
    uncross = [0.77, 0.81, 0.80, 0.81, 0.76, 0.775]
    row = paired_variants(_frame(origin, uncross, protocol="paper")).iloc[0]
    assert bool(row["paired_genes"]) is False
    assert "different test genes" in row["note"]


def test_domain_curves(tmp_path: Path) -> None:
    a = tmp_path / "a.tsv"
    cross_history(3).to_csv(a, sep="\t", index=False)
    b = tmp_path / "b.tsv"
    cross_history(2).drop(columns=["grl_lambda"]).to_csv(b, sep="\t", index=False)
    curves = domain_curves({("E004", 1): a, "E003": b})
    assert list(curves.columns) == CURVE_COLUMNS
    assert list(curves["target"]) == ["E003", "E003", "E004", "E004", "E004"]
    assert curves["seed"].isna().tolist() == [True, True, False, False, False]
    assert list(curves["seed"].dropna()) == [1, 1, 1]
    e004 = curves[curves["target"] == "E004"]
    assert list(e004["epoch"]) == [1, 2, 3]
    assert list(e004["domain_accuracy"]) == pytest.approx([0.7, 0.6, 0.5])
    assert list(e004["grl_lambda"]) == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert curves.loc[curves["target"] == "E003", "grl_lambda"].isna().all()
    assert domain_curves({}).empty


def test_table3_reports_the_kept_epoch_and_the_lambda_it_saw():
    """Hand-checked: two targets, the cross row kept epochs 4 and 6 at lambda 0.2 and 0.4 -> 5.0 and 0.30; an
    origin row has epochs but no lambda."""
    from chromexpr.experiments.transfer.evaluate import PER_TARGET_COLUMNS, table3

    rows = [
        ("transferchrome (cross)", "transferchrome", "cross", "T1", 0.8, 4, 0.2),
        ("transferchrome (cross)", "transferchrome", "cross", "T2", 0.7, 6, 0.4),
        ("transferchrome (origin)", "transferchrome", "origin", "T1", 0.9, 3, None),
    ]
    per_target = pd.DataFrame(
        [
            {"row": r, "base_model": b, "variant": v, "protocol": "honest", "source": "S", "target": t, "seed": 0,
             "test_auroc": a, "n_test": 10, "best_epoch": e, "selected_grl_lambda": lam}
            for r, b, v, t, a, e, lam in rows
        ],
        columns=PER_TARGET_COLUMNS,
    )  # fmt: skip
    table = table3(per_target, None).set_index("row")
    assert table.loc["transferchrome (cross)", "mean_best_epoch"] == 5.0
    assert table.loc["transferchrome (cross)", "mean_selected_grl_lambda"] == pytest.approx(0.3)
    assert table.loc["transferchrome (origin)", "mean_best_epoch"] == 3.0
    assert np.isnan(table.loc["transferchrome (origin)", "mean_selected_grl_lambda"])
