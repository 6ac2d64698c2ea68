"""Tests for chromexpr.training: one entry point for every card, deterministic, early stopping on
validation AUROC, resumable after a kill, the documented files; on a tiny synthetic dataset where
only H3K4me3 (around the TSS) carries the label."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from chromexpr.dataset import CANONICAL_MARKS, build_dataset, load_dataset, save_dataset
from chromexpr.errors import InputError
from chromexpr.evaluation.metrics import auroc
from chromexpr.models import build_model, load_card
from chromexpr.training import (
    HISTORY_COLUMNS,
    METRICS_KEYS,
    PREDICTION_COLUMNS,
    model_inputs,
    resolve_device,
    train_model,
)
from chromexpr.training.model_file import load_model_file
from chromexpr.training.runtime import limit_gpu_memory

MARKS = list(CANONICAL_MARKS)
N_GENES, N_BINS = 300, 100
REQUIRED_METRICS = {
    "model", "cell", "seed", "device", "amp", "parameters", "test_auroc", "test_auprc",
    "test_accuracy", "valid_auroc", "best_epoch", "epochs_run", "wall_seconds",
    "train_genes_per_second", "n_train", "n_valid", "n_test", "dataset_sha256", "card",
    "torch_version",
}  # fmt: skip
TIMING = {
    "wall_seconds",
    "train_seconds",
    "train_genes_per_second",
    "predict_genes_per_second",
    "resumed_from_epoch",
}


def synthetic_dataset(marks: list[str] = MARKS, n: int = N_GENES, seed: int = 0):
    """Poisson(2) background; genes with label 1 get extra H3K4me3 reads in the 20 bins around the
    TSS (mean +5 per bin vs +0.5), so the mark mean separates the classes almost perfectly."""
    rng = np.random.default_rng(seed)
    expression = rng.lognormal(0.0, 1.0, n)
    high = expression >= np.median(expression)
    counts = rng.poisson(2.0, (n, len(marks), N_BINS)).astype(np.int32)  # (genes, marks, bins)
    if "H3K4me3" in marks:
        extra = rng.poisson(np.where(high, 5.0, 0.5)[:, None], (n, 20))  # (genes, 20)
        counts[:, marks.index("H3K4me3"), 40:60] += extra.astype(np.int32)
    split = np.array(["train"] * (n * 6 // 10) + ["valid"] * (n * 2 // 10) + ["test"] * (n - n * 8 // 10))
    return build_dataset(
        counts,
        [f"ENSG{i:011d}" for i in range(n)],
        marks,
        expression,
        split,
        cell="E999",
        geometry={"n_bins": N_BINS},
    )


@pytest.fixture(scope="module")
def dataset_path(tmp_path_factory) -> Path:
    return save_dataset(synthetic_dataset(), tmp_path_factory.mktemp("data") / "E999.npz")


def card_with(name: str, new_name: str | None = None, **training) -> dict:
    card = load_card(name)
    card["training"].update(training)
    if new_name:
        card["name"] = new_name
    return card


def comparable(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k not in TIMING}


def read_predictions(run: Path) -> pd.DataFrame:
    return pd.read_csv(run / "predictions.tsv.gz", sep="\t")


# --- outputs, learning, best-epoch selection ------------------------------------------------------


def test_linear12_learns_the_informative_mark_and_writes_every_output(dataset_path, tmp_path):
    card = card_with("linear12", lr=0.05)
    lines: list[str] = []
    metrics = train_model(card, dataset_path, tmp_path, seed=0, max_epochs=15, log=lines.append)

    assert metrics["test_auroc"] > 0.9
    assert tuple(metrics) == METRICS_KEYS and set(metrics) >= REQUIRED_METRICS
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    assert metrics["model"] == "linear12" and metrics["cell"] == "E999" and metrics["device"] == "cpu"
    assert metrics["amp"] is False and metrics["parameters"] == 12
    assert (metrics["n_train"], metrics["n_valid"], metrics["n_test"]) == (180, 60, 60)
    assert metrics["card"]["name"] == "linear12" and len(metrics["card"]["sha256"]) == 64
    assert len(metrics["dataset_sha256"]) == 64 and metrics["torch_version"] == torch.__version__
    assert not (tmp_path / "checkpoint.pt").exists()  # deleted once the run completed

    predictions = read_predictions(tmp_path)
    assert tuple(predictions.columns) == PREDICTION_COLUMNS and len(predictions) == N_GENES
    assert set(predictions["split"]) == {"train", "valid", "test"}
    test = predictions[predictions["split"] == "test"]
    assert auroc(test["label"], test["probability"]) == pytest.approx(metrics["test_auroc"], abs=1e-12)
    with gzip.open(tmp_path / "predictions.tsv.gz") as fh:  # gzip header without a timestamp
        fh.read(1)
    assert (tmp_path / "predictions.tsv.gz").read_bytes()[4:8] == b"\x00\x00\x00\x00"

    history = pd.read_csv(tmp_path / "history.tsv", sep="\t")
    assert tuple(history.columns) == HISTORY_COLUMNS
    assert list(history["epoch"]) == list(range(1, metrics["epochs_run"] + 1))
    assert history["lr"].iloc[0] == pytest.approx(0.05) and history["lr"].is_monotonic_decreasing
    assert sum(line.startswith("epoch ") for line in lines) == metrics["epochs_run"]

    # model.pt is the kept epoch's state_dict: it reproduces the predictions
    model = build_model(card)
    model.load_state_dict(load_model_file(tmp_path / "model.pt").state_dict)
    x = torch.from_numpy(model_inputs(load_dataset(dataset_path), card).x)
    with torch.no_grad():
        prob = torch.sigmoid(model.eval()(x)["logits"].double()).numpy()
    np.testing.assert_allclose(prob, predictions["probability"], rtol=1e-5, atol=1e-7)


def test_early_stopping_keeps_the_best_epoch(tmp_path):
    # labels shuffled: validation AUROC only drifts around 0.5, so patience runs out
    dataset = synthetic_dataset()
    dataset.label = np.random.default_rng(1).permutation(dataset.label)
    path = save_dataset(dataset, tmp_path / "noise.npz")
    card = card_with("linear12", lr=0.05, scheduler=None)
    metrics = train_model(card, path, tmp_path / "run", seed=3, max_epochs=40, patience=2)
    tmp_path = tmp_path / "run"
    history = pd.read_csv(tmp_path / "history.tsv", sep="\t")
    scores = history["valid_auroc"].to_numpy()
    assert metrics["stopped_early"] and metrics["epochs_run"] < 40
    best = len(scores) - 1 - int(np.argmax(scores[::-1]))  # last maximum: ties go to the later epoch
    assert metrics["best_epoch"] == best + 1 and metrics["valid_auroc"] == scores[best]
    assert metrics["epochs_run"] == metrics["best_epoch"] + 2  # stopped after 2 epochs without gain
    # the reported test metrics come from the kept epoch, not the last one
    predictions = read_predictions(tmp_path)
    valid = predictions[predictions["split"] == "valid"]
    assert auroc(valid["label"], valid["probability"]) == pytest.approx(scores[best], abs=1e-12)


def test_ties_select_the_later_epoch(dataset_path, tmp_path):
    card = card_with("linear12", lr=0.0, scheduler=None)  # weights never move: every epoch ties
    metrics = train_model(card, dataset_path, tmp_path, max_epochs=4, patience=1)
    assert metrics["best_epoch"] == 4 and metrics["epochs_run"] == 4 and not metrics["stopped_early"]


# --- determinism ----------------------------------------------------------------------------------


def test_same_seed_same_result_other_seed_other_result(dataset_path, tmp_path):
    runs = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        runs[name] = train_model("deepchrome", dataset_path, tmp_path / name, seed=seed, max_epochs=2)
    assert comparable(runs["a"]) == comparable(runs["b"])
    assert read_predictions(tmp_path / "a").equals(read_predictions(tmp_path / "b"))
    assert (tmp_path / "a" / "predictions.tsv.gz").read_bytes() == (tmp_path / "b" / "predictions.tsv.gz").read_bytes()
    # model.pt too: its zip root is "archive", not the random name of the temporary file it was written to
    assert (tmp_path / "a" / "model.pt").read_bytes() == (tmp_path / "b" / "model.pt").read_bytes()
    assert not np.array_equal(
        read_predictions(tmp_path / "a")["probability"],
        read_predictions(tmp_path / "c")["probability"],
    )
    assert runs["c"]["seed"] == 8


# --- resume after a kill --------------------------------------------------------------------------


def test_resume_after_kill_equals_an_uninterrupted_run(dataset_path, tmp_path):
    # dropout, batch shuffling, momentum and a cosine schedule: every state a resume must restore
    card = card_with("deepchrome_avgpool", "resumable", momentum=0.9, max_epochs=5)
    card_path = tmp_path / "resumable.yaml"
    card_path.write_text(yaml.safe_dump(card))
    reference = train_model(card_path, dataset_path, tmp_path / "reference", seed=5)

    run = tmp_path / "killed"
    script = textwrap.dedent(f"""
        import time
        from chromexpr.training import train_model
        train_model({str(card_path)!r}, {str(dataset_path)!r}, {str(run)!r}, seed=5,
                    callback=lambda record: time.sleep(0.5))
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    epoch, deadline = 0, time.monotonic() + 120
    try:
        while epoch < 2:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the training subprocess wrote no checkpoint"
            time.sleep(0.05)
            if (run / "checkpoint.pt").exists():
                epoch = torch.load(run / "checkpoint.pt", weights_only=True)["epoch"]
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert not (run / "metrics.json").exists()  # it really died mid-run

    lines: list[str] = []
    resumed = train_model(card_path, dataset_path, run, seed=5, log=lines.append)
    assert any(line.startswith("resumed from") for line in lines)
    assert resumed["resumed_from_epoch"] >= 2
    assert sum(line.startswith("epoch ") for line in lines) == 5 - resumed["resumed_from_epoch"]
    assert comparable(resumed) == comparable(reference)
    assert read_predictions(run).equals(read_predictions(tmp_path / "reference"))
    history = pd.read_csv(run / "history.tsv", sep="\t").drop(columns="seconds")
    expected = pd.read_csv(tmp_path / "reference" / "history.tsv", sep="\t").drop(columns="seconds")
    pd.testing.assert_frame_equal(history, expected, check_exact=True)
    assert not (run / "checkpoint.pt").exists()


