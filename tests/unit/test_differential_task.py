"""Tests for chromexpr.training.differential: the LFC and auxiliary targets, the contrastive loss, the
differential task's loss by hand, and whole runs (torch through the one loop, a scikit-learn baseline)."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from chromexpr.dataset import CANONICAL_MARKS, build_dataset, save_dataset
from chromexpr.errors import InputError
from chromexpr.models import load_card
from chromexpr.training.differential import (
    HISTORY_COLUMNS,
    DifferentialTask,
    PairExamples,
    contrastive_loss,
    pair_targets,
    train_differential,
)
from chromexpr.training.shell import METRICS_KEYS

MARKS = list(CANONICAL_MARKS)
N_GENES, N_BINS = 300, 20
GENE_IDS = np.array([f"ENSG{i:011d}" for i in range(N_GENES)])
SPLIT = np.array(["train"] * 180 + ["valid"] * 60 + ["test"] * 60)


def test_pair_targets_by_hand() -> None:
    """A = (0, 3, 7), B = (1, 1, 31): LFC = log2(2/1) = 1, log2(2/4) = -1, log2(32/8) = 2; log2(c + 1) of A
    = 0, 2, 3 and of B = 1, 1, 5."""
    lfc, ta, tb = pair_targets(np.array([0, 3, 7]), np.array([1, 1, 31]))
    np.testing.assert_allclose(lfc, [1.0, -1.0, 2.0], atol=1e-12)
    np.testing.assert_allclose(ta, [0.0, 2.0, 3.0], atol=1e-12)
    np.testing.assert_allclose(tb, [1.0, 1.0, 5.0], atol=1e-12)


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_pair_targets_refuse_what_is_not_counts(bad: float) -> None:
    with pytest.raises(InputError, match="not raw read counts"):
        pair_targets(np.array([1.0, bad]), np.array([1.0, 2.0]))


def test_contrastive_loss_by_hand_on_two_pairs() -> None:
    """Pair 1 similar (y = 0), embeddings 5 apart (a 3-4-5 triangle): (1 - 0) * 5^2 = 25. Pair 2 differential
    (y = 1), 1 apart with margin 2: max(0, 2 - 1)^2 = 1. Mean 13 (pairwise_distance adds 1e-6 to the
    difference, as the reference, which moves this by ~1e-5)."""
    ea = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    eb = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
    loss = contrastive_loss(ea, eb, torch.tensor([0.0, 1.0]), margin=2.0)
    assert float(loss) == pytest.approx(13.0, abs=1e-4)
    # a differential pair already beyond the margin costs nothing; a similar pair at distance 0 neither
    far = contrastive_loss(torch.zeros(1, 2), torch.tensor([[3.0, 4.0]]), torch.tensor([1.0]), margin=2.0)
    assert float(far) == 0.0
    same = contrastive_loss(torch.ones(1, 2), torch.ones(1, 2), torch.tensor([0.0]), margin=2.0)
    assert float(same) == pytest.approx(2e-12, abs=1e-10)


class _Fixed(nn.Module):
    """A stand-in differential model whose outputs are fixed functions of the input (one learnable scale)."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(1.0))

    def forward(self, x_a: torch.Tensor, x_b: torch.Tensor) -> dict:
        pa = self.scale * x_a[:, 0, 0]
        pb = self.scale * x_b[:, 0, 0]
        return {
            "prediction": pb - pa,
            "prediction_a": pa,
            "prediction_b": pb,
            "embedding_a": x_a[:, 0, :2],
            "embedding_b": x_b[:, 0, :2],
        }


def _examples(x_a: np.ndarray, x_b: np.ndarray, lfc, ta, tb) -> PairExamples:
    f = np.float32
    return PairExamples(
        x_a=x_a.astype(f),
        x_b=x_b.astype(f),
        lfc=np.asarray(lfc, f),
        target_a=np.asarray(ta, f),
        target_b=np.asarray(tb, f),
        gene_ids=np.array(["g1", "g2"]),
    )


