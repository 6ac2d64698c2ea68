"""The report of single-cell runs: the paper's Table 2, paired tests, training diagnostics, the published
numbers beside ours, figures, ``provenance.json`` and ``index.html`` (Jinja2 template).

Input: one ``metrics.json`` per run (``results/runs/single_cell/{model}/{cell}/seed{n}/metrics.json``), with
the run's ``history.tsv`` and ``predictions.tsv.gz`` beside it. ``build_report`` writes into one folder
(``REPORT_FILES`` lists them; the workflow's report rule declares each):

========================================  ===================================================================
``table2.tsv`` / ``.md``                   per model: cells, seeds, min / mean / max / median test AUROC over
                                           cells (a cell's value = mean over seeds), mean +/- sd over seeds,
                                           runs that stopped early / at max_epochs / never beat chance
``per_cell_auroc.tsv``                     per model and cell: mean and sd over seeds, how it stopped,
                                           ``converged``, positive fractions and the accuracy caveat
``runs.tsv``                               per run: epochs, patience, stop, best valid loss vs chance
``split_balance.tsv``                      per cell: genes and positive fraction of train / valid / test
``training_curves.tsv``                    per run and epoch: train_loss, valid_loss, valid_auroc
``roc_curves.tsv``                         per run: test-split ROC curve (fpr, tpr)
``paired_vs_{reference}.tsv`` / ``.md``    per model against the reference: wins / losses / ties, Wilcoxon p
``published_comparison.tsv`` / ``.md``     our per-cell AUROC beside the published per-cell numbers
``published_table2.tsv``                   our Table 2 rows beside the published summary rows
``provenance.json``                        versions, git commit, date, config files, source, cells, per model
                                           epochs / max_epochs / patience / seeds / device
``{figure}.{png,pdf}``                     per_cell_auroc, auroc_distribution, paired_vs_{reference},
                                           training_curves, roc_curves (``draw_figures``, from the TSVs only)
``index.html``                             every table and figure on one page, provenance first
========================================  ===================================================================
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from chromexpr.errors import InputError
from chromexpr.evaluation.runs import collect_metrics, roc_curves, run_diagnostics, training_curves
from chromexpr.evaluation.statistics import MIN_CELLS, paired_vs_reference
from chromexpr.evaluation.tables import (
    DEFAULT_PUBLISHED,
    SAME_DATA_CAVEAT,
    TABLE2_PUBLISHED_COLUMNS,
    PublishedComparison,
    per_cell_table,
    published_beside_ours,
    runs_table,
    split_balance,
    table2,
)
from chromexpr.io.atomic import atomic_path
from chromexpr.io.jsonio import write_json
from chromexpr.reporting.figures import FIGURE_STEMS, draw_figures
from chromexpr.reporting.formatting import (
    accuracy_display,
    html_table,
    markdown,
    paired_display,
    per_cell_display,
    plural,
    published_per_cell_display,
    published_table2_display,
    runs_display,
    split_balance_display,
    table2_display,
)
from chromexpr.reporting.manifest import figure_files
from chromexpr.reporting.provenance import build_provenance

FLOAT_FORMAT = "%.6g"
#: below this many epochs a report says its numbers compare optimisation after a few epochs
SHORT_BUDGET_EPOCHS = 10


def report_files(reference_model: str = "deepchrome") -> list[str]:
    """Every file name ``build_report`` writes (the report rule declares each as an output)."""
    paired = f"paired_vs_{reference_model}"
    tables = [
        "table2.tsv",
        "table2.md",
        "per_cell_auroc.tsv",
        "runs.tsv",
        "split_balance.tsv",
        "training_curves.tsv",
        "roc_curves.tsv",
        f"{paired}.tsv",
        f"{paired}.md",
        "published_comparison.tsv",
        "published_comparison.md",
        "published_table2.tsv",
        "provenance.json",
    ]
    stems = [*FIGURE_STEMS[:2], paired, *FIGURE_STEMS[2:]]
    return tables + figure_files(stems) + ["index.html"]


def _write_text(path: Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def _write_tsv(path: Path, table: pd.DataFrame) -> Path:
    with atomic_path(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format=FLOAT_FORMAT, na_rep="")
    return path


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("chromexpr.reporting", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def budget_note(runs: pd.DataFrame, source_kind: str | None) -> str:
    """The warning that a short epoch budget (or the demo's simulated data) makes the numbers a comparison
    of optimisers after a few epochs, not of architectures; empty when it does not apply."""
    budgets = sorted({int(v) for v in runs["max_epochs"].dropna()}) if "max_epochs" in runs.columns else []
    short = budgets and max(budgets) < SHORT_BUDGET_EPOCHS
    if source_kind != "demo" and not short:
        return ""
    parts = []
    if source_kind == "demo":
        parts.append("Demo data: the reads are simulated, so the AUROC values say nothing about real cells.")
    if budgets:
        epochs = " / ".join(str(b) for b in budgets)
        parts.append(
            f"The epoch budget is {epochs} epoch{'s' if budgets != [1] else ''} (max_epochs): these numbers compare "
            "how far each optimiser gets after a few epochs, not the architectures."
        )
    return " ".join(parts)


def render_index(context: dict[str, Any]) -> str:
    """index.html from ``templates/index.html.j2``."""
    return _environment().get_template("index.html.j2").render(**context)


def build_report(
    metrics_paths: Sequence[str | Path],
    out_dir: str | Path,
    *,
    published: str | Path | None = DEFAULT_PUBLISHED,
    reference_model: str = "deepchrome",
    title: str = "chromexpr: single-cell expression prediction",
    min_cells: int = MIN_CELLS,
    config_files: Sequence[str] = (),
    source_kind: str | None = None,
    workflow_dir: str | Path | None = None,
    sections: Sequence[str | Path] = (),
) -> dict[str, Path]:
    """Write the tables, figures, ``provenance.json`` and ``index.html`` of single-cell runs into ``out_dir``.

    Args:
        metrics_paths: the runs' ``metrics.json`` files (``history.tsv`` and ``predictions.tsv.gz`` are
            read from the same folders when there).
        out_dir: the report folder (created).
        published: the tidy published-AUROC table; ``None`` leaves the comparison out.
        reference_model: the model every other one is paired against.
        title: the page title.
        min_cells: fewest non-zero per-cell differences for a Wilcoxon test.
        config_files: the config files that produced the runs, as names or workflow-relative paths.
        source_kind: the data source (``demo``, ``remc``, ``local``, ``processed``).
        workflow_dir: the workflow's checkout, asked for its git commit (None: not recorded).
        sections: HTML fragments of the other experiments (``results/report/<experiment>/section.html``,
            each one ``<section id=...>`` with an ``<h2>``), appended to ``index.html`` in this order.

    Returns:
        file name (e.g. ``"table2.tsv"``) -> written path, for every name of ``report_files``. Every file
        is written atomically.
    """
    runs = collect_metrics(metrics_paths)
    if runs.empty:
        raise InputError(
            "no metrics.json files given: nothing to report",
            hint="train at least one model on one cell before building the report",
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    diagnostics = run_diagnostics(runs)
    t2 = table2(runs, diagnostics)
    pc = per_cell_table(runs, diagnostics)
    per_run = runs_table(diagnostics, runs)
    balance = split_balance(diagnostics)
    paired = paired_vs_reference(runs, reference_model, min_cells=min_cells)
    if published is None:
        comparison = PublishedComparison(
            pd.DataFrame(columns=["cell", "cell_name"]),
            pd.DataFrame(columns=TABLE2_PUBLISHED_COLUMNS),
            "no published table was given (published=None)",
        )
    else:
        comparison = published_beside_ours(runs, published)
    prov = build_provenance(runs, config_files=config_files, source_kind=source_kind, workflow_dir=workflow_dir)

    written: dict[str, Path] = {}

    def put(name: str, write, content) -> None:
        written[name] = write(out_dir / name, content)

    paired_stem = f"paired_vs_{reference_model}"
    put("table2.tsv", _write_tsv, t2)
    put(
        "table2.md",
        _write_text,
        f"# Table 2: test AUROC across cells\n\n{markdown(table2_display(t2))}\n"
        "A cell's value is the mean over its seeds; min / mean / max / median are over cells. "
        "mean ± sd over seeds: the across-cell mean per seed, then mean and sd over seeds. "
        "not converged: runs whose best validation loss is no better than chance.\n",
    )
    put("per_cell_auroc.tsv", _write_tsv, pc)
    put("runs.tsv", _write_tsv, per_run)
    put("split_balance.tsv", _write_tsv, balance)
    put("training_curves.tsv", _write_tsv, training_curves(runs))
    put("roc_curves.tsv", _write_tsv, roc_curves(runs))
    put(f"{paired_stem}.tsv", _write_tsv, paired)
    put(
        f"{paired_stem}.md",
        _write_text,
        f"# Each model against {reference_model}\n\n{markdown(paired_display(paired))}\n"
        "Per-cell mean AUROC over seeds; differences are model − reference; two-sided Wilcoxon signed-rank "
        f"test (scipy.stats.wilcoxon, zero differences dropped), skipped with fewer than {min_cells} non-zero "
        "differences.\n",
    )
    put("published_comparison.tsv", _write_tsv, comparison.per_cell)
    put("published_table2.tsv", _write_tsv, comparison.table2)
    if comparison.applicable:
        md = (
            "# Published numbers beside ours\n\n## Table 2\n\n"
            f"{markdown(published_table2_display(comparison.table2))}\n"
            "Rows over different cells are not directly comparable; the 'same cells' rows are. Published "
            "DeepChrome per-cell values have 2 decimals. Sources: published_auroc.tsv shipped with chromexpr. "
            f"{SAME_DATA_CAVEAT}\n\n"
            f"## Per cell\n\n{markdown(published_per_cell_display(comparison.per_cell))}"
        )
    else:
        md = f"# Published numbers beside ours\n\nNot applicable: {comparison.reason}.\n"
    put("published_comparison.md", _write_text, md)
    put("provenance.json", write_json, prov)
    for path in draw_figures(out_dir):
        written[path.name] = path

    n_models, n_cells, n_seeds = runs["model"].nunique(), runs["cell"].nunique(), runs["seed"].nunique()
    fragments = [Path(p).read_text(encoding="utf-8") for p in sections]
    links = []
    for fragment in fragments:
        found = re.search(r'<section[^>]*id="([^"]+)"[^>]*>.*?<h2[^>]*>(.*?)</h2>', fragment, re.S)
        if found:
            links.append((found.group(1), re.sub(r"<[^>]+>", "", found.group(2)).strip()))
    context = {
        "title": title,
        "sections": fragments,
        "section_links": links,
        "prov": prov,
        "n_runs": len(runs),
        "counts": f"{plural(n_models, 'model')} × {plural(n_cells, 'cell')} × "
        + (f"up to {plural(n_seeds, 'seed')}" if n_seeds > 1 else plural(n_seeds, "seed")),
        "budget_note": budget_note(runs, source_kind),
        "not_converged": int((~diagnostics["converged"]).sum()),
        "reference": reference_model,
        "paired_stem": paired_stem,
        "min_cells": min_cells,
        "comparison_applicable": comparison.applicable,
        "comparison_reason": comparison.reason or "",
        "same_data_caveat": SAME_DATA_CAVEAT,
        "tables": {
            "table2": html_table(table2_display(t2)),
            "paired": html_table(paired_display(paired)),
            "runs": html_table(runs_display(per_run)),
            "balance": html_table(split_balance_display(balance)),
            "accuracy": html_table(accuracy_display(pc)),
            "published_table2": html_table(published_table2_display(comparison.table2))
            if comparison.applicable
            else "",
            "published_per_cell": html_table(published_per_cell_display(comparison.per_cell))
            if comparison.applicable
            else "",
            "per_cell": html_table(per_cell_display(pc)),
        },
    }
    put("index.html", _write_text, render_index(context))
    return written