def test_checkpoint_of_other_settings_is_not_resumed(dataset_path, tmp_path):
    def interrupt(record):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_model("linear12", dataset_path, tmp_path, seed=0, max_epochs=3, callback=interrupt)
    assert (tmp_path / "checkpoint.pt").exists()
    lines: list[str] = []
    metrics = train_model("linear12", dataset_path, tmp_path, seed=1, max_epochs=3, log=lines.append)
    assert any("starting over" in line and "seed" in line for line in lines)
    assert metrics["resumed_from_epoch"] is None and metrics["epochs_run"] == 3


# --- scikit-learn through the same entry point ----------------------------------------------------


def test_sklearn_baseline_runs_through_the_same_entry_point(dataset_path, tmp_path):
    metrics = train_model("logreg", dataset_path, tmp_path, seed=0)
    assert tuple(metrics) == METRICS_KEYS
    assert metrics["framework"] == "sklearn" and metrics["parameters"] is None
    assert metrics["device"] == "cpu" and metrics["best_epoch"] == 1 and metrics["epochs_run"] == 1
    assert metrics["test_auroc"] > 0.9 and metrics["valid_auroc"] > 0.9
    assert (tmp_path / "model.skops").exists() and not (tmp_path / "model.pt").exists()
    assert tuple(read_predictions(tmp_path).columns) == PREDICTION_COLUMNS
    history = pd.read_csv(tmp_path / "history.tsv", sep="\t")
    assert tuple(history.columns) == HISTORY_COLUMNS and len(history) == 1