def test_task_loss_is_the_weighted_sum_by_hand() -> None:
    """Two genes. x_a[:, 0, :2] = (1, 0) and (0, 0); x_b[:, 0, :2] = (4, 4) and (1, 0). Predictions (scale 1):
    A = (1, 0), B = (4, 1), LFC = (3, 1). Targets: LFC (2, 3) -> MSE ((3-2)^2 + (1-3)^2)/2 = 2.5; auxiliary A
    (0, 0) -> 0.5, B (4, 0) -> 0.5, sum 1. Contrastive, threshold 2: both |LFC| >= 2 -> y = 1; distances
    ||(1,0)-(4,4)|| = 5 -> 0, ||(0,0)-(1,0)|| = 1 -> (2-1)^2 = 1; mean 0.5. Loss = 2.5 + 1 + 4 * 0.5 = 5.5."""
    x_a = np.zeros((2, 1, 3))
    x_b = np.zeros((2, 1, 3))
    x_a[0, 0, :2] = (1, 0)
    x_b[0, 0, :2] = (4, 4)
    x_b[1, 0, :2] = (1, 0)
    ex = _examples(x_a, x_b, [2.0, 3.0], [0.0, 0.0], [4.0, 0.0])
    task = DifferentialTask(
        ex, ex, weights={"lfc": 1.0, "aux": 1.0, "contrastive": 4.0}, contrastive={"margin": 2.0, "threshold": 2.0}
    )
    task.to(torch.device("cpu"))
    loss, stats = task.step(_Fixed(), torch.tensor([0, 1]), progress=0.0, amp=False)
    assert loss.item() == pytest.approx(5.5, abs=1e-4)
    record = task.epoch_record({k: float(v) for k, v in stats.items()})
    assert record["train_lfc_mse"] == pytest.approx(2.5)
    assert record["train_aux_mse"] == pytest.approx(1.0)
    assert record["train_contrastive"] == pytest.approx(0.5, abs=1e-5)
    # the weights select the terms: LFC only
    only = DifferentialTask(ex, ex, weights={"lfc": 1.0})
    only.to(torch.device("cpu"))
    assert only.step(_Fixed(), torch.tensor([0, 1]), progress=0.0, amp=False)[0].item() == pytest.approx(2.5)


def test_task_names_a_missing_output() -> None:
    class NoAux(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.zeros(()))

        def forward(self, x_a, x_b):
            return {"prediction": self.w * x_a[:, 0, 0]}

    x = np.random.default_rng(0).random((2, 1, 3))
    ex = _examples(x, x + 1, [2.0, 3.0], [0.0, 1.0], [1.0, 0.0])
    task = DifferentialTask(ex, ex, weights={"lfc": 1.0, "aux": 1.0})
    task.to(torch.device("cpu"))
    with pytest.raises(InputError, match="prediction_a, prediction_b") as exc:
        task.step(NoAux(), torch.tensor([0, 1]), progress=0.0, amp=False)
    assert exc.value.key == "training.loss_weights.aux"


# --- whole runs on a tiny synthetic pair --------------------------------------------------------------


def _pair(tmp_path: Path) -> tuple[Path, Path]:
    """Two cells on the same genes: the raw RNA-seq count of a gene follows its H3K4me3 reads around the
    TSS (bins 8-11) in each cell, so the LFC follows the H3K4me3 difference."""
    paths = []
    rng = np.random.default_rng(11)
    activity = rng.uniform(0, 6, N_GENES)  # log2 count of the gene in cell A
    shift = rng.normal(0, 2, N_GENES)  # its LFC
    for cell, level in (("EA", activity), ("EB", activity + shift)):
        counts = rng.poisson(1.0, (N_GENES, len(MARKS), N_BINS)).astype(np.int32)  # (genes, marks, bins)
        counts[:, MARKS.index("H3K4me3"), 8:12] += rng.poisson(np.clip(level, 0, None)[:, None] * 2, (N_GENES, 4))
        expression = np.round(2.0 ** np.clip(level, 0, None)) - 1  # raw counts
        ds = build_dataset(counts, GENE_IDS, MARKS, expression, SPLIT, cell=cell, geometry={"n_bins": N_BINS})
        path = tmp_path / f"{cell}.npz"
        save_dataset(ds, path)
        paths.append(path)
    return paths[0], paths[1]


