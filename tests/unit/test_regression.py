"""The regression task and entry point (chromexpr.training.regression): targets, cell folds, run parts, the
MSE task in the one loop, selection, and a whole run on tiny datasets of three cells."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from chromexpr.dataset import build_dataset, save_dataset
from chromexpr.errors import InputError
from chromexpr.training.model_file import load_model_file
from chromexpr.training.regression import (
    RegressionTask,
    regression_scores,
    train_regression,
)
from chromexpr.training.runtime import improved
from chromexpr.training.tasks import Examples

MARKS = ["H3K4me3", "H3K4me1", "H3K36me3", "H3K27me3", "H3K9me3"]


def test_selection_lower_keeps_the_smallest() -> None:
    assert improved(0.5, 0.6, lower=True) and not improved(0.7, 0.6, lower=True)
    assert improved(0.6, 0.6, lower=True)  # ties: the later epoch
    assert not improved(math.nan, 0.6, lower=True) and improved(0.6, None, lower=True)


def test_scores_by_hand() -> None:
    table = pd.DataFrame(
        {
            "cell": ["A", "A", "B", "B"],
            "seen": [True, True, False, False],
            "target": [1.0, 2.0, 3.0, 4.0],
            "prediction": [1.0, 3.0, 3.0, 2.0],
        }
    )
    s = regression_scores(table)
    assert s["test_mse"] == pytest.approx((0 + 1 + 0 + 4) / 4)
    assert s["test_seen_mse"] == pytest.approx(0.5) and s["test_unseen_mse"] == pytest.approx(2.0)
    assert s["test_mse_per_cell"] == {"A": pytest.approx(0.5), "B": pytest.approx(2.0)}
    assert s["test_r2"] == pytest.approx(1 - 5 / 5)  # SS_res 5, SS_tot 5
    assert s["n_test_seen"] == 2 and s["n_test_unseen"] == 2


class _Mean(torch.nn.Module):
    """prediction = w * mean(x) + b: a two-parameter regressor for the task tests."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(()))
        self.b = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return {"prediction": self.w * x.mean(dim=(1, 2)) + self.b}


def _examples(x: np.ndarray, y: np.ndarray) -> Examples:
    n = x.shape[0]
    return Examples(
        x=x.astype(np.float32), y=y.astype(np.float32), gene_ids=np.arange(n).astype(str), cells=np.full(n, "A")
    )


def test_task_loss_and_validation_by_hand() -> None:
    x = np.zeros((4, 1, 2), dtype=np.float32)
    x[:, 0, :] = np.array([[1, 1], [2, 2], [3, 3], [4, 4]])
    train = _examples(x, np.array([1.0, 2.0, 3.0, 4.0]))
    valid = _examples(x[:2], np.array([0.0, 4.0]))
    task = RegressionTask(train, valid, selection="valid_mse")
    assert task.selection_metric == "valid_mse" and task.selection_lower
    task.to(torch.device("cpu"))
    model = _Mean()
    with torch.no_grad():
        model.w.fill_(1.0)  # prediction = mean(x) = 1, 2, 3, 4
    loss, stats = task.step(model, torch.tensor([0, 1]), progress=0.0, amp=False)
    assert float(loss.detach()) == pytest.approx(0.0)
    v = task.validate(model, amp=False)
    assert v["valid_mse"] == pytest.approx((1 + 4) / 2)  # predictions 1, 2 against 0, 4
    assert v["trainval_mse"] == pytest.approx(0.0)
    fixed = RegressionTask(train, valid)
    assert fixed.selection_metric == "epoch" and not fixed.selection_lower
    with pytest.raises(InputError, match="same target"):
        RegressionTask(_examples(x, np.ones(4)), valid)