# --- input selection and errors -------------------------------------------------------------------


def test_marks_are_picked_by_name_and_transformed(tmp_path):
    order = ["H3K9me3", "H3K27me3", "H3K4me3", "H3K36me3", "H3K4me1"]  # not the card's order
    dataset = synthetic_dataset(order, n=20)
    card = load_card("logreg")  # counts + log1p
    data = model_inputs(dataset, card)
    expected = np.log1p(dataset.counts[:, [order.index(m) for m in card["input"]["marks"]]])
    np.testing.assert_allclose(data.x, expected.astype(np.float32))
    assert data.x.dtype == np.float32 and data.marks == card["input"]["marks"]
    signal = model_inputs(dataset, load_card("transferchrome"))  # signal, no transform
    np.testing.assert_array_equal(signal.x[:, 0], dataset.signal[:, order.index("H3K4me3")])
    with pytest.raises(InputError, match="negative"):
        model_inputs(dataset, card_with_input("transferchrome", transform="log1p"))


def card_with_input(name: str, **spec) -> dict:
    card = load_card(name)
    card["input"].update(spec)
    return card


def test_missing_mark_is_named(tmp_path):
    path = save_dataset(synthetic_dataset(MARKS[:4], n=20), tmp_path / "four.npz")
    with pytest.raises(InputError, match="H3K9me3") as err:
        train_model("linear12", path, tmp_path / "run")
    assert err.value.key == "input.marks"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
