"""The single-cell section of the report and the page that holds every section: the paper's Table 2, paired
tests, training diagnostics, the published numbers beside ours, figures (``section.html.j2``), then
``provenance.json`` and ``index.html`` (``chromexpr.reporting.page``).

Input: one ``metrics.json`` per run (``results/runs/single_cell/{model}/{cell}/seed{n}/metrics.json``), with
the run's ``history.tsv`` and ``predictions.tsv.gz`` beside it. ``build_report`` writes into one folder
(the plan's ``report_files`` lists them; the workflow's report rule declares each):

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
                                           training_curves, roc_curves (``figures.redraw``, from the TSVs only)
``index.html``                             every table and figure on one page, provenance first
========================================  ===================================================================
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from chromexpr.errors import InputError
from chromexpr.evaluation.runs import (
    collect_metrics,
    gene_set_descriptions,
    roc_curves,
    run_diagnostics,
    training_curves,
)
from chromexpr.evaluation.statistics import MIN_CELLS, paired_vs_reference
from chromexpr.experiments.single_cell.evaluate import (
    SAME_DATA_CAVEAT,
    TABLE2_PUBLISHED_COLUMNS,
    PublishedComparison,
    per_cell_table,
    published_beside_ours,
    runs_table,
    split_balance,
    table2,
)
from chromexpr.experiments.single_cell.figures import redraw
from chromexpr.io.jsonio import write_json
from chromexpr.models.display import order_models
from chromexpr.published import DEFAULT_PUBLISHED
from chromexpr.reporting.environment import render_section
from chromexpr.reporting.files import write_text, write_tsv
from chromexpr.reporting.formatting import fmt, format_p, html_table, markdown, plural
from chromexpr.reporting.notes import budget_note
from chromexpr.reporting.page import write_page
from chromexpr.reporting.provenance import build_provenance

SECTION_TITLE = "Single-cell experiment: one model per cell (Table 2)"


def table2_display(t2: pd.DataFrame) -> pd.DataFrame:
    """Table 2 with rounded, labelled columns (for Markdown and HTML)."""
    out = pd.DataFrame(
        {
            "model": t2["model"],
            "cells": t2["n_cells"].astype(str),
            "seeds": t2["n_seeds"].astype(str),
            "min": t2["min_auroc"].map(fmt),
            "mean": t2["mean_auroc"].map(fmt),
            "max": t2["max_auroc"].map(fmt),
            "median": t2["median_auroc"].map(fmt),
            "mean ± sd over seeds": [
                f"{fmt(m)} ± {fmt(s)}" if not math.isnan(s) else f"{fmt(m)} (1 seed)"
                for m, s in zip(t2["seed_mean_auroc"], t2["seed_sd_auroc"], strict=True)
            ],
            "AUPRC": t2["mean_auprc"].map(fmt),
            "parameters": [f"{int(p):,}" if p is not pd.NA else "" for p in t2["parameters"]],
            "early stop / max_epochs": [
                f"{e} / {m}" for e, m in zip(t2["n_early_stop"], t2["n_max_epochs"], strict=True)
            ],
            "not converged": [
                f"{n} of {plural(r, 'run')}" if n else ""
                for n, r in zip(t2["n_not_converged"], t2["n_runs"], strict=True)
            ],
        }
    )
    return out


def paired_display(paired: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": paired["model"],
            "cells": paired["n_cells"].astype(str),
            "wins": paired["wins"].astype(str),
            "losses": paired["losses"].astype(str),
            "ties": paired["ties"].astype(str),
            "mean diff.": [f"{v:+.4f}" if not math.isnan(v) else "" for v in paired["mean_difference"].astype(float)],
            "median diff.": [
                f"{v:+.4f}" if not math.isnan(v) else "" for v in paired["median_difference"].astype(float)
            ],
            "Wilcoxon p": paired["p_value"].map(format_p),
            "note": paired["note"].fillna(""),
        }
    )


def per_cell_display(pc: pd.DataFrame) -> pd.DataFrame:
    """Cells x models, ``mean ± sd`` over seeds; ``(not converged)`` where a seed never beat chance."""
    text = [
        (f"{fmt(m)} ± {fmt(s)}" if not math.isnan(s) else fmt(m)) + ("" if ok else " (not converged)")
        for m, s, ok in zip(
            pc["test_auroc_mean"].astype(float),
            pc["test_auroc_sd"].astype(float),
            pc["converged"].astype(bool),
            strict=True,
        )
    ]
    wide = pc.assign(text=text).pivot_table(index="cell", columns="model", values="text", aggfunc="first")
    wide = wide.reindex(columns=order_models(pc["model"])).fillna("")
    wide.columns.name = None
    return wide.reset_index()


def published_table2_display(table: pd.DataFrame) -> pd.DataFrame:
    basis = {"ours": "ours", "same_cells": "same cells as ours", "source_cells": "all cells of the source"}
    return pd.DataFrame(
        {
            "model": table["model"],
            "numbers": [
                f"{s} ({pm})" if pm else s for s, pm in zip(table["source"], table["published_model"], strict=True)
            ],
            "kind": table["kind"].str.replace("_", "-"),
            "genes and split": table["genes"],
            "cells": [
                f"{basis.get(b, b)}: {'?' if n is pd.NA else n}"
                for b, n in zip(table["basis"], table["n_cells"], strict=True)
            ],
            **{s: table[s].astype(float).map(fmt) for s in ("min", "mean", "max", "median")},
            "ours − this mean": [
                f"{v:+.4f}" if not math.isnan(v) else "" for v in table["ours_minus_published_mean"].astype(float)
            ],
        }
    )


def published_per_cell_display(per_cell: pd.DataFrame) -> pd.DataFrame:
    out = per_cell.copy()
    for c in out.columns[2:]:
        out[c] = out[c].astype(float).map(fmt)
    return out


def _pct(value: object) -> str:
    return "" if value is None or value is pd.NA or math.isnan(float(value)) else f"{100 * float(value):.0f}%"


def runs_display(runs: pd.DataFrame) -> pd.DataFrame:
    """Per run: how it stopped, its best validation loss against chance, and whether it converged."""
    epochs = [
        "" if e is pd.NA else (f"{e} of {m}" if m is not pd.NA else str(e))
        for e, m in zip(runs["epochs_run"], runs["max_epochs"], strict=True)
    ]
    return pd.DataFrame(
        {
            "model": runs["model"],
            "cell": runs["cell"],
            "seed": runs["seed"].astype(str),
            "device": runs["device"].fillna(""),
            "epochs": epochs,
            "patience": ["" if p is pd.NA else str(p) for p in runs["patience"]],
            "best epoch": ["" if b is pd.NA else str(b) for b in runs["best_epoch"]],
            "stopped by": runs["stop"],
            "best valid loss": runs["best_valid_loss"].astype(float).map(fmt),
            "chance loss": runs["chance_loss"].astype(float).map(fmt),
            "converged": ["yes" if c else "not converged" for c in runs["converged"].astype(bool)],
            "test AUROC": runs["test_auroc"].astype(float).map(fmt),
            "test accuracy": runs["test_accuracy"].astype(float).map(fmt),
        }
    )


def split_balance_display(balance: pd.DataFrame) -> pd.DataFrame:
    """Per cell: genes and positive fraction of each split, with the accuracy caveat."""
    out = {"cell": balance["cell"]}
    for s in ("train", "valid", "test"):
        out[s] = [f"{_pct(f)} of {n:,}" for f, n in zip(balance[f"{s}_positive"], balance[f"n_{s}"], strict=True)]
    out["test − train"] = [
        "" if math.isnan(v) else f"{100 * v:+.0f} points" for v in balance["test_minus_train"].astype(float)
    ]
    out["accuracy"] = [
        "not comparable with train (|test − train| > 10 points)" if c else "" for c in balance["accuracy_caveat"]
    ]
    out["labelled 1"] = [
        f"expression ≥ {m:,.4g}, the median over {over}" if over else ""
        for m, over in zip(balance["label_median"].astype(float), balance["label_median_over"], strict=True)
    ]
    return pd.DataFrame(out)


def accuracy_display(pc: pd.DataFrame) -> pd.DataFrame:
    """Per model and cell: test AUROC beside test accuracy, with the positive fractions behind the caveat."""
    return pd.DataFrame(
        {
            "model": pc["model"],
            "cell": pc["cell"],
            "test AUROC": pc["test_auroc_mean"].astype(float).map(fmt),
            "test accuracy": pc["test_accuracy_mean"].astype(float).map(fmt),
            "positives train / test": [
                f"{_pct(a)} / {_pct(b)}" for a, b in zip(pc["train_positive"], pc["test_positive"], strict=True)
            ],
            "caveat": [
                "test positive fraction differs from train by > 0.1: accuracy reflects the class balance" if c else ""
                for c in pc["accuracy_caveat"].astype(bool)
            ],
            "converged": ["yes" if c else "not converged" for c in pc["converged"].astype(bool)],
        }
    )


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
    notes: Sequence[str] = (),
) -> dict[str, Path]:
    """Write the single-cell section's tables, figures and ``provenance.json`` into ``out_dir``, and the report's
    page, ``index.html``: provenance, this section, then ``sections`` (``chromexpr.reporting.page``).

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
        notes: warnings shown at the top of the section (e.g. configured marks some models do not use).

    Returns:
        file name (e.g. ``"table2.tsv"``) -> written path, for every name of the plan's ``report_files``.
        Every file is written atomically.
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
    balance = split_balance(diagnostics, runs)
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
    put("table2.tsv", write_tsv, t2)
    put(
        "table2.md",
        write_text,
        f"# Table 2: test AUROC across cells\n\n{markdown(table2_display(t2))}\n"
        "A cell's value is the mean over its seeds; min / mean / max / median are over cells. "
        "mean ± sd over seeds: the across-cell mean per seed, then mean and sd over seeds. "
        "not converged: runs whose best validation loss is no better than chance.\n"
        + "".join(f"\nGenes: {d}.\n" for d in gene_set_descriptions(runs)),
    )
    put("per_cell_auroc.tsv", write_tsv, pc)
    put("runs.tsv", write_tsv, per_run)
    put("split_balance.tsv", write_tsv, balance)
    put("training_curves.tsv", write_tsv, training_curves(runs))
    put("roc_curves.tsv", write_tsv, roc_curves(runs))
    put(f"{paired_stem}.tsv", write_tsv, paired)
    put(
        f"{paired_stem}.md",
        write_text,
        f"# Each model against {reference_model}\n\n{markdown(paired_display(paired))}\n"
        "Per-cell mean AUROC over seeds; differences are model − reference; two-sided Wilcoxon signed-rank "
        f"test (scipy.stats.wilcoxon, zero differences dropped), skipped with fewer than {min_cells} non-zero "
        "differences.\n",
    )
    put("published_comparison.tsv", write_tsv, comparison.per_cell)
    put("published_table2.tsv", write_tsv, comparison.table2)
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
    put("published_comparison.md", write_text, md)
    put("provenance.json", write_json, prov)
    for path in redraw(out_dir):
        written[path.name] = path

    n_models, n_cells, n_seeds = runs["model"].nunique(), runs["cell"].nunique(), runs["seed"].nunique()
    context = {
        "title": SECTION_TITLE,
        "prefix": "",  # the page's own folder
        "prov": prov,
        "n_runs": len(runs),
        "counts": f"{plural(n_models, 'model')} × {plural(n_cells, 'cell')} × "
        + (f"up to {plural(n_seeds, 'seed')}" if n_seeds > 1 else plural(n_seeds, "seed")),
        "budget_note": budget_note(runs, source_kind),
        "notes": list(notes),
        "not_converged": int((~diagnostics["converged"]).sum()),
        "reference": reference_model,
        "paired_stem": paired_stem,
        "min_cells": min_cells,
        "comparison_applicable": comparison.applicable,
        "comparison_reason": comparison.reason or "",
        "same_data_caveat": SAME_DATA_CAVEAT,
        "gene_sets": gene_set_descriptions(runs),
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
    own = render_section(__file__, context)
    others = [Path(p).read_text(encoding="utf-8") for p in sections]
    put("index.html", lambda path, html: write_page(path, title, prov, [html, *others]), own)
    return written
