"""The cross-cell experiments end to end (config/examples/cross_cell.yaml: 3 demo cells, 2 epochs):
TransferChrome's transfer (Table 3), DeepChrome 2.0's groups and Test-on-Rest, and DeepDiff on one pair, as
users run them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_pipeline import REPO, copy_workflow, job_counts, snakemake

CROSS = ["--configfile", str(REPO / "config/examples/cross_cell.yaml")]
CELLS = ["E003", "E085", "E123"]
# Editing models/deepchrome.py: the single-cell runs of the two DeepChrome-class cards (deepchrome and the
# cross-cell model deepchrome_avgpool, 3 cells each), DeepChrome's runs on the transfer's gene set (3 cells), the
# 12 cross-cell runs, then the jobs that read
# those runs (DeepChrome's uncross scoring on 2 targets, its interpretation, GAN and prediction,
# Test-on-Rest) and their reports; no differential or regression job
MODEL_EDIT_DEEPCHROME = {
    "train_torch": 6,
    "train_torch_gene_set": 3,
    "train_cross_cell": 12,
    "transfer_uncross": 2,
    "interpret_run": 1,
    "interpret_gan": 1,
    "predict_sample": 1,
    "test_on_rest": 1,
    "report_transfer": 1,
    "report_cross_cell": 1,
    "report_interpret": 1,
    "report_predict": 1,
    "report": 1,
}


@pytest.fixture(scope="module")
def cross_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("cross")
    snakemake("--cores", "2", "--directory", str(work), *CROSS, timeout=1800)
    return work


def dry_run_counts(work: Path, *extra: str, repo: Path = REPO, env: dict | None = None) -> dict[str, int]:
    out = snakemake("-n", "--cores", "2", "--directory", str(work), *CROSS, *extra, repo=repo, env=env)
    text = out.stdout + out.stderr
    if "Nothing to be done" in text:
        return {}
    return {r: n for r, n in job_counts(text).items() if r not in ("all", "total")}


def test_transfer_writes_table3_and_runs(cross_run):
    table3 = pd.read_csv(cross_run / "results/report/transfer/table3.tsv", sep="\t")
    assert list(table3["row"]) == [
        "TransferChrome_origin",
        "TransferChrome_uncross",
        "TransferChrome_cross",
        "DeepChrome",
        "DeepChrome_uncross",
    ]
    assert (table3["n_targets"] == 2).all() and (table3["protocol"] == "honest").all()
    assert table3.loc[table3["row"] == "TransferChrome_cross", "published_mean"].item() == pytest.approx(0.8330)
    for target in ("E003", "E123"):
        run = cross_run / f"results/runs/transfer/transferchrome_cross/E085_to_{target}/seed0"
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["protocol"] == "honest" and metrics["source"] == "E085" and metrics["target"] == target
        assert metrics["n_adapt"] > 0 and metrics["n_test"] > 0 and metrics["n_train"] > 0
        history = pd.read_csv(run / "history.tsv", sep="\t")
        assert {"domain_loss", "domain_accuracy", "grl_lambda"} <= set(history.columns)
        assert len(history) == 2
        # honest: origin, uncross and cross are scored on the same genes, the target's test split
        # the origin rows: single-cell runs on the experiment's gene set ('spaced', TSSs 10 kb apart)
        origin = pd.read_csv(
            cross_run / f"results/runs/genesets/spaced/single_cell/transferchrome/{target}/seed0/predictions.tsv.gz",
            sep="\t",
        )
        cross = pd.read_csv(run / "predictions.tsv.gz", sep="\t")
        uncross = pd.read_csv(
            cross_run / f"results/runs/transfer/transferchrome_uncross/E085_to_{target}/seed0/predictions.tsv.gz",
            sep="\t",
        )
        test_genes = set(origin.loc[origin["split"] == "test", "gene_id"])
        assert set(cross["gene_id"]) == set(uncross["gene_id"]) == test_genes
        spaced = pd.read_csv(cross_run / "results/reference/genesets/spaced.tsv", sep="\t", dtype=str)
        assert test_genes == set(spaced.loc[spaced["split"] == "test", "gene_id"])
        assert metrics["gene_set"]["name"] == "spaced" and metrics["gene_set"]["min_tss_distance"] == 10000
    # fewer genes than the default set's (TSSs 5 kb apart); both among the genes binned once (no TSS filter)
    default = pd.read_csv(cross_run / "results/reference/splits.tsv", sep="\t", dtype=str)
    binned = set(pd.read_csv(cross_run / "results/reference/tss.tsv", sep="\t", dtype=str)["gene_id"])
    assert len(spaced) < len(default) < len(binned) and set(default["gene_id"]) | set(spaced["gene_id"]) <= binned
    section = (cross_run / "results/report/transfer/section.html").read_text()
    assert "gene set &#39;spaced&#39;: TSS filter 10,000 bp" in section  # the page escapes the quotes


def test_uncross_is_the_source_model_scored_without_training(cross_run):
    """Honest uncross = the source's single-cell model on the target: same weights, same history."""
    import torch

    from chromexpr.training.model_file import load_model_file

    source = cross_run / "results/runs/genesets/spaced/single_cell/deepchrome/E085/seed0"
    run = cross_run / "results/runs/transfer/deepchrome_uncross/E085_to_E123/seed0"
    a = load_model_file(source / "model.pt").state_dict
    b = load_model_file(run / "model.pt").state_dict
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert (source / "history.tsv").read_text() == (run / "history.tsv").read_text()
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["trained_in"].endswith("genesets/spaced/single_cell/deepchrome/E085/seed0")