def _card(variant: str = "raw_d", **training) -> dict:
    card = copy.deepcopy(load_card(f"deepdiff_{variant}"))
    card["hyperparameters"].update(bin_hidden=4, mark_hidden=2)
    card["input"]["bins"] = N_BINS
    card["expected_parameters"] = None
    card["training"].update({"lr": 1e-2, "batch_size": 30, "max_epochs": 4, "patience": None, **training})
    return card


def test_torch_run_writes_its_files_and_scores_test_genes_once(tmp_path: Path) -> None:
    a, b = _pair(tmp_path)
    run = tmp_path / "run"
    m = train_differential(_card("aux_siamese"), a, b, run, seed=0, device="cpu")
    keys = METRICS_KEYS["differential"]
    assert list(m)[: len(keys)] == list(keys)
    assert (m["pair"], m["cell_a"], m["cell_b"], m["task"]) == ("EA_vs_EB", "EA", "EB", "differential")
    assert (m["n_train"], m["n_valid"], m["n_test"]) == (180, 60, 60)
    assert json.loads((run / "metrics.json").read_text())["test_pearson"] == pytest.approx(m["test_pearson"])
    predictions = pd.read_csv(run / "predictions.tsv.gz", sep="\t")
    assert predictions["gene_id"].tolist() == GENE_IDS[SPLIT == "test"].tolist()  # the test genes, in order
    assert list(predictions.columns) == [
        "gene_id",
        "split",
        "lfc",
        "prediction",
        "target_a",
        "target_b",
        "prediction_a",
        "prediction_b",
    ]
    # the recorded metrics are those of the written predictions
    r = np.corrcoef(predictions["lfc"], predictions["prediction"])[0, 1]
    assert m["test_pearson"] == pytest.approx(r, abs=1e-6)
    assert m["test_mse"] == pytest.approx(np.mean((predictions["lfc"] - predictions["prediction"]) ** 2), abs=1e-6)
    attention = np.load(run / "attention.npz")
    assert attention["gene_id"].tolist() == predictions["gene_id"].tolist()
    assert attention["mark"].shape == (60, 2 * len(MARKS))
    np.testing.assert_allclose(attention["mark"][:, :5].sum(axis=1), 1.0, atol=1e-5)  # A's mark attention
    history = pd.read_csv(run / "history.tsv", sep="\t")
    assert list(history.columns) == list(HISTORY_COLUMNS)
    assert len(history) == 4 and (history["train_contrastive"] > 0).all()
    # the kept epoch is the best validation Pearson r (ties: the later; an undefined r never wins)
    best = history["valid_pearson"].to_numpy()
    assert m["best_epoch"] == int(np.flatnonzero(best == np.nanmax(best))[-1]) + 1
    assert m["valid_pearson"] == pytest.approx(np.nanmax(best))
    assert not (run / "checkpoint.pt").exists()
    assert (run / "model.pt").is_file()


def test_torch_run_learns_the_lfc_and_is_deterministic(tmp_path: Path) -> None:
    a, b = _pair(tmp_path)
    m1 = train_differential(_card("raw_d", max_epochs=6), a, b, tmp_path / "r1", seed=3, device="cpu")
    m2 = train_differential(_card("raw_d", max_epochs=6), a, b, tmp_path / "r2", seed=3, device="cpu")
    assert m1["test_pearson"] > 0.5  # the LFC follows the H3K4me3 difference
    assert m1["test_pearson"] == m2["test_pearson"]
    p1 = pd.read_csv(tmp_path / "r1" / "predictions.tsv.gz", sep="\t")
    p2 = pd.read_csv(tmp_path / "r2" / "predictions.tsv.gz", sep="\t")
    pd.testing.assert_frame_equal(p1, p2)