def _dataset(tmp_path, cell: str, rng: np.random.Generator, n: int = 60, bins: int = 100):
    counts = rng.poisson(3.0, size=(n, 5, bins)).astype(np.int32)
    expression = np.exp(counts[:, 0].mean(axis=1) - counts[:, 3].mean(axis=1) + rng.normal(0, 0.3, n))
    split = np.array(["train", "valid", "test"] * (n // 3))
    gene_ids = np.array([f"g{i}" for i in range(n)])
    ds = build_dataset(counts, gene_ids, MARKS, expression, split, cell=cell, geometry={"n_bins": bins})
    path = tmp_path / f"{cell}.npz"
    save_dataset(ds, path)
    return path


@pytest.fixture
def three_cells(tmp_path):
    rng = np.random.default_rng(0)
    return {c: _dataset(tmp_path, c, rng) for c in ("A", "B", "C")}


def test_baseline_run(three_cells, tmp_path) -> None:
    out = tmp_path / "run"
    m = train_regression("linear_regression", three_cells, out, train_cells=["A", "B"], valid_cells=["A", "B"], seed=0)
    table = pd.read_csv(out / "predictions.tsv.gz", sep="\t")
    assert len(table) == 3 * 20 and set(table["cell"]) == {"A", "B", "C"}
    assert table.loc[table["cell"] == "C", "seen"].eq(False).all()
    assert m["test_mse"] == pytest.approx(float(np.mean((table["prediction"] - table["target"]) ** 2)))
    unseen = table[table["cell"] == "C"]
    assert m["test_unseen_mse"] == pytest.approx(float(np.mean((unseen["prediction"] - unseen["target"]) ** 2)))
    assert m["n_train"] == 40 and m["n_valid"] == 40 and m["n_test"] == 60
    assert json.loads((out / "metrics.json").read_text())["target_label"] == "log2(expression + 1)"


def test_torch_run_fixed_budget_and_classifier(three_cells, tmp_path) -> None:
    out = tmp_path / "fold"
    m = train_regression(
        "jamaica_cnn",
        three_cells,
        out,
        train_cells=["A", "B"],
        valid_cells=["C"],
        test_cells=["A", "B", "C"],
        seed=0,
        device="cpu",
        max_epochs=2,
    )
    history = pd.read_csv(out / "history.tsv", sep="\t")
    assert history["epoch"].tolist() == [1, 2] and m["best_epoch"] == 2  # fixed: the last epoch is kept
    assert history["trainval_mse"].notna().all() and m["training"]["selection"] == "fixed"
    assert m["parameters"] == 1_567_809 and not (out / "checkpoint.pt").exists()
    state = load_model_file(out / "model.pt").state_dict
    assert any(k.endswith("running_mean") for k in state)
    again = train_regression(
        "jamaica_cnn",
        three_cells,
        tmp_path / "again",
        train_cells=["A", "B"],
        valid_cells=["C"],
        seed=0,
        device="cpu",
        max_epochs=2,
    )
    assert again["test_mse"] == m["test_mse"]  # deterministic on CPU
    clf = train_regression(
        "jamaica_celltype",
        three_cells,
        tmp_path / "clf",
        train_cells=["A", "B"],
        valid_cells=["A", "B"],
        seed=0,
        device="cpu",
        max_epochs=1,
    )
    probs = pd.read_csv(tmp_path / "clf" / "predictions.tsv.gz", sep="\t")
    assert np.allclose(probs[["p_A", "p_B"]].sum(axis=1), 1.0)
    assert clf["classes"] == ["A", "B"] and 0.0 <= clf["test_accuracy"] <= 1.0 and "test_mse" not in clf


def test_wrong_card_is_refused(three_cells, tmp_path) -> None:
    with pytest.raises(InputError, match="classification card"):
        train_regression("deepchrome", three_cells, tmp_path / "x", train_cells=["A"], valid_cells=["A"])
    with pytest.raises(InputError, match="no dataset given"):
        train_regression("linear_regression", three_cells, tmp_path / "x", train_cells=["Z"], valid_cells=["A"])