def test_no_target_test_gene_is_trained_or_adapted_on(cross_run):
    """Under the honest protocol, no test gene of the scored cell appears in any training, validation
    or adaptation set of any cross-cell run, in any cell (read from every run's genes.tsv.gz)."""

    def test_genes_of(manifest: str) -> set[str]:
        splits = pd.read_csv(cross_run / "results/reference" / manifest, sep="\t", dtype=str)
        return set(splits.loc[splits["split"] == "test", "gene_id"])

    # the transfer runs on their gene set's split, the cross-cell runs on the default set's
    runs = [(r, "genesets/spaced.tsv") for r in sorted((cross_run / "results/runs/transfer").glob("*/*/seed0"))]
    runs += [(r, "splits.tsv") for r in sorted((cross_run / "results/runs/cross_cell").glob("*/*/seed0"))]
    assert len(runs) >= 6
    for run, manifest in runs:
        test_genes = test_genes_of(manifest)
        genes = pd.read_csv(run / "genes.tsv.gz", sep="\t", dtype=str)
        used = genes[genes["role"] != "test"]
        assert not (set(used["gene_id"]) & test_genes), run
        assert set(genes.loc[genes["role"] == "test", "gene_id"]) <= test_genes


def test_cross_cell_groups_runs_and_test_on_rest(cross_run):
    groups = pd.read_csv(cross_run / "results/cross_cell/groups.tsv", sep="\t", keep_default_na=False)
    assert len(groups) == 3 * 4 * 2
    all_inc = groups[(groups["run"] == "all_inclusive") & (groups["target"] == "E003")].iloc[0]
    assert all_inc["cells"] == "E003,E085,E123" and all_inc["n_cells"] == 3
    full = groups[groups["empty"].astype(str).str.lower() != "true"]
    for row in full.itertuples():
        metrics = json.loads(
            (cross_run / f"results/runs/cross_cell/{row.run}/{row.target}/seed0/metrics.json").read_text()
        )
        assert metrics["train_cells"] == row.cells and metrics["run"] == row.run
    empty = groups[groups["empty"].astype(str).str.lower() == "true"]
    for row in empty.itertuples():  # an empty group has no run
        assert not (cross_run / f"results/runs/cross_cell/{row.run}/{row.target}").exists()
    for split in ("train", "valid", "test"):
        corr = pd.read_csv(cross_run / f"results/cross_cell/correlation_{split}.tsv", sep="\t")
        assert len(corr) == 9 and corr["normalized"].max() == pytest.approx(1.0) and corr["normalized"].min() == 0.0
    rest = pd.read_csv(cross_run / "results/report/cross_cell/test_on_rest.tsv", sep="\t")
    assert list(rest.columns[:6]) == ["train_cell", "test_cell", "correlation", "auroc", "own_auroc", "delta_auroc"]
    assert len(rest) == 3 * 2
    own = {
        c: json.loads((cross_run / f"results/runs/single_cell/deepchrome_avgpool/{c}/seed0/metrics.json").read_text())[
            "test_auroc"
        ]
        for c in CELLS
    }
    for row in rest.itertuples():
        assert row.own_auroc == pytest.approx(own[row.test_cell])
        assert row.delta_auroc == pytest.approx(row.auroc - row.own_auroc)