def test_cuda_asked_but_absent_is_an_error(dataset_path, tmp_path):
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(InputError, match="CUDA is not available"):
        train_model("linear12", dataset_path, tmp_path, device="cuda", max_epochs=1)


# --- several jobs on one device -------------------------------------------------------------------


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5, "half", True])
def test_gpu_memory_fraction_must_be_in_0_1(fraction):
    with pytest.raises(InputError) as info:
        limit_gpu_memory(fraction)
    assert info.value.key == "train.gpu_memory_fraction" and "(0, 1]" in str(info.value)


def test_gpu_memory_fraction_without_cuda_is_a_no_op():
    assert limit_gpu_memory(None) is False
    assert limit_gpu_memory(0.25) is torch.cuda.is_available()


JOB = """
import sys, torch
from chromexpr.training import train_model
from chromexpr.training.runtime import limit_gpu_memory
torch.set_num_threads(1)
limit_gpu_memory(0.5)
train_model("deepchrome", sys.argv[1], sys.argv[2], seed=3, max_epochs=2, log=lambda m: None)
"""


def test_jobs_sharing_the_machine_give_the_results_of_a_job_alone(dataset_path, tmp_path):
    """Two training processes at once (as with --resources gpu=2 and a memory cap) write the same
    model and predictions, byte for byte, as the same job run alone."""

    def start(name: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", JOB, str(dataset_path), str(tmp_path / name)])

    alone = start("alone")
    assert alone.wait(timeout=300) == 0
    together = [start("a"), start("b")]
    assert [p.wait(timeout=300) for p in together] == [0, 0]
    expected = load_model_file(tmp_path / "alone" / "model.pt").state_dict
    for name in ("a", "b"):
        state = load_model_file(tmp_path / name / "model.pt").state_dict
        assert all(torch.equal(state[k], expected[k]) for k in expected)
        assert (tmp_path / name / "predictions.tsv.gz").read_bytes() == (
            tmp_path / "alone" / "predictions.tsv.gz"
        ).read_bytes()


class _Planted:
    """A pickle whose loading runs a command: what a planted checkpoint.pt could hold."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_a_planted_checkpoint_runs_no_code_and_the_run_starts_over(dataset_path, tmp_path):
    marker = tmp_path / "code-ran"
    run = tmp_path / "run"
    run.mkdir()
    torch.save({"format": 2, "epoch": 1, "payload": _Planted(marker)}, run / "checkpoint.pt")
    lines: list[str] = []
    metrics = train_model("linear12", dataset_path, run, seed=0, max_epochs=2, log=lines.append)
    assert not marker.exists()  # refused by torch.load(weights_only=True) before anything was built
    refused = [line for line in lines if "ignoring" in line and "checkpoint.pt" in line]
    assert refused and "not a chromexpr checkpoint that loads without running code" in refused[0]
    assert "starting over" in refused[0]
    assert metrics["resumed_from_epoch"] is None and metrics["epochs_run"] == 2


def test_checkpoint_rng_states_round_trip_through_weights_only(tmp_path):
    import random

    from chromexpr.training.checkpoint import capture_rng, load_checkpoint, restore_rng, save_checkpoint

    shuffle = torch.Generator().manual_seed(3)
    np.random.seed(5)  # noqa: NPY002 - the global RNG the checkpoint must restore
    np.random.standard_normal()  # noqa: NPY002 - leaves a cached Gaussian in the state
    random.seed(7)
    random.gauss(0, 1)
    save_checkpoint(tmp_path / "c.pt", {"rng": capture_rng(shuffle), "history": [{"epoch": 1, "loss": 0.5}]})
    expected = (np.random.random(3), random.random(), torch.rand(2), torch.rand(2, generator=shuffle))  # noqa: NPY002
    np.random.seed(0)  # noqa: NPY002
    random.seed(0)
    torch.manual_seed(0)
    state = load_checkpoint(tmp_path / "c.pt")
    restore_rng(state["rng"], shuffle)
    again = (np.random.random(3), random.random(), torch.rand(2), torch.rand(2, generator=shuffle))  # noqa: NPY002
    np.testing.assert_array_equal(again[0], expected[0])
    assert again[1] == expected[1]
    assert torch.equal(again[2], expected[2]) and torch.equal(again[3], expected[3])


def test_an_old_format_checkpoint_is_refused_with_its_format(tmp_path):
    from chromexpr.training.checkpoint import CheckpointRefused, load_checkpoint

    torch.save({"format": 1, "epoch": 3}, tmp_path / "c.pt")
    with pytest.raises(CheckpointRefused, match="checkpoint format 1, this version writes 2"):
        load_checkpoint(tmp_path / "c.pt")
    assert load_checkpoint(tmp_path / "absent.pt") is None


@pytest.mark.parametrize("card", ["logreg", "linear12"])
def test_a_planted_model_file_in_a_finished_run_runs_no_code(dataset_path, tmp_path, card):
    """The jobs that score finished runs (transfer, Test-on-Rest) read model.skops / model.pt back: a pickle
    planted there is refused unexecuted, naming the file."""
    import pickle

    from chromexpr.training.inference import load_trained

    run = tmp_path / "run"
    train_model(card, dataset_path, run, seed=0, max_epochs=1)
    name = "model.skops" if load_card(card)["framework"] == "sklearn" else "model.pt"
    assert load_trained(load_card(card), run) is not None  # the run's own file loads
    marker = tmp_path / "code-ran"
    (run / name).write_bytes(pickle.dumps(_Planted(marker), protocol=2))
    with pytest.raises(InputError) as info:
        load_trained(load_card(card), run)
    assert not marker.exists()
    assert info.value.path == str(run / name)


def test_a_model_file_copied_from_another_runs_folder_is_an_error_naming_both_cards(dataset_path, tmp_path):
    import shutil

    from chromexpr.training.inference import load_trained

    train_model("linear12", dataset_path, tmp_path / "linear12", seed=0, max_epochs=1)
    train_model("deepchrome", dataset_path, tmp_path / "deepchrome", seed=0, max_epochs=1)
    assert load_model_file(tmp_path / "deepchrome" / "model.pt").meta["card"]["name"] == "deepchrome"
    shutil.copyfile(tmp_path / "linear12" / "model.pt", tmp_path / "deepchrome" / "model.pt")
    for load in (
        lambda: load_model_file(tmp_path / "deepchrome" / "model.pt"),
        lambda: load_trained(load_card("deepchrome"), tmp_path / "deepchrome"),
    ):
        with pytest.raises(InputError) as info:
            load()
        assert str(info.value).splitlines()[0] == (
            f"{tmp_path / 'deepchrome' / 'model.pt'}: this model file was trained from card 'linear12', "
            "but its run folder is a run of card 'deepchrome' (metrics.json says so)"
        )
    shutil.copyfile(tmp_path / "linear12" / "model.pt", tmp_path / "elsewhere.pt")  # outside a run folder: no check
    assert load_model_file(tmp_path / "elsewhere.pt").meta["card"]["name"] == "linear12"
