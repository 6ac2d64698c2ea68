"""Tests of chromexpr.reporting: provenance.json, index.html from its Jinja2 template, the display rules
(p-values, plurals, the demo's epoch-budget note, the accuracy caveat) and the list of report files."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd
import pytest

import chromexpr
from chromexpr.evaluation.runs import collect_metrics
from chromexpr.experiments.single_cell import plan
from chromexpr.experiments.single_cell.report import build_report, split_balance_display
from chromexpr.reporting.formatting import format_p, plural
from chromexpr.reporting.notes import budget_note
from chromexpr.reporting.provenance import MODEL_KEYS, PROVENANCE_KEYS, build_provenance, git_commit

from .test_evaluate import LABELS_E003, LABELS_E004, write_run


def report_files(reference: str = "deepchrome") -> list[str]:
    """The files the report job writes (the single-cell plan's list, for a reference model)."""
    return plan.report_files({"report": {"reference_model": reference}})


REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def runs_dir(tmp_path) -> list[Path]:
    return [
        write_run(
            tmp_path / "runs",
            "deepchrome",
            cell,
            seed,
            labels=labels,
            valid_losses=[0.9, 0.9, 0.9, 0.9],  # never below chance
            epochs_run=4,
            max_epochs=4,
            stopped_early=False,
        )
        for cell, labels in (("E003", LABELS_E003), ("E004", LABELS_E004))
        for seed in (0,)
    ] + [
        write_run(
            tmp_path / "runs",
            "logreg",
            cell,
            0,
            labels=labels,
            valid_losses=[0.3],
            epochs_run=1,
            max_epochs=None,
            patience=None,
        )
        for cell, labels in (("E003", LABELS_E003), ("E004", LABELS_E004))
    ]


def test_format_p_is_the_figures_rule():
    assert format_p(6 / 32) == "0.19"
    assert format_p(0.0625) == "0.062"
    assert format_p(3.2e-5) == "3.2e-05"
    assert format_p(float("nan")) == "n/a" and format_p(None) == "n/a" and format_p(pd.NA) == "n/a"


def test_plural():
    assert plural(1, "seed") == "1 seed" and plural(3, "seed") == "3 seeds"


def test_provenance_keys_and_values(runs_dir, tmp_path):
    runs = collect_metrics(runs_dir)
    now = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    prov = build_provenance(
        runs, config_files=["config/config.yaml", "extra.yaml"], source_kind="demo", workflow_dir=tmp_path, now=now
    )
    assert tuple(prov) == PROVENANCE_KEYS
    assert prov["chromexpr_version"] == chromexpr.__version__
    assert prov["git_commit"] is None  # tmp_path is no git checkout
    assert prov["date_utc"] == "2026-01-02T03:04:05Z"
    assert prov["config_files"] == ["config/config.yaml", "extra.yaml"]
    assert prov["source_kind"] == "demo" and prov["cells"] == ["E003", "E004"]
    dc = prov["models"]["deepchrome"]
    assert tuple(dc) == MODEL_KEYS
    assert dc == {
        "runs": 2,
        "cells": ["E003", "E004"],
        "seeds": [0],
        "epochs_run": [4],
        "max_epochs": [4],
        "patience": [5],
        "device": ["cpu"],
        "chromexpr_version": ["0.1.0"],
    }
    assert prov["models"]["logreg"]["max_epochs"] == [] and prov["models"]["logreg"]["epochs_run"] == [1]
    json.dumps(prov)  # plain JSON values only


def test_git_commit_of_a_checkout():
    commit = git_commit(REPO)
    if (REPO / ".git").exists():
        assert commit is not None and re.fullmatch(r"[0-9a-f]{40}", commit)
    assert git_commit(REPO / "no such dir") is None and git_commit(None) is None


def test_budget_note():
    runs = pd.DataFrame({"max_epochs": pd.array([4, None], dtype="Int64")})
    note = budget_note(runs, "demo")
    assert "4 epochs" in note and "not the architectures" in note and "simulated" in note
    assert budget_note(pd.DataFrame({"max_epochs": pd.array([100], dtype="Int64")}), "remc") == ""
    assert "2 epochs" in budget_note(pd.DataFrame({"max_epochs": pd.array([2], dtype="Int64")}), "remc")


def test_split_balance_display_caveat():
    balance = pd.DataFrame(
        {
            "cell": ["E003"],
            "n_train": [100],
            "train_positive": [0.64],
            "n_valid": [50],
            "valid_positive": [0.52],
            "n_test": [50],
            "test_positive": [0.34],
            "test_minus_train": [-0.30],
            "accuracy_caveat": [True],
            "label_median": [2431.0],
            "label_median_over": ["the cell's 19,795 genes in expression.tsv"],
        }
    )
    row = split_balance_display(balance).iloc[0]
    assert row["train"] == "64% of 100" and row["test"] == "34% of 50" and row["test − train"] == "-30 points"
    assert "not comparable" in row["accuracy"]
    assert row["labelled 1"] == "expression ≥ 2,431, the median over the cell's 19,795 genes in expression.tsv"


def test_index_html_renders_from_the_template_with_provenance(runs_dir, tmp_path):
    out = tmp_path / "report"
    written = build_report(
        runs_dir,
        out,
        title="a <b>title</b>",
        config_files=["config/config.yaml"],
        source_kind="demo",
        workflow_dir=tmp_path,
    )
    assert sorted(written) == sorted(report_files())
    page = (out / "index.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "{{" not in page and "{%" not in page  # rendered, not the template
    assert "<title>a &lt;b&gt;title&lt;/b&gt;</title>" in page  # escaped
    header = page[page.index('<section class="provenance"') : page.index("</section>")]
    assert f"chromexpr {chromexpr.__version__}" in header and "git commit unknown" in header
    assert "config/config.yaml" in header and "demo" in header and "E003, E004" in header
    assert "epochs run 4 of max_epochs 4, patience 5" in header and "single fit" in header
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["date_utc"] in header
    assert "2 models × 2 cells × 1 seed." in page and "up to 1 seeds" not in page
    assert "The epoch budget is 4 epochs" in page and "not the architectures" in page
    assert "2 runs never reached a validation loss below chance" in page
    assert page.count("not converged") >= 4
    assert "accuracy reflects the class balance" in page  # E003: 75% train vs 25% test positives
    tables = re.findall(r"<table", page)
    assert len(tables) == page.count('<div style="overflow-x:auto"><table')
    per_cell = pd.read_csv(out / "per_cell_auroc.tsv", sep="\t")
    assert per_cell["converged"].dtype == bool and not per_cell["converged"][per_cell["model"] == "deepchrome"].any()
    t2 = pd.read_csv(out / "table2.tsv", sep="\t").set_index("model")
    assert t2.loc["deepchrome", "n_not_converged"] == 2 and t2.loc["deepchrome", "n_max_epochs"] == 2
    assert "2 of 2 runs" in (out / "table2.md").read_text()


def test_templates_are_package_data():
    """The page and macros (the report core) and every experiment's section template ship in the wheel."""
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"reporting/templates/*.j2"' in pyproject and '"experiments/*/*.j2"' in pyproject
    for name in ("page.html.j2", "macros.html.j2"):
        assert (REPO / "src/chromexpr/reporting/templates" / name).is_file()
    assert (REPO / "src/chromexpr/experiments/single_cell/section.html.j2").is_file()


def test_report_rule_declares_every_file():
    rules = (REPO / "rules/report.smk").read_text()
    for name in report_files("deepchrome"):
        declared = name.replace("paired_vs_deepchrome", "paired_vs_{REPORT_REF}")
        assert f'results/report/{declared}"' in rules, name
    assert rules.count("report(") >= len(report_files()) - 1  # each table and figure in the Snakemake report


def test_p_value_reads_the_same_in_table_and_figure_title():
    from chromexpr.experiments.single_cell.figures import paired_scatter_figure
    from chromexpr.experiments.single_cell.report import paired_display

    per_cell = pd.DataFrame(
        {
            "model": ["deepchrome"] * 5 + ["linear12"] * 5,
            "cell": [f"E00{i}" for i in range(5)] * 2,
            "n_seeds": 1,
            "test_auroc_mean": [0.8] * 5 + [0.81, 0.79, 0.83, 0.84, 0.86],
            "test_auroc_sd": float("nan"),
        }
    )
    paired = pd.DataFrame(
        {
            "model": ["linear12"],
            "reference": ["deepchrome"],
            "n_cells": [5],
            "wins": [4],
            "losses": [1],
            "ties": [0],
            "mean_difference": [0.026],
            "median_difference": [0.03],
            "wilcoxon_statistic": [1.0],
            "p_value": [0.125],
            "note": [""],
        }
    )
    for p, expected in ((0.125, "0.12"), (3.2e-5, "3.2e-05")):
        paired["p_value"] = [p]
        fig = paired_scatter_figure(per_cell, "deepchrome", paired)
        titles = " ".join(ax.get_title() for ax in fig.axes)
        shown = paired_display(paired).loc[0, "Wilcoxon p"]
        assert shown == expected and re.search(rf"\bp (= )?{re.escape(shown)}(\s|$)", titles), titles
