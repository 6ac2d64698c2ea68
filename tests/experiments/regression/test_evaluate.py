"""The regression experiment's combinations and tables (chromexpr.experiments.regression.evaluate): the ensemble
mean and the classifier-weighted variant by hand, combined runs from run files, the MSE and per-cell tables, the
paper's MSEs read from the cards, and the input gradients (chromexpr.evaluation.attribution) against hand-derived
values."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from chromexpr.errors import InputError
from chromexpr.evaluation.attribution import input_gradients, mean_input_gradients
from chromexpr.experiments.regression.evaluate import (
    collect_regression_metrics,
    combine_runs,
    ensemble_predictions,
    loss_curves,
    mse_table,
    per_cell_table,
    published_mse,
    published_source,
    weighted_predictions,
)
from chromexpr.training import outputs


def _table(predictions, cells=("A", "A", "B"), genes=("g1", "g2", "g1"), targets=(1.0, 2.0, 3.0)) -> pd.DataFrame:
    return pd.DataFrame(
        {"cell": list(cells), "gene_id": list(genes), "seen": True, "target": list(targets), "prediction": predictions}
    )


def test_ensemble_is_the_row_mean() -> None:
    out = ensemble_predictions([_table([1.0, 2.0, 6.0]), _table([3.0, 2.0, 0.0]), _table([2.0, 5.0, 3.0])], ["A"])
    assert out["prediction"].tolist() == [2.0, 3.0, 3.0]
    assert out["seen"].tolist() == [True, True, False]  # B is no training cell
    with pytest.raises(InputError, match="other test rows"):
        ensemble_predictions([_table([1.0, 2.0, 3.0]), _table([1.0, 2.0, 3.0], genes=("g1", "g3", "g1"))], ["A"])


def test_weighted_by_hand() -> None:
    probs = _table([0, 0, 0]).drop(columns="prediction").assign(p_A=[0.25, 1.0, 0.5], p_B=[0.75, 0.0, 0.5])
    cell_a = _table([4.0, 2.0, 1.0])
    cell_b = _table([8.0, 9.0, 3.0])
    out = weighted_predictions(probs, {"A": cell_a, "B": cell_b}, ["A", "B"])
    # 0.25*4 + 0.75*8 = 7; 1*2 + 0*9 = 2; 0.5*1 + 0.5*3 = 2
    assert out["prediction"].tolist() == [7.0, 2.0, 2.0]
    with pytest.raises(InputError, match="no cell-specific sub-model"):
        weighted_predictions(probs, {"A": cell_a}, ["A", "B"])


def _run(tmp_path, name: str, predictions, **metrics) -> str:
    folder = tmp_path / name
    folder.mkdir(parents=True)
    table = _table(predictions)
    outputs.write_table_gz(folder / "predictions.tsv.gz", table)
    record = {
        "model": "jamaica_cnn",
        "part": name,
        "seed": 0,
        "target": "log2p1",
        "epochs_run": 2,
        "task": "regression",
    }
    record.update({k: 0.0 for k in ("test_mse", "test_pearson", "test_spearman", "test_r2")}, **metrics)
    (folder / "metrics.json").write_text(json.dumps(record))
    return str(folder)


def test_combined_run_files(tmp_path) -> None:
    members = {"fold0": _run(tmp_path, "fold0", [1.0, 2.0, 4.0]), "fold1": _run(tmp_path, "fold1", [1.0, 4.0, 2.0])}
    m = combine_runs("ensemble", members, tmp_path / "ens", training_cells=["A"], seed=0)
    # mean predictions 1, 3, 3 against targets 1, 2, 3: squared errors 0, 1, 0
    assert m["test_mse"] == pytest.approx(1 / 3)
    assert m["test_seen_mse"] == pytest.approx(0.5) and m["test_unseen_mse"] is None  # one unseen row
    assert m["published_mse"] == published_mse("ensemble") == 3.26
    written = json.loads((tmp_path / "ens" / "metrics.json").read_text())
    assert written["model"] == "ensemble" and written["part"] == "all"
    records = collect_regression_metrics([tmp_path / "ens" / "metrics.json", tmp_path / "fold0" / "metrics.json"])
    assert [r["model"] for r in records] == ["ensemble", "jamaica_cnn"]


def test_mse_and_per_cell_tables() -> None:
    records = [
        {
            "model": "linear_regression",
            "part": "all",
            "seed": s,
            "test_mse": v,
            "test_pearson": 0.5,
            "test_spearman": 0.4,
            "test_r2": 0.1,
            "n_test": 3,
            "train_cells": ["A"],
            "test_mse_per_cell": {"A": v, "B": 2 * v},
        }
        for s, v in ((0, 4.0), (1, 6.0))
    ] + [
        {
            "model": "ensemble",
            "part": "all",
            "seed": 0,
            "test_mse": 3.0,
            "test_pearson": 0.6,
            "test_spearman": 0.5,
            "test_r2": 0.2,
            "n_test": 3,
            "train_cells": ["A"],
            "test_mse_per_cell": {"A": 2.0},
        },
        {
            "model": "jamaica_cnn",
            "part": "fold1",
            "seed": 0,
            "test_mse": 3.5,
            "test_pearson": 0.6,
            "test_spearman": 0.5,
            "test_r2": 0.2,
            "n_test": 3,
            "train_cells": [],
            "test_mse_per_cell": {},
        },
    ]
    table = mse_table(records)
    assert table["model"].tolist() == ["ensemble", "jamaica_cnn", "linear_regression"]
    lin = table[table["model"] == "linear_regression"].iloc[0]
    assert lin["test_mse"] == 5.0 and lin["test_mse_sd"] == pytest.approx(np.std([4.0, 6.0], ddof=1))
    assert lin["n_seeds"] == 2 and lin["published_mse"] == 4.70
    fold = table[table["part"] == "fold1"].iloc[0]
    assert fold["role"] == "ensemble sub-model" and pd.isna(fold["published_mse"])
    per_cell = per_cell_table(records)
    row = per_cell[(per_cell["model"] == "linear_regression") & (per_cell["cell"] == "B")].iloc[0]
    assert row["test_mse"] == 10.0 and not row["seen"]  # (8 + 12) / 2 and row["n_seeds"] == 2


def test_published_mses_come_from_the_cards() -> None:
    # the paper's Results: the ensemble (jamaica_cnn, row ensemble), the weighted variant (jamaica_celltype, row
    # weighted), linear regression (its own card's entry)
    assert published_mse("ensemble") == 3.26
    assert published_mse("weighted") == 3.47
    assert published_mse("linear_regression") == 4.70
    # a model's number is its card's entry without a row: jamaica_cnn's 3.26 is the ensemble's, not the model's
    assert published_mse("jamaica_cnn") is None and published_mse("jamaica_celltype") is None
    assert published_mse("no_such_card") is None
    assert published_source().startswith("Team Jamaica") and "56 cell types" in published_source()


def test_loss_curves(tmp_path) -> None:
    path = tmp_path / "history.tsv"
    pd.DataFrame(
        {"epoch": [1, 2], "train_loss": [2.0, 1.0], "valid_mse": [3.0, 2.5], "trainval_mse": [1.5, 0.9]}
    ).to_csv(path, sep="\t", index=False)
    curves = loss_curves({("fold0", 0): path})
    assert curves.columns.tolist() == ["submodel", "seed", "epoch", "train_loss", "valid_mse", "trainval_mse"]
    assert curves["trainval_mse"].tolist() == [1.5, 0.9] and curves["submodel"].eq("fold0").all()


class _Linear(torch.nn.Module):
    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(w)

    def forward(self, x):
        return {"prediction": (x * self.w).sum(dim=(1, 2)) + (x[:, 0, 0] ** 2)}


def test_input_gradients_by_hand() -> None:
    w = torch.tensor([[1.0, -2.0], [0.5, 0.0]])
    x = np.array([[[3.0, 0.0], [0.0, 0.0]], [[-1.0, 0.0], [0.0, 0.0]]], dtype=np.float32)  # (2, 2, 2)
    g = input_gradients(_Linear(w), x, batch_size=1)
    # d/dx = w, plus 2 x[0, 0] at (mark 0, bin 0): 1 + 6 = 7 and 1 - 2 = -1
    assert g[0].tolist() == [[7.0, -2.0], [0.5, 0.0]] and g[1].tolist() == [[-1.0, -2.0], [0.5, 0.0]]
    mean = mean_input_gradients([_Linear(w), _Linear(-w)], x)
    # the two models' w cancel; the x^2 term stays: mean over genes of 2 x[0, 0] = (6 - 2) / 2
    assert mean.tolist() == [[2.0, 0.0], [0.0, 0.0]]
    with pytest.raises(InputError, match="no output"):
        input_gradients(_Linear(w), x, key="logits")