def test_report_holds_every_section(cross_run):
    html = (cross_run / "results/report/index.html").read_text()
    assert '<section id="transfer">' in html and '<section id="cross-cell">' in html
    assert '<section id="differential">' in html and '<section id="regression">' in html
    figures = (
        "regression/fig1_inputs.png",
        "regression/fig2_expression.png",
        "regression/fig3_loss.png",
        "regression/fig4_gradients.png",
        "transfer/fig4_per_target.png",
        "cross_cell/fig5_experiments.png",
        "cross_cell/fig7_test_on_rest.png",
        "differential/fig4_pcc_per_pair.png",
        "differential/fig5_attention.png",
    )
    for name in figures:
        assert name in html and (cross_run / "results/report" / name).is_file()


def test_snakemake_report_packages_every_section(cross_run, tmp_path):
    import zipfile

    from chromexpr.experiments.cross_cell.plan import report_files as cross_cell_report_files
    from chromexpr.experiments.differential.plan import report_files as differential_report_files
    from chromexpr.experiments.interpret.plan import report_files as interpret_report_files
    from chromexpr.experiments.regression.plan import report_files as regression_report_files
    from chromexpr.experiments.transfer.plan import report_files as transfer_report_files

    out = tmp_path / "report.zip"
    snakemake("--cores", "1", "--directory", str(cross_run), *CROSS, "--report", str(out))
    names = zipfile.ZipFile(out).namelist()
    assert sum(n.endswith("/section.html") for n in names) == 6  # one per experiment beyond the single-cell one
    # test_on_rest.tsv is the Test-on-Rest job's output, in the same folder
    sections = (
        ("transfer", transfer_report_files()),
        ("cross_cell", [*cross_cell_report_files(), "test_on_rest.tsv"]),
        ("differential", differential_report_files()),
        ("regression", regression_report_files()),
        ("interpret", interpret_report_files()),
    )
    for section, files in sections:
        written = sorted(p.name for p in (cross_run / "results/report" / section).iterdir())
        assert written == sorted(files)  # every file the section jobs write is declared, and nothing else
        for name in written:
            assert any(n.endswith(f"/{name}") for n in names), (section, name)


def test_test_on_rest_trains_nothing(cross_run, tmp_path):
    """Test-on-Rest is inference on the finished single-cell runs: asked for on its own, it needs
    no training job beyond those runs, and with them finished it is the only job."""
    target = "results/report/cross_cell/test_on_rest.tsv"
    fresh = snakemake("-n", "--cores", "2", "--directory", str(tmp_path / "fresh"), target, *CROSS)
    counts = job_counts(fresh.stdout + fresh.stderr)
    assert counts["train_torch"] == 3  # deepchrome_avgpool on each cell: the models it scores
    assert not {"train_cross_cell", "transfer_cross", "transfer_uncross", "train_sklearn"} & set(counts)
    work = Path(shutil.copytree(cross_run, tmp_path / "copy", symlinks=True))
    (work / target).unlink()
    again = snakemake("-n", "--cores", "2", "--directory", str(work), target, *CROSS)
    counts = job_counts(again.stdout + again.stderr)
    assert {r: n for r, n in counts.items() if r != "total"} == {"test_on_rest": 1}, again.stdout[-2000:]


