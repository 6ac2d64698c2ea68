"""The report's predictions section (chromexpr.experiments.predict.report): calibration by hand, the section's
tables, caveats and figure from a run folder and a prediction table."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chromexpr.experiments.predict import plan
from chromexpr.experiments.predict.figures import redraw
from chromexpr.experiments.predict.report import build_predict_section, calibration, expected_calibration_error


def test_calibration_and_ece_by_hand():
    # bins of width 0.5: [0, 0.5) holds P 0.1, 0.3 (labels 0, 1): mean P 0.2, fraction 0.5, gap 0.3;
    # [0.5, 1] holds 0.6, 0.8, 1.0 (labels 1, 1, 0): mean P 0.8, fraction 2/3, gap 0.1333...
    table = calibration(np.array([0, 1, 1, 1, 0]), np.array([0.1, 0.3, 0.6, 0.8, 1.0]), bins=2)
    assert table["n"].tolist() == [2, 3]
    assert table["bin"].tolist() == ["[0.0, 0.5)", "[0.5, 1.0]"]
    assert table["mean_probability"].tolist() == pytest.approx([0.2, 0.8])
    assert table["positive_fraction"].tolist() == pytest.approx([0.5, 2 / 3])
    # ECE = 2/5 x 0.3 + 3/5 x (0.8 - 2/3) = 0.12 + 0.08 = 0.2
    assert expected_calibration_error(table) == pytest.approx(0.2)
    empty = calibration(np.array([1]), np.array([0.95]), bins=10)
    assert empty["n"].sum() == 1 and empty["mean_probability"].isna().sum() == 9


def _run(root: Path, probability: np.ndarray, labels: np.ndarray, *, learned: bool) -> Path:
    run = root / "results/runs/single_cell/deepchrome/E003/seed0"
    run.mkdir(parents=True)
    n = len(labels)
    record = {"model": "deepchrome", "cell": "E003", "seed": 0, "test_auroc": 0.8, "test_auprc": 0.8}
    record.update(test_accuracy=0.7, valid_auroc=0.8, best_epoch=2, epochs_run=2, wall_seconds=1.0)
    record.update(parameters=644177, device="cpu", training={"max_epochs": 2, "patience": None})
    (run / "metrics.json").write_text(json.dumps(record))
    splits = np.array(["train", "valid", "test"] * (n // 3))
    predictions = pd.DataFrame(
        {"gene_id": [f"G{i}" for i in range(n)], "split": splits, "label": labels, "probability": probability}
    )
    with gzip.open(run / "predictions.tsv.gz", "wt") as fh:
        predictions.to_csv(fh, sep="\t", index=False)
    valid_loss = 0.5 if learned else 0.9  # chance on balanced validation labels: log 2 = 0.693
    (run / "history.tsv").write_text(f"epoch\ttrain_loss\tvalid_loss\tvalid_auroc\n1\t0.7\t{valid_loss}\t0.6\n")
    return run


def test_section_reports_each_sample_and_model_with_its_caveats(tmp_path):
    labels = np.array([0, 1] * 30)
    # the run's P on its own test genes sits in 0.52-0.62 whatever the label: a ranking, not a probability
    probability = np.where(labels == 1, 0.62, 0.52)
    run = _run(tmp_path, probability, labels, learned=False)
    sample = tmp_path / "results/predict/K562"
    sample.mkdir(parents=True)
    p = np.linspace(0.5, 0.8, 40)
    pd.DataFrame({"gene_id": [f"G{i}" for i in range(40)], "probability": p, "logit": np.log(p / (1 - p))}).to_csv(
        sample / "deepchrome.tsv", sep="\t", index=False
    )
    info = {
        "model": str(run / "model.pt"),
        "card": "deepchrome",
        "trained_on": "E003",
        "genes_left_out": 3,
        "input": {"depth_ratio": {"H3K4me3": 0.5, "H3K27me3": 2.0}},
    }
    (sample / "deepchrome.json").write_text(json.dumps(info))
    out = tmp_path / "results/report/predict"
    written = build_predict_section([sample / "deepchrome.tsv"], out, source_kind="demo")
    assert sorted(written) == sorted(plan.report_files())
    summary = pd.read_csv(out / "predictions.tsv", sep="\t")
    row = summary.iloc[0]
    assert (row["sample"], row["model"], row["genes"], row["genes_left_out"]) == ("K562", "deepchrome", 40, 3)
    assert row["depth_ratio"] == "H3K4me3 0.5, H3K27me3 2"
    assert row["p_min"] == pytest.approx(0.5) and row["p_max"] == pytest.approx(0.8)
    assert row["fraction_p_over_half"] == pytest.approx(39 / 40)
    # own test genes: 10 at 0.62 (label 1) and 10 at 0.52 (label 0), both in bin [0.5, 0.6) / [0.6, 0.7):
    # ECE = 1/2 x |0 - 0.52| + 1/2 x |1 - 0.62| = 0.26 + 0.19 = 0.45
    assert row["ece_own_test"] == pytest.approx(0.45)
    assert row["brier_own_test"] == pytest.approx((0.52**2 + 0.38**2) / 2)
    caveat = row["caveat"]
    assert "demo run" in caveat and "not converged" in caveat and "poorly calibrated" in caveat
    html = (out / "section.html").read_text()
    assert 'id="predict"' in html and "Calibration." in html and "not converged" in html
    assert (out / "probabilities.png").read_bytes()[:4] == b"\x89PNG"
    histogram = pd.read_csv(out / "histogram.tsv", sep="\t")
    assert histogram["genes"].sum() == 40
    assert {p.name for p in redraw(out, out_dir=tmp_path / "again")} == {"probabilities.png", "probabilities.pdf"}
