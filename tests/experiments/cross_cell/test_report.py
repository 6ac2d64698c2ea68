"""Tests of the cross-cell report section (chromexpr.experiments.cross_cell.report) on a small, fake but valid
results tree: every file written, the HTML fragment's links, and redrawing the figures from the TSVs alone."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chromexpr.errors import InputError
from chromexpr.experiments.cross_cell import evaluate as cc
from chromexpr.experiments.cross_cell.figures import redraw
from chromexpr.experiments.cross_cell.plan import report_files as cross_cell_report_files
from chromexpr.experiments.cross_cell.report import _group_mismatches, build_cross_cell_section

MODEL = "deepchrome_avgpool"
CELLS = ["E003", "E004", "E005", "E006", "E007"]
TARGETS = ["E003", "E005", "E007"]
N_GENES = 60
RANDOM_SIZE, RANDOM_SEED = 2, 3


def write_run(folder: Path, record: dict, genes: pd.DataFrame, rng) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    base = {
        "model": MODEL,
        "test_auprc": 0.7,
        "test_accuracy": 0.7,
        "valid_auroc": 0.75,
        "best_epoch": 2,
        "epochs_run": 3,
        "wall_seconds": 1.5,
        "parameters": 1000,
        "device": "cpu",
        "n_valid": int((genes["split"] == "valid").sum()),
        "n_test": int((genes["split"] == "test").sum()),
        "training": {"max_epochs": 3, "patience": 2},
    }
    path = folder / "metrics.json"
    path.write_text(json.dumps({**base, **record}))
    pd.DataFrame(
        {
            "gene_id": genes["gene_id"],
            "split": genes["split"],
            "label": rng.integers(0, 2, len(genes)),
            "probability": rng.random(len(genes)).round(4),
        }
    ).to_csv(folder / "predictions.tsv.gz", sep="\t", index=False)
    return path


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("cross_cell")
    rng = np.random.default_rng(11)
    split = np.array(["train", "valid", "test"] * (N_GENES // 3))
    base = rng.lognormal(1.0, 1.0, N_GENES)
    expression = pd.DataFrame({"gene_id": [f"ENSG{i:05d}" for i in range(N_GENES)], "split": split})
    for i, cell in enumerate(CELLS):
        expression[cell] = (base * rng.lognormal(0.0, 0.2 + 0.4 * i, N_GENES)).round(3)
    expression_path = root / "cross_cell" / "expression.tsv.gz"
    expression_path.parent.mkdir(parents=True)
    expression.to_csv(expression_path, sep="\t", index=False)
    correlations = cc.correlation_tables(expression)
    correlation_dir = root / "cross_cell"
    correlation_paths = {}
    for s, table in correlations.items():
        correlation_paths[s] = correlation_dir / f"correlation_{s}.tsv"
        table.to_csv(correlation_paths[s], sep="\t", index=False)
    groups = cc.cross_cell_groups(correlations["train"], CELLS, TARGETS, random_size=RANDOM_SIZE, seed=RANDOM_SEED)
    groups_path = root / "cross_cell" / "groups.tsv"
    groups.to_csv(groups_path, sep="\t", index=False)

    genes = expression[["gene_id", "split"]]
    run_paths, auroc = [], {}
    for g in groups[~groups["empty"]].itertuples(index=False):
        for seed in (0, 1) if g.run == "all_inclusive" else (0,):
            value = round(0.7 + 0.1 * rng.random(), 4)
            auroc[(g.run, g.target, seed)] = value
            record = {
                "cell": g.target,
                "seed": seed,
                "test_auroc": value,
                "run": g.run,
                "group": g.group,
                "mode": g.mode,
                "target": g.target,
                "train_cells": g.cells,
                "n_train_cells": int(g.n_cells),
                "n_train": 20 * int(g.n_cells),
            }
            folder = root / "runs" / "cross_cell" / MODEL / g.run / g.target / f"seed{seed}"
            run_paths.append(write_run(folder, record, genes, rng))
    baseline_paths, own = [], {}
    for cell in CELLS:
        for model in (MODEL, "deepchrome"):
            value = round(0.65 + 0.1 * rng.random(), 4)
            if model == MODEL:
                own[cell] = value
            record = {"model": model, "cell": cell, "seed": 0, "test_auroc": value, "n_train": 20}
            folder = root / "runs" / "single_cell" / model / cell / "seed0"
            baseline_paths.append(write_run(folder, record, genes, rng))
    out_dir = root / "report" / "cross_cell"
    out_dir.mkdir(parents=True)
    scores = pd.DataFrame(
        [
            {"train_cell": a, "test_cell": b, "auroc": round(0.6 + 0.1 * rng.random(), 4), "model": MODEL, "seed": 0}
            for a in CELLS
            for b in CELLS
            if a != b
        ]
    )
    rest = cc.test_on_rest_table(scores, own, correlations["train"])
    rest.to_csv(out_dir / "test_on_rest.tsv", sep="\t", index=False)
    written = build_cross_cell_section(
        run_metrics=run_paths,
        baseline_metrics=baseline_paths,
        groups=groups_path,
        correlations=correlation_paths,
        expression=expression_path,
        test_on_rest=out_dir / "test_on_rest.tsv",
        out_dir=out_dir,
        model=MODEL,
        random_size=RANDOM_SIZE,
        random_seed=RANDOM_SEED,
    )
    return {
        "root": root,
        "out": out_dir,
        "written": written,
        "auroc": auroc,
        "own": own,
        "rest": rest,
        "groups": groups,
        "expression": expression,
        "correlation_dir": correlation_dir,
        "kwargs": {
            "run_metrics": run_paths,
            "baseline_metrics": baseline_paths,
            "groups": groups_path,
            "correlations": correlation_paths,
            "expression": expression_path,
            "test_on_rest": out_dir / "test_on_rest.tsv",
        },
    }


def test_every_file_written(tree):
    names = cross_cell_report_files()
    assert len(names) == len(set(names)) == 6 + 12
    assert set(tree["written"]) == set(names)
    for name in names:
        path = tree["out"] / name
        assert path.is_file() and path.stat().st_size > 0, name
        assert tree["written"][name] == path
    assert not list(tree["out"].glob(".*.tmp*"))  # no temporaries left


def test_experiment_table_values(tree):
    table = pd.read_csv(tree["out"] / "experiments.tsv", sep="\t", dtype={"target": str})
    assert list(table.columns) == list(cc.EXPERIMENT_COLUMNS)
    assert table["target"].drop_duplicates().tolist() == TARGETS
    base = table[table["experiment"] == "baseline"].set_index("target")
    for target in TARGETS:  # the deepchrome single-cell runs are not the baseline
        assert base.loc[target, "test_auroc"] == pytest.approx(tree["own"][target])
    full = table[table["experiment"] == "all_inclusive"].set_index("target")
    for target in TARGETS:
        seeds = [tree["auroc"][("all_inclusive", target, s)] for s in (0, 1)]
        assert full.loc[target, "test_auroc"] == pytest.approx(np.mean(seeds))
        assert full.loc[target, "n_seeds"] == 2
        assert full.loc[target, "n_train_cells"] == 5
    empty = tree["groups"].set_index(["run", "target"])["empty"]
    for row in table[table["experiment"] != "baseline"].itertuples():
        assert bool(row.empty) == bool(empty[(row.experiment, row.target)])
    finite = table["normalized_auroc"].dropna()
    assert finite.min() == pytest.approx(0.0) and finite.max() == pytest.approx(1.0)


def test_trend_and_probability_tables(tree):
    trend = pd.read_csv(tree["out"] / "test_on_rest_trend.tsv", sep="\t")
    assert list(trend.columns) == ["slope", "intercept", "r", "p_value", "n"]
    expected = cc.test_on_rest_trend(tree["rest"])
    assert trend.loc[0, "n"] == expected["n"] == 20
    assert trend.loc[0, "slope"] == pytest.approx(expected["slope"], rel=1e-5)
    assert trend.loc[0, "r"] == pytest.approx(expected["r"], rel=1e-5)
    bins = pd.read_csv(tree["out"] / "probability_difference.tsv", sep="\t")
    assert len(bins) == 20
    n_test = int((tree["expression"]["split"] == "test").sum())
    assert bins["n_genes"].sum() == n_test * len(TARGETS)  # every test gene of every target


def test_section_html(tree):
    html = (tree["out"] / "section.html").read_text()
    assert html.startswith('<section id="cross-cell">')
    assert html.rstrip().endswith("</section>")
    assert "<h2>Cross-cell prediction (DeepChrome 2.0)</h2>" in html
    assert "<html" not in html and "<body" not in html
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert len(sources) == 6
    for src in sources:
        assert src.startswith("cross_cell/")
        assert (tree["out"].parent / src).is_file(), src
    for href in re.findall(r'<a href="([^"]+)"', html):
        assert (tree["out"].parent / href).is_file(), href
    assert "deepchrome_avgpool" in html
    assert "&gt; 0.75" in html and "&gt; 0.5" in html
    assert f"seed {RANDOM_SEED}" in html
    assert "small slope and an insignificant r" in html
    assert "too few for these numbers to support" in html  # 3 targets: a demo-size warning
    assert "differs from what the thresholds give" not in html  # the groups agree with the correlation
    trend = pd.read_csv(tree["out"] / "test_on_rest_trend.tsv", sep="\t").iloc[0]
    assert f"r = {trend['r']:.2f}" in html
    assert html.count('<table class="dataframe table">') == 2  # the summary and the per-target table


def test_draw_redraws_every_figure(tree):
    figures = [n for n in cross_cell_report_files() if n.endswith((".png", ".pdf"))]
    for name in figures:
        (tree["out"] / name).unlink()
    written = redraw(tree["out"], tree["root"])  # the correlation tables: <results>/cross_cell/
    assert sorted(p.name for p in written) == sorted(figures)
    assert all((tree["out"] / n).is_file() for n in figures)


def test_draw_needs_the_tables(tmp_path):
    with pytest.raises(InputError, match="experiments.tsv not found"):
        redraw(tmp_path, tmp_path)


def test_mismatched_groups_are_flagged(tree):
    correlation = pd.read_csv(tree["correlation_dir"] / "correlation_train.tsv", sep="\t", dtype={"cell_a": str})
    groups = tree["groups"]
    assert _group_mismatches(groups, correlation, (0.75, 0.5), RANDOM_SIZE, RANDOM_SEED) == []
    assert _group_mismatches(groups, correlation, (0.75, 0.5), RANDOM_SIZE, RANDOM_SEED + 1)  # other random draws
    other = _group_mismatches(groups, correlation, (0.0, 0.0), None, None)
    assert other and all("random" not in m for m in other)  # without the seed the random groups are not checked


def test_other_model_runs_are_an_error(tree, tmp_path):
    kwargs = {**tree["kwargs"], "test_on_rest": tree["kwargs"]["test_on_rest"]}
    with pytest.raises(InputError, match="expected transferchrome only"):
        build_cross_cell_section(**kwargs, out_dir=tmp_path / "x", model="transferchrome")
    with pytest.raises(InputError) as err:
        build_cross_cell_section(**kwargs, out_dir=tmp_path / "x", correlation_split="all")
    assert err.value.key == "experiments.cross_cell.correlation_split"