def test_differential_runs_and_report(cross_run):
    """DeepDiff on E003 vs E123: the 200-bin datasets are the single-cell datasets' counts widened (the +/- 5 kb
    bins are bins 50-149 of the same binning), every run wrote its files, the report holds its models."""
    import numpy as np

    from chromexpr.dataset import load_dataset
    from chromexpr.preprocess.reference import make_splits

    for cell in ("E003", "E123"):
        narrow = load_dataset(cross_run / f"results/datasets/{cell}.npz")
        wide = load_dataset(cross_run / f"results/datasets/differential/{cell}.npz")
        assert narrow.counts.shape[2] == 100 and wide.counts.shape[2] == 200
        np.testing.assert_array_equal(wide.gene_ids, narrow.gene_ids)
        np.testing.assert_array_equal(wide.counts[:, :, 50:150], narrow.counts)
        # the same genes, DeepDiff's split (the demo's gene set deepdiff): sorted ids, test block first
        deepdiff = make_splits(pd.DataFrame({"gene_id": wide.gene_ids}), "deepdiff")
        np.testing.assert_array_equal(wide.split, deepdiff.to_numpy())
        assert wide.meta["gene_set"]["name"] == "deepdiff"
        assert (wide.split == "test").sum() == round(len(wide.gene_ids) * 6100 / 18460)
    per_pair = pd.read_csv(cross_run / "results/report/differential/per_pair.tsv", sep="\t")
    assert sorted(per_pair["model"]) == [
        "attentivechrome_diff",
        "deepdiff_aux_siamese",
        "deepdiff_raw_d",
        "svr_best_bin",
    ]
    # the AttentiveChrome baseline: each cell's own run (selected on its own validation genes), assembled
    pair = json.loads(
        (cross_run / "results/runs/differential/attentivechrome_diff/E003_vs_E123/seed0/metrics.json").read_text()
    )
    for side, cell in (("a", "E003"), ("b", "E123")):
        own = json.loads(
            (cross_run / f"results/runs/differential/cells/attentivechrome_cell/{cell}/seed0/metrics.json").read_text()
        )
        assert own["train_cells"] == [cell] and own["training"]["selection"] == "valid_mse"
        assert pair["cell_runs"][side]["valid_mse"] == own["valid_mse"]
    assert (per_pair["pair"] == "E003_vs_E123").all()
    run = cross_run / "results/runs/differential/deepdiff_aux_siamese/E003_vs_E123/seed0"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["epochs_run"] == 1 and metrics["parameters"] == 68355 and metrics["task"] == "differential"
    predictions = pd.read_csv(run / "predictions.tsv.gz", sep="\t")
    assert (predictions["split"] == "test").all() and len(predictions) == metrics["n_test"]
    attention = np.load(run / "attention.npz")
    np.testing.assert_allclose(attention["mark"][:, :5].sum(axis=1), 1.0, atol=1e-5)
    section = (cross_run / "results/report/differential/section.html").read_text()
    assert "Table 1" in section and "153.72" in section  # the paper's Raw: d mean vs two-layer SVR
    index = (cross_run / "results/report/index.html").read_text()
    assert 'id="differential"' in index


def test_regression_runs_and_report(cross_run):
    """Team Jamaica at CI size: E123 held out, folds {E003}, {E085}; the ensemble is the mean of the two fold
    sub-models' files, the weighted variant their classifier-weighted mix; mse.tsv has a row per model."""
    import numpy as np

    runs = cross_run / "results/runs/regression"
    folds = [pd.read_csv(runs / f"jamaica_cnn/fold{k}/seed0/predictions.tsv.gz", sep="\t") for k in (0, 1)]
    ensemble = pd.read_csv(runs / "ensemble/all/seed0/predictions.tsv.gz", sep="\t")
    np.testing.assert_allclose(ensemble["prediction"], (folds[0]["prediction"] + folds[1]["prediction"]) / 2)
    assert set(ensemble["cell"]) == set(CELLS) and not ensemble.loc[ensemble["cell"] == "E123", "seen"].any()
    fold0 = json.loads((runs / "jamaica_cnn/fold0/seed0/metrics.json").read_text())
    assert fold0["epochs_run"] == 1 and fold0["parameters"] == 1_567_809 and len(fold0["train_cells"]) == 1
    assert fold0["valid_cells"] != fold0["train_cells"] and fold0["test_cells"] == CELLS
    probs = pd.read_csv(runs / "jamaica_celltype/all/seed0/predictions.tsv.gz", sep="\t")
    cells = {
        c: pd.read_csv(runs / f"jamaica_cnn/cell_{c}/seed0/predictions.tsv.gz", sep="\t") for c in ("E003", "E085")
    }
    weighted = pd.read_csv(runs / "weighted/all/seed0/predictions.tsv.gz", sep="\t")
    mix = sum(probs[f"p_{c}"] * cells[c]["prediction"] for c in cells)
    np.testing.assert_allclose(weighted["prediction"], mix, rtol=1e-9)
    table = pd.read_csv(cross_run / "results/report/regression/mse.tsv", sep="\t")
    names = set(zip(table["model"], table["part"], strict=True))
    assert {("ensemble", "all"), ("weighted", "all"), ("jamaica_cnn", "fold0"), ("linear_regression", "all")} <= names
    assert table.loc[table["model"] == "ensemble", "published_mse"].iloc[0] == 3.26
    grads = pd.read_csv(cross_run / "results/report/regression/gradients.tsv", sep="\t")
    assert len(grads) == 3 * 5 * 100 and np.isfinite(grads["gradient"]).all()
    section = (cross_run / "results/report/regression/section.html").read_text()
    assert "3.26" in section and "4.70" in section and "Fig. 4" in section