def test_baseline_run_writes_the_same_files(tmp_path: Path) -> None:
    import chromexpr.models.diff_baselines  # noqa: F401 - registers the baselines

    a, b = _pair(tmp_path)
    card = copy.deepcopy(load_card("svr_best_bin"))
    card["input"]["bins"] = N_BINS
    run = tmp_path / "svr"
    m = train_differential(card, a, b, run, seed=0)
    assert m["framework"] == "sklearn" and m["parameters"] is None
    assert (run / "model.skops").is_file() and not (run / "attention.npz").exists()
    assert isinstance(m["selection"], dict) and math.isfinite(m["valid_pearson"])
    assert 8 <= m["selection"]["bin"] <= 11  # the H3K4me3 bins carry the signal
    predictions = pd.read_csv(run / "predictions.tsv.gz", sep="\t")
    assert list(predictions.columns) == ["gene_id", "split", "lfc", "prediction"]
    assert m["test_pearson"] == pytest.approx(np.corrcoef(predictions["lfc"], predictions["prediction"])[0, 1])
    assert m["test_pearson"] > 0.5
    history = pd.read_csv(run / "history.tsv", sep="\t")
    assert len(history) >= N_BINS  # one candidate per bin, with its validation r


def test_a_pair_must_share_its_genes(tmp_path: Path) -> None:
    a, _ = _pair(tmp_path)
    other = build_dataset(
        np.zeros((N_GENES, len(MARKS), N_BINS), np.int32),
        GENE_IDS[::-1],
        MARKS,
        np.arange(N_GENES, dtype=float),
        SPLIT,
        cell="EC",
        geometry={"n_bins": N_BINS},
    )
    save_dataset(other, tmp_path / "EC.npz")
    with pytest.raises(InputError, match="different genes"):
        train_differential(_card(), a, tmp_path / "EC.npz", tmp_path / "x", device="cpu")


def test_a_classification_card_is_refused(tmp_path: Path) -> None:
    a, b = _pair(tmp_path)
    with pytest.raises(InputError, match="needs a differential card"):
        train_differential("deepchrome", a, b, tmp_path / "x")


# --- DeepDiff's AttentiveChrome baseline: two cell runs trained independently, assembled --------------------


def _cell_cards() -> tuple[dict, dict]:
    """The baseline's cards at test size: the cell regressor and the pair card assembled from its runs."""
    cell = copy.deepcopy(load_card("attentivechrome_cell"))
    cell["hyperparameters"].update(bin_hidden=4, mark_hidden=2)
    cell["input"]["bins"] = N_BINS
    cell["expected_parameters"] = None
    cell["training"].update({"lr": 1e-2, "batch_size": 30, "max_epochs": 5, "patience": None})
    pair = copy.deepcopy(load_card("attentivechrome_diff"))
    pair["hyperparameters"].update(bin_hidden=4, mark_hidden=2)
    pair["input"]["bins"] = N_BINS
    pair["expected_parameters"] = None
    pair["cell_runs"] = cell
    return cell, pair


