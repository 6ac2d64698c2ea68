"""Real signal: REMC E003 (H1) and E123 (K562) binned ChIP-seq from the DeepDiff release.

Ingested with labels from the real RNA-seq counts (median rule), cropped to TSS +/- 5 kb (100 bins),
trained with the same entry point as the workflow. The sample holds 600 genes (200 per split), so
the AUROCs are noisy; they must clearly exceed chance on real data (measured, seed 0, the numbers in
the comments come from the same settings).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chromexpr.sources.processed import ingest_processed
from chromexpr.training import train_model

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data/real/deepdiff_sample"


@pytest.fixture(scope="module", params=["E003", "E123"])
def real_dataset(request, tmp_path_factory):
    cell = request.param
    out = tmp_path_factory.mktemp(cell) / f"{cell}.npz"
    ingest_processed(
        "deepdiff",
        {s: SAMPLE / f"{cell}.{s}.csv.gz" for s in ("train", "valid", "test")},
        cell,
        out,
        expression=REPO / "data/real/remc_counts_9cells.tsv.gz",
        window_bp=5000,
    )
    return cell, out


@pytest.mark.parametrize("model,max_epochs", [("linear12", 100), ("deepchrome", 40)])
def test_models_learn_real_remc_signal(real_dataset, tmp_path, model, max_epochs):
    cell, path = real_dataset
    metrics = train_model(model, path, tmp_path / model, seed=0, max_epochs=max_epochs, patience=10)
    assert metrics["n_train"] == metrics["n_valid"] == metrics["n_test"] == 200
    # seed 0 gave E003: linear12 0.84, deepchrome 0.83; E123: 0.91, 0.91
    assert metrics["test_auroc"] > 0.75, metrics