def test_predict_applies_the_h1_run_to_the_k562_reads(cross_run):
    """The demo's K562 (E123) reads by the E003 DeepChrome run: every reference gene whose window fits, in the
    TSS table's order, and better than chance against K562's own labels (never seen by the run)."""
    from sklearn.metrics import roc_auc_score

    from chromexpr.dataset import load_dataset

    table = pd.read_csv(cross_run / "results/predict/K562/deepchrome.tsv", sep="\t", comment="#")
    assert list(table.columns) == ["gene_id", "probability", "logit"]
    assert table["probability"].between(0, 1).all() and table["gene_id"].is_unique
    tss = pd.read_csv(cross_run / "results/reference/tss.tsv", sep="\t", comment="#")
    order = [g for g in tss["gene_id"] if g in set(table["gene_id"])]
    assert list(table["gene_id"]) == order and len(table) >= 0.95 * len(tss)
    info = json.loads((cross_run / "results/predict/K562/deepchrome.json").read_text())
    assert info["card"] == "deepchrome" and info["trained_on"] == "E003" and info["input"]["depth"] == "match"
    k562 = load_dataset(cross_run / "results/datasets/E123.npz")
    labels = pd.Series(k562.label, index=k562.gene_ids).reindex(table["gene_id"])
    assert roc_auc_score(labels.dropna(), table.set_index("gene_id")["probability"][labels.notna()]) > 0.6


def test_interpretation_runs_and_report(cross_run):
    """E003's DeepChrome and linear runs interpreted: arrays of the test genes, the sign table and every figure."""
    import numpy as np

    z = np.load(cross_run / "results/interpret/deepchrome/E003/seed0/interpret.npz", allow_pickle=False)
    genes = pd.read_csv(cross_run / "results/runs/single_cell/deepchrome/E003/seed0/predictions.tsv.gz", sep="\t")
    assert list(z["gene_ids"]) == list(genes.loc[genes["split"] == "test", "gene_id"])
    assert z["classopt_expressed"].shape == (5, 100) and z["classopt_expressed"].max() == 1.0
    assert z["classopt_loss_expressed"].shape == (200,) and z["ig_delta_max"] < 0.05
    signs = pd.read_csv(cross_run / "results/report/interpret/signs.tsv", sep="\t")
    assert set(signs["model"]) == {"deepchrome", "linear12"} and len(signs) == 2 * 5
    # the planted H3K4me3 signal is read by both models even at 2 epochs
    assert (signs.loc[signs["mark"] == "H3K4me3", "sign"] == 1).all()
    sanity = pd.read_csv(cross_run / "results/report/interpret/gan_sanity.tsv", sep="\t")
    assert list(sanity["source"]) == ["real", "gan", "random"] and list(sanity["published_positive"]) == [
        0.3,
        0.31,
        0.19,
    ]
    section = (cross_run / "results/report/interpret/section.html").read_text()
    assert "0.30" in section and "3,000,000" in section and "class_optimization.png" in section
    assert 'id="interpret"' in (cross_run / "results/report/index.html").read_text()