def test_the_attentivechrome_baseline_is_two_independent_cell_runs(tmp_path: Path) -> None:
    from chromexpr.training.regression import train_regression

    a, b = _pair(tmp_path)
    cell, pair = _cell_cards()
    runs = {}
    for side, name, path in (("a", "EA", a), ("b", "EB", b)):
        runs[side] = tmp_path / name
        train_regression(cell, {name: path}, runs[side], train_cells=[name], valid_cells=[name], seed=side == "b")
    m = train_differential(pair, a, b, tmp_path / "pair", seed=0, cell_runs=runs)
    # each half is its cell's run, as that run selected it on its own validation genes: the pair's predictions of
    # each cell are the cell run's own test predictions
    predictions = pd.read_csv(tmp_path / "pair" / "predictions.tsv.gz", sep="\t")
    for side in ("a", "b"):
        own = pd.read_csv(runs[side] / "predictions.tsv.gz", sep="\t")
        assert own["gene_id"].tolist() == predictions["gene_id"].tolist()
        np.testing.assert_allclose(predictions[f"prediction_{side}"], own["prediction"], atol=1e-5)
        np.testing.assert_allclose(predictions[f"target_{side}"], own["target"], atol=1e-6)
        history = pd.read_csv(runs[side] / "history.tsv", sep="\t")
        own_metrics = json.loads((runs[side] / "metrics.json").read_text())
        # selected on the cell's own validation MSE (the lowest; ties: the later)
        mse = history["valid_mse"].to_numpy()
        assert own_metrics["best_epoch"] == int(np.flatnonzero(mse == mse.min())[-1]) + 1
        assert m["cell_runs"][side]["best_epoch"] == own_metrics["best_epoch"]
        assert m["cell_runs"][side]["valid_mse"] == pytest.approx(own_metrics["valid_mse"])
    np.testing.assert_allclose(predictions["prediction"], predictions["prediction_b"] - predictions["prediction_a"])
    assert m["test_pearson"] == pytest.approx(np.corrcoef(predictions["lfc"], predictions["prediction"])[0, 1])
    assert m["best_epoch"] == max(m["cell_runs"][s]["best_epoch"] for s in "ab")
    assert (
        m["epochs_run"] == 5
        and m["parameters"] == 2 * json.loads((runs["a"] / "metrics.json").read_text())["parameters"]
    )
    assert math.isfinite(m["valid_pearson"])
    pair_history = pd.read_csv(tmp_path / "pair" / "history.tsv", sep="\t")
    assert pair_history["cell"].tolist() == ["a: EA"] * 5 + ["b: EB"] * 5
    assert (tmp_path / "pair" / "attention.npz").is_file() and (tmp_path / "pair" / "model.pt").is_file()


def test_the_baseline_refuses_a_run_of_the_other_cell_or_no_runs(tmp_path: Path) -> None:
    from chromexpr.training.regression import train_regression

    a, b = _pair(tmp_path)
    cell, pair = _cell_cards()
    cell["training"]["max_epochs"] = 1
    train_regression(cell, {"EA": a}, tmp_path / "EA", train_cells=["EA"], valid_cells=["EA"])
    with pytest.raises(InputError, match="trained on EA, not on EB alone"):
        train_differential(pair, a, b, tmp_path / "x", cell_runs={"a": tmp_path / "EA", "b": tmp_path / "EA"})
    with pytest.raises(InputError, match="assembled from two runs of card 'attentivechrome_cell'"):
        train_differential(pair, a, b, tmp_path / "y", cell_runs={"a": tmp_path / "EA"})
    with pytest.raises(InputError, match="trains its own weights: it takes no cell runs"):
        train_differential(_card(), a, b, tmp_path / "z", cell_runs={"a": tmp_path / "EA", "b": tmp_path / "EA"})


def test_without_cell_runs_train_differential_trains_them_first(tmp_path: Path) -> None:
    a, b = _pair(tmp_path)
    cell, pair = _cell_cards()
    cell["training"]["max_epochs"] = 2
    m = train_differential(pair, a, b, tmp_path / "pair", seed=0)
    assert [m["cell_runs"][s]["cell"] for s in "ab"] == ["EA", "EB"]
    for side, name in (("a", "EA"), ("b", "EB")):
        own = json.loads((tmp_path / "pair" / "cells" / side / "metrics.json").read_text())
        assert own["model"] == "attentivechrome_cell" and own["train_cells"] == [name]
