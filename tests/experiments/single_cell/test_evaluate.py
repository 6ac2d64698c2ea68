"""Tests of chromexpr.evaluation.runs and .tables: the run diagnostics (stop reason, convergence against
chance, split balance, accuracy caveat), the curve tables and the new table columns, checked by hand."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from chromexpr.errors import InputError
from chromexpr.evaluation.runs import (
    CURVE_COLUMNS,
    ROC_COLUMNS,
    collect_metrics,
    read_predictions,
    roc_curves,
    run_diagnostics,
    stop_reason,
    training_curves,
)
from chromexpr.evaluation.statistics import chance_bce
from chromexpr.experiments.single_cell.evaluate import per_cell_table, runs_table, split_balance, table2

# train 3 of 4 positive (p = 0.75), valid 1 of 2, test 1 of 4: test - train = -0.5 -> accuracy caveat
LABELS_E003 = {"train": [1, 1, 1, 0], "valid": [1, 0], "test": [1, 0, 0, 0]}
# train 2 of 4, test 2 of 4: no caveat
LABELS_E004 = {"train": [1, 0, 1, 0], "valid": [1, 0], "test": [0, 1, 1, 0]}
CHANCE_75 = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))  # 0.562335
CHANCE_50 = math.log(2)  # chance on validation genes that are half positive


def write_run(
    root: Path,
    model: str,
    cell: str,
    seed: int,
    *,
    labels: dict[str, list[int]],
    valid_losses: list[float] | None,
    epochs_run: int | None,
    max_epochs: int | None,
    patience: int | None = 5,
    stopped_early: bool | None = None,
    test_auroc: float = 0.8,
    test_accuracy: float = 0.7,
) -> Path:
    run = root / model / cell / f"seed{seed}"
    run.mkdir(parents=True)
    record = {
        "model": model,
        "cell": cell,
        "seed": seed,
        "test_auroc": test_auroc,
        "test_auprc": 0.7,
        "test_accuracy": test_accuracy,
        "valid_auroc": 0.8,
        "best_epoch": 1 if epochs_run else None,
        "epochs_run": epochs_run,
        "wall_seconds": 1.0,
        "parameters": 100,
        "device": "cpu",
        "chromexpr_version": "0.1.0",
        "training": {"max_epochs": max_epochs, "patience": patience},
    }
    if stopped_early is not None:
        record["stopped_early"] = stopped_early
    (run / "metrics.json").write_text(json.dumps(record))
    if valid_losses is not None:
        lines = ["epoch\ttrain_loss\tvalid_loss\tvalid_auroc\tvalid_auprc\tlr\tseconds"]
        lines += [f"{i + 1}\t0.6\t{loss!r}\t0.7\t0.6\tNA\t1.0" for i, loss in enumerate(valid_losses)]
        (run / "history.tsv").write_text("\n".join(lines) + "\n")
    rng = np.random.default_rng(seed)
    rows = ["gene_id\tsplit\tlabel\tprobability"]
    for split, values in labels.items():
        rows += [f"g{split}{i}\t{split}\t{v}\t{rng.random():.6f}" for i, v in enumerate(values)]
    with gzip.open(run / "predictions.tsv.gz", "wt") as fh:
        fh.write("\n".join(rows) + "\n")
    return run / "metrics.json"


@pytest.fixture
def tree(tmp_path) -> list[Path]:
    return [
        # best valid loss == chance (3 of 4 positive): not converged; ran its whole budget
        write_run(
            tmp_path,
            "deepchrome",
            "E003",
            0,
            labels=LABELS_E003,
            valid_losses=[0.7, CHANCE_50, 0.6 + 0.1],
            epochs_run=3,
            max_epochs=3,
            stopped_early=False,
        ),
        # below chance: converged; stopped on patience
        write_run(
            tmp_path,
            "deepchrome",
            "E003",
            1,
            labels=LABELS_E003,
            valid_losses=[0.7, 0.5, 0.55],
            epochs_run=3,
            max_epochs=20,
            stopped_early=True,
        ),
        # no stopped_early key (older runs): fewer epochs than max_epochs counts as an early stop
        write_run(
            tmp_path,
            "deepchrome",
            "E004",
            0,
            labels=LABELS_E004,
            valid_losses=[0.69, 0.68],
            epochs_run=2,
            max_epochs=10,
        ),
        # scikit-learn: one fit, no epoch budget; above chance (log 2 at p = 0.5): not converged
        write_run(
            tmp_path,
            "logreg",
            "E004",
            0,
            labels=LABELS_E004,
            valid_losses=[0.70],
            epochs_run=1,
            max_epochs=None,
            patience=None,
        ),
    ]


def test_stop_reason():
    assert stop_reason(True, 6, 20) == "early stop"
    assert stop_reason(False, 4, 4) == "max_epochs"
    assert stop_reason(None, 3, 10) == "early stop"
    assert stop_reason(None, 10, 10) == "max_epochs"
    assert stop_reason(False, 1, None) == "single fit"


def test_run_diagnostics_by_hand(tree):
    diag = run_diagnostics(collect_metrics(tree)).set_index(["model", "cell", "seed"])
    a = diag.loc[("deepchrome", "E003", 0)]
    assert a["train_positive"] == 0.75 and a["valid_positive"] == 0.5 and a["test_positive"] == 0.25
    assert (a["n_train"], a["n_valid"], a["n_test"]) == (4, 2, 4)
    # chance is measured on the validation genes (q = 0.5), not the training prior (0.75: 0.562335)
    assert a["chance_loss"] == pytest.approx(0.693147, abs=1e-6)
    assert a["best_valid_loss"] == a["chance_loss"]  # equal to chance ...
    assert not a["converged"]  # ... is not better than chance
    assert a["stop"] == "max_epochs" and a["max_epochs"] == 3 and a["patience"] == 5
    assert a["accuracy_caveat"]  # |0.25 - 0.75| > 0.1
    b = diag.loc[("deepchrome", "E003", 1)]
    assert b["converged"] and b["stop"] == "early stop" and b["best_valid_loss"] == 0.5
    c = diag.loc[("deepchrome", "E004", 0)]
    assert c["stop"] == "early stop" and c["converged"]  # 0.68 < log 2 = 0.693
    assert c["chance_loss"] == pytest.approx(math.log(2)) and not c["accuracy_caveat"]
    d = diag.loc[("logreg", "E004", 0)]
    assert d["stop"] == "single fit" and not d["converged"]  # 0.70 >= log 2
    assert d["max_epochs"] is pd.NA
    assert diag["converged"].dtype == bool and diag["accuracy_caveat"].dtype == bool


def test_run_without_history_or_predictions_is_converged_unknown(tmp_path):
    path = write_run(tmp_path, "deepchrome", "E003", 0, labels={}, valid_losses=None, epochs_run=2, max_epochs=2)
    (path.parent / "predictions.tsv.gz").unlink()
    diag = run_diagnostics(collect_metrics([path])).iloc[0]
    assert math.isnan(diag["best_valid_loss"]) and math.isnan(diag["train_positive"])
    assert diag["converged"] and not diag["accuracy_caveat"] and diag["stop"] == "max_epochs"


def test_per_cell_table_flags(tree):
    runs = collect_metrics(tree)
    pc = per_cell_table(runs).set_index(["model", "cell"])
    e003 = pc.loc[("deepchrome", "E003")]
    assert e003["n_not_converged"] == 1 and not e003["converged"]  # one of its two seeds never beat chance
    assert e003["stop"] == "early stop, max_epochs"
    assert e003["train_positive"] == 0.75 and e003["test_positive"] == 0.25 and e003["accuracy_caveat"]
    e004 = pc.loc[("deepchrome", "E004")]
    assert e004["converged"] and not e004["accuracy_caveat"] and e004["stop"] == "early stop"
    assert not pc.loc[("logreg", "E004"), "converged"]
    assert pc["converged"].dtype == bool


def test_table2_counts_stops_and_non_converged(tree):
    t2 = table2(collect_metrics(tree)).set_index("model")
    assert (t2.loc["deepchrome", "n_early_stop"], t2.loc["deepchrome", "n_max_epochs"]) == (2, 1)
    assert t2.loc["deepchrome", "n_not_converged"] == 1
    assert (t2.loc["logreg", "n_early_stop"], t2.loc["logreg", "n_max_epochs"]) == (0, 0)
    assert t2.loc["logreg", "n_not_converged"] == 1


def test_split_balance_by_hand(tree):
    balance = split_balance(run_diagnostics(collect_metrics(tree))).set_index("cell")
    assert list(balance.index) == ["E003", "E004"]
    assert balance.loc["E003", ["train_positive", "valid_positive", "test_positive"]].tolist() == [0.75, 0.5, 0.25]
    assert balance.loc["E003", "test_minus_train"] == pytest.approx(-0.5)
    assert balance.loc["E003", "accuracy_caveat"] and not balance.loc["E004", "accuracy_caveat"]
    assert balance.loc["E004", "n_test"] == 4
    # runs without a labels record (older runs): the rule is left blank
    assert balance["label_median_over"].tolist() == ["", ""]


def test_split_balance_names_the_label_rule_from_metrics_json(tree):
    """metrics.json's labels record (the dataset's label meta) reaches the balance table, per cell."""
    import json

    for path in tree:
        metrics = json.loads(Path(path).read_text())
        over = "the cell's 3,789 genes in expression.tsv" if metrics["cell"] == "E003" else "the dataset's 12 genes"
        metrics["labels"] = {"rule": "expression >= median", "median": 4.02, "median_over": over}
        Path(path).write_text(json.dumps(metrics))
    runs = collect_metrics(tree)
    assert runs["label_median"].tolist() == [4.02] * len(tree)
    balance = split_balance(run_diagnostics(runs), runs).set_index("cell")
    assert balance.loc["E003", "label_median_over"] == "the cell's 3,789 genes in expression.tsv"
    assert balance.loc["E004", "label_median_over"] == "the dataset's 12 genes"
    assert balance.loc["E003", "label_median"] == 4.02


def test_runs_table_adds_scores(tree):
    runs = collect_metrics(tree)
    table = runs_table(run_diagnostics(runs), runs)
    assert list(table["model"]) == ["deepchrome"] * 3 + ["logreg"]
    assert table["test_auroc"].tolist() == [0.8] * 4


def test_training_curves_are_tidy(tree):
    curves = training_curves(collect_metrics(tree))
    assert tuple(curves.columns) == CURVE_COLUMNS
    assert len(curves) == 3 + 3 + 2 + 1
    run = curves[(curves["cell"] == "E003") & (curves["seed"] == 1)]
    assert run["epoch"].tolist() == [1, 2, 3] and run["valid_loss"].tolist() == [0.7, 0.5, 0.55]
    assert (curves["train_loss"] == 0.6).all()


def test_roc_curves_are_sklearn_on_the_test_split(tree):
    runs = collect_metrics(tree)
    roc = roc_curves(runs)
    assert tuple(roc.columns) == ROC_COLUMNS
    pred = read_predictions(Path(tree[0]).parent / "predictions.tsv.gz")
    test = pred[pred["split"] == "test"]
    fpr, tpr, _ = roc_curve(test["label"], test["probability"])
    mine = roc[(roc["model"] == "deepchrome") & (roc["cell"] == "E003") & (roc["seed"] == 0)]
    np.testing.assert_allclose(mine["fpr"], fpr)
    np.testing.assert_allclose(mine["tpr"], tpr)
    assert np.trapezoid(mine["tpr"], mine["fpr"]) == pytest.approx(roc_auc_score(test["label"], test["probability"]))
    assert set(zip(roc["model"], roc["cell"], roc["seed"], strict=True)) == {
        ("deepchrome", "E003", 0),
        ("deepchrome", "E003", 1),
        ("deepchrome", "E004", 0),
        ("logreg", "E004", 0),
    }


def test_bad_predictions_name_the_file(tmp_path):
    path = tmp_path / "predictions.tsv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("gene_id\tsplit\tlabel\tprobability\ng1\tholdout\t1\t0.5\n")
    with pytest.raises(InputError, match="holdout") as err:
        read_predictions(path)
    assert str(path) in str(err.value)
    assert chance_bce(0.75) == pytest.approx(CHANCE_75)