def test_deepchrome_trained_on_the_demo_reads_the_known_biology(cross_run, tmp_path):
    """DeepChrome trained past the demo's 2 epochs (8, lr 0.01) on the demo's E003: integrated gradients and
    input gradients both say H3K4me3 pushes towards expressed and H3K27me3 away, as the simulator plants."""
    import numpy as np

    from chromexpr.experiments.interpret.evaluate import interpret_run
    from chromexpr.experiments.interpret.methods import attribution_signs
    from chromexpr.models import load_card
    from chromexpr.training import train_model

    data = cross_run / "results/datasets/E003.npz"
    card = load_card("deepchrome")
    card["training"]["lr"] = 0.01
    metrics = train_model(card, data, tmp_path / "run", seed=0, max_epochs=8, log=lambda _line: None)
    assert metrics["test_auroc"] > 0.75
    z = np.load(interpret_run(tmp_path / "run", data, tmp_path / "i.npz", cell="E003", seed=0, ig_steps=16))
    for key in ("ig_all", "saliency_all"):
        signs = attribution_signs(z[key], list(z["marks"]))
        assert signs["H3K4me3"] == 1 and signs["H3K27me3"] == -1, (key, signs)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        # the transfer block re-runs the transfer jobs and their report only
        (
            "experiments: {transfer: {lambda_schedule: {kind: constant, lambda_max: 0.1}}}",
            {"transfer_cross": 2, "report_transfer": 1, "report": 1},
        ),
        # a cross-cell threshold: the groups again (their runs follow once the checkpoint has run), no transfer job
        ("experiments: {cross_cell: {highly: 0.9}}", {"cross_cell_groups": 1, "report_cross_cell": 1, "report": 1}),
        ("experiments: {transfer: {enabled: false}}", {"report": 1}),
        # Fig. 5's threshold is the report's alone; the differential epochs re-train its torch models only (2 DeepDiff
        # runs, the 2 AttentiveChrome cell runs and the pair run assembled from them)
        ("experiments: {differential: {lfc_threshold: 3.0}}", {"report_differential": 1, "report": 1}),
        (
            "experiments: {differential: {max_epochs: 2}}",
            {
                "train_differential_torch": 2,
                "train_differential_cell": 2,
                "assemble_differential": 1,
                "report_differential": 1,
                "report": 1,
            },
        ),
        # the regression target re-trains every regression run (2 folds, classifier, 2 cells, linear)
        (
            "experiments: {regression: {target: log1p}}",
            {
                "train_regression_torch": 5,
                "train_regression_sklearn": 1,
                "combine_regression": 2,
                "regression_gradients": 1,
                "report_regression": 1,
                "report": 1,
            },
        ),
        # the interpretation's IG steps re-run its two runs' arrays and its section only
        (
            "experiments: {interpret: {ig_steps: 12}}",
            {"interpret_run": 2, "report_interpret": 1, "report": 1},
        ),
        # the paper protocol: its uncross trains per target (2 models x 2 targets), its cross cuts target halves
        (
            "experiments: {transfer: {protocol: paper}}",
            {"transfer_cross": 2, "transfer_uncross": 4, "report_transfer": 1, "report": 1},
        ),
        # library edits (a comment appended to the module in a copy of the checkout): a training job's code is
        # the run shell, its task and its own card's model family; a report job's its experiment's modules and
        # the report core. DeepDiff's module: its two DeepDiff runs, the AttentiveChrome pair run (its class lives
        # there; the cell runs' class does not) and their report, nothing else
        (
            "library: chromexpr.models.deepdiff",
            {"train_differential_torch": 2, "assemble_differential": 1, "report_differential": 1, "report": 1},
        ),
        # DeepChrome's module: the runs of DeepChrome-class cards, no differential or regression run
        ("library: chromexpr.models.deepchrome", MODEL_EDIT_DEEPCHROME),
        # one experiment's report module: that report (and the page that holds its section)
        ("library: chromexpr.experiments.differential.report", {"report_differential": 1, "report": 1}),
        ("library: chromexpr.experiments.regression.report", {"report_regression": 1, "report": 1}),
        # card edits (an edited copy of a shipped card in $CHROMEXPR_MODELS_DIR): a published number or a
        # display name re-runs the reports that show the card, no training; a training setting its runs
        ("card: jamaica_cnn published.0.value=3.3", {"report_regression": 1, "report": 1}),
        ("card: deepdiff_raw_d display.name=DeepDiff (raw, D)", {"report_differential": 1, "report": 1}),
        (
            "card: deepdiff_raw_d training.lr=0.002",
            {"train_differential_torch": 1, "report_differential": 1, "report": 1},
        ),
    ],
)
def test_experiment_edit_reruns_only_its_jobs(cross_run, tmp_path, edit, expected):
    if edit.startswith("library: "):
        module = edit.removeprefix("library: ")
        checkout = copy_workflow(tmp_path / "checkout", with_library=True)
        path = checkout / "src" / (module.replace(".", "/") + ".py")
        path.write_text(path.read_text() + "\n# an edit\n")
        counts = dry_run_counts(cross_run, repo=checkout, env={"PYTHONPATH": str(checkout / "src")})
    elif edit.startswith("card: "):
        name, change = edit.removeprefix("card: ").split(" ", 1)
        keys, value = change.split("=", 1)
        card = yaml.safe_load((REPO / "models" / f"{name}.yaml").read_text())
        *path, last = [int(k) if k.isdigit() else k for k in keys.split(".")]
        node = card
        for key in path:
            node = node[key]
        node[last] = yaml.safe_load(value)
        (tmp_path / "cards").mkdir()
        (tmp_path / "cards" / f"{name}.yaml").write_text(yaml.safe_dump(card, sort_keys=False))
        counts = dry_run_counts(cross_run, env={"CHROMEXPR_MODELS_DIR": str(tmp_path / "cards")})
    else:
        extra = tmp_path / "edit.yaml"
        extra.write_text(edit + "\n")
        counts = dry_run_counts(cross_run, "--configfile", str(REPO / "config/examples/cross_cell.yaml"), str(extra))
    assert counts == expected, counts
