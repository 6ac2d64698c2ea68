"""Marks beyond the papers' five (DESIGN.md, "Your own data"): a sixth configured mark, H3K27ac, is either used by
every card (train.input_marks: config) or named as unused, per mark, in the log and on the report page (card)."""

from __future__ import annotations

import json

import pytest
from test_pipeline import REPO, snakemake

from chromexpr.dataset import load_dataset

SIX = ["H3K4me3", "H3K4me1", "H3K36me3", "H3K27me3", "H3K9me3", "H3K27ac"]
CONFIG = f"""
marks: [{", ".join(SIX)}]
cells: [E003]
export: {{deepchrome_csv: false}}
train:
  models: [deepchrome, linear12]
  max_epochs: 2
"""


def _args(tmp_path, mode: str) -> list[str]:
    extra = tmp_path / f"six_{mode}.yaml"
    extra.write_text(CONFIG + f"  input_marks: {mode}\n")
    return ["--configfile", str(REPO / "config/examples/small.yaml"), str(extra)]


@pytest.fixture(scope="module")
def six_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("six")
    snakemake("--cores", "2", "--directory", str(work), *_args(work, "config"), timeout=1200)
    return work


def test_every_card_is_built_on_the_six_configured_marks(six_run):
    dataset = load_dataset(six_run / "results/datasets/E003.npz")
    assert dataset.marks.tolist() == SIX and dataset.counts.shape[1] == 6
    assert dataset.counts[:, 5].sum() > 0  # H3K27ac reads were simulated and binned
    for model, paper in (("deepchrome", 644_177), ("linear12", 12)):  # the cards' counts on the paper's 5 marks
        metrics = json.loads((six_run / f"results/runs/single_cell/{model}/E003/seed0/metrics.json").read_text())
        assert metrics["input"]["marks"] == SIX
        assert metrics["parameters"] > 0 and metrics["parameters"] != paper
    # DeepChrome's first convolution takes 6 input channels: its parameter count grows by one mark's filters
    from chromexpr.training.model_file import load_model_file

    state = load_model_file(six_run / "results/runs/single_cell/deepchrome/E003/seed0/model.pt")
    card = state.meta["card"]
    assert card["input"]["marks"] == SIX and card["expected_parameters"] is None
    assert any("Built on the configured marks" in d for d in card["deviations"])
    first = next(v for k, v in state.state_dict.items() if v.ndim == 3)  # (filters, marks, width)
    assert first.shape[1] == 6
    page = (six_run / "results/report/index.html").read_text()
    assert "is configured but" not in page  # every model uses every mark


def test_with_the_cards_own_marks_each_unused_mark_is_named(six_run, tmp_path):
    proc = snakemake("-n", "--cores", "2", "--directory", str(six_run), *_args(tmp_path, "card"))
    text = proc.stdout + proc.stderr
    assert "mark H3K27ac is configured but 2 model(s) do not use it (deepchrome, linear12)" in text
    assert text.count("is configured but") == 1  # the five core marks are every card's
    # the card digest changes with the marks: every training job runs again (nothing stale is reused)
    assert "train_torch" in text


def test_the_report_page_names_an_unused_mark(tmp_path):
    from chromexpr.experiments.single_cell.report import build_report

    run = tmp_path / "runs/single_cell/deepchrome/E003/seed0/metrics.json"
    run.parent.mkdir(parents=True)
    record = {"model": "deepchrome", "cell": "E003", "seed": 0, "test_auroc": 0.8, "test_auprc": 0.78}
    record.update(test_accuracy=0.7, valid_auroc=0.81, best_epoch=2, epochs_run=2, wall_seconds=9.0)
    record.update(parameters=644_177, device="cpu")
    run.write_text(json.dumps(record))
    note = "mark H3K27ac is configured but 1 model(s) do not use it (deepchrome): each card takes its own marks"
    build_report([run], tmp_path / "report", notes=[note], published=None)
    page = (tmp_path / "report" / "index.html").read_text()
    assert f'<p class="warning">{note}' in page
