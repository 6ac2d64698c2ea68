"""The regression section of the report (Team Jamaica): the MSE table, per-cell MSEs and Figs. 1-4.

``build_regression_section`` writes into ``results/report/regression/`` (the plan's ``report_files`` lists the
names) and renders ``section.html`` from ``section.html.j2`` beside this module, an HTML fragment that the report
page in the parent folder includes, so its links are ``regression/<file>``:

==========================  ======================================================================================
file                        content
==========================  ======================================================================================
``mse.tsv`` / ``mse.md``    one row per model and part (ensemble, weighted, each sub-model, the baselines), mean
                            over seeds, the published MSE beside (``evaluate.mse_table``, from the cards)
``per_cell_mse.tsv``        the test MSE of every model in every cell, ``seen`` or not
``loss_curves.tsv``         Fig. 3's table: train / eval / trainval MSE per fold sub-model and epoch
``gradients.tsv``           Fig. 4's table: mean signed input gradient of the ensemble per cell, mark and bin
``expression_histograms.tsv``  Fig. 2's table; ``fig1_inputs.npz`` Fig. 1's input distributions
``fig1_inputs`` ...         the four figures (PNG and PDF), redrawn from the files above (``figures.redraw``)
``section.html``            an HTML fragment ``<section id="regression">`` for ``index.html``
==========================  ======================================================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from chromexpr.dataset import load_dataset
from chromexpr.errors import InputError
from chromexpr.evaluation.runs import gene_set_columns
from chromexpr.experiments.regression.evaluate import (
    COMBINED,
    collect_regression_metrics,
    loss_curves,
    mse_table,
    per_cell_table,
    published_mse,
    published_source,
)
from chromexpr.experiments.regression.figures import (
    distribution_edges,
    draw_regression_figures,
    expression_histogram,
    input_distributions,
    input_value_label,
    write_fig1,
)
from chromexpr.experiments.regression.plan import SECTION
from chromexpr.experiments.regression.plan import report_files as regression_report_files
from chromexpr.reporting.environment import render_section
from chromexpr.reporting.files import write_text, write_tsv
from chromexpr.reporting.formatting import fmt, html_table, markdown, plural
from chromexpr.training.data import model_inputs
from chromexpr.training.regression import TARGETS, regression_target

__all__ = ["SECTION_TITLE", "build_regression_section", "regression_report_files"]

SECTION_DIR = SECTION
SECTION_TITLE = "Regression across cell types (Team Jamaica ensemble, MSE table and Figs. 1-4)"
PAPER_CELLS = 56
PAPER_EPOCHS = 1000
GRADIENT_COLUMNS = ["cell", "mark", "bin", "gradient"]
#: the paper's MSEs the section's text names (the cards' numbers, ``evaluate.published_mse``)
PUBLISHED_ROWS = (*COMBINED, "linear_regression")


def mse_display(table: pd.DataFrame) -> pd.DataFrame:
    """``mse.tsv`` for the page: names, MSE ± sd, correlations, seen / unseen MSE, the paper's MSE."""
    rows = []
    for r in table.itertuples(index=False):
        mse = fmt(r.test_mse, 3)
        if r.test_mse_sd is not None and not pd.isna(r.test_mse_sd):
            mse += f" ± {fmt(r.test_mse_sd, 3)}"
        rows.append(
            {
                "model": r.model if r.part == "all" else f"{r.model} {r.part}",
                "role": r.role,
                "seeds": r.n_seeds,
                "test MSE": mse,
                "Pearson r": fmt(r.test_pearson, 3),
                "Spearman": fmt(r.test_spearman, 3),
                "R²": fmt(r.test_r2, 3),
                "MSE, trained cells": fmt(r.test_seen_mse, 3),
                "MSE, held-out cells": fmt(r.test_unseen_mse, 3),
                "epochs": "" if r.epochs_run is None or pd.isna(r.epochs_run) else f"{float(r.epochs_run):g}",
                "paper MSE": fmt(r.published_mse, 2),
            }
        )
    return pd.DataFrame(rows)


def mse_markdown(table: pd.DataFrame, target_label: str) -> str:
    """``mse.md``: the MSE table (``mse_display``), then a line naming the target (``Target {label}; ...``, where
    ``figures.redraw`` reads Fig. 2's x label) and the paper's source."""
    return (
        "# Regression: test MSE (Team Jamaica)\n\n"
        + (markdown(mse_display(table)) if not table.empty else "No runs.\n")
        + f"\nTarget {target_label}; mean over seeds of the MSE on the test-split genes of every cell. paper: "
        f"{published_source()}.\n"
    )


def per_cell_display(per_cell: pd.DataFrame) -> pd.DataFrame:
    """Models as rows, cells as columns (``*``: a cell the model never trained on)."""
    if per_cell.empty:
        return per_cell
    label = per_cell["model"].where(per_cell["part"] == "all", per_cell["model"] + " " + per_cell["part"])
    shown = per_cell.assign(
        label=label,
        cell=per_cell["cell"] + np.where(per_cell["seen"], "", " *"),
        value=per_cell["test_mse"].map(lambda v: fmt(v, 3)),
    )
    wide = shown.pivot_table(index="label", columns="cell", values="value", aggfunc="first", sort=False)
    return wide.reset_index().rename(columns={"label": "model"}).fillna("")


def _read_gradients(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Fig. 4's table: the mean over seeds of each seed's ``gradients.tsv``."""
    parts = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise InputError("gradients file not found", path=path, hint="run the regression_gradients rule")
        table = pd.read_csv(path, sep="\t", dtype={"cell": str, "mark": str})
        missing = [c for c in GRADIENT_COLUMNS if c not in table.columns]
        if missing:
            raise InputError(f"missing column(s) {', '.join(missing)}", path=path, line=1)
        parts.append(table[GRADIENT_COLUMNS])
    if not parts:
        return pd.DataFrame(columns=GRADIENT_COLUMNS)
    joined = pd.concat(parts, ignore_index=True)
    mean = joined.groupby(["cell", "mark", "bin"], sort=False, as_index=False)["gradient"].mean()
    return mean[GRADIENT_COLUMNS]


def _gradient_summary(gradients: pd.DataFrame) -> list[str]:
    """Per cell, each mark's summed gradient sign: which marks push the prediction up."""
    lines = []
    for cell, part in gradients.groupby("cell", sort=False):
        sums = part.groupby("mark", sort=False)["gradient"].sum()
        up = [m for m, v in sums.items() if v > 0]
        down = [m for m, v in sums.items() if v < 0]
        lines.append(f"{cell}: raise {', '.join(up) or 'none'}; lower {', '.join(down) or 'none'}")
    return lines


def build_regression_section(
    *,
    metrics: Sequence[str | Path],
    histories: Mapping[tuple[str, int], str | Path],
    gradients: Sequence[str | Path],
    datasets: Mapping[str, str | Path],
    card: Mapping[str, Any],
    out_dir: str | Path,
    plan: Mapping[str, Any],
    target: str = "log2p1",
    ensemble_model: str = "jamaica_cnn",
    baselines: Sequence[str] = (),
    source_kind: str | None = None,
    link_prefix: str = f"{SECTION_DIR}/",
) -> dict[str, Path]:
    """Write the regression tables, Figs. 1-4 and ``section.html`` into ``out_dir``.

    Args:
        metrics: every run's ``metrics.json`` (trained and combined; the classifier's is skipped).
        histories: (fold part, seed) -> the fold sub-model's ``history.tsv`` (Fig. 3).
        gradients: each seed's ``gradients.tsv`` of the ensemble (Fig. 4).
        datasets: figure cell -> its dataset ``.npz`` (Figs. 1-2).
        card: the ensemble model's card (the input Fig. 1 shows).
        out_dir: the section folder.
        plan: ``chromexpr.experiments.regression.plan.plan``'s result (cells, folds, figure cells).
        target: the regression target (``TARGETS`` key).
        ensemble_model, baselines: names for the text.
        source_kind: ``demo`` adds the simulated-data warning.
        link_prefix: where the files are, seen from ``index.html``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = collect_regression_metrics(metrics)
    table = mse_table(records)
    per_cell = per_cell_table(records)
    curves = loss_curves(histories)
    grads = _read_gradients(gradients)
    target_label = TARGETS[target][0]

    figure_cells = list(datasets)
    xs, values = [], {}
    marks: list[str] = list(card["input"]["marks"])
    for cell, path in datasets.items():
        data = model_inputs(load_dataset(path), card, source=path)
        xs.append(data.x)
        values[cell] = regression_target(data.expression, target, source=path)
    written: dict[str, Path] = {}

    def put(name: str, write, content) -> None:
        written[name] = write(out_dir / name, content)

    if xs:
        edges = distribution_edges(xs)
        density = np.stack([input_distributions(x, edges=edges) for x in xs])  # (cells, marks, value bins, bins)
        label = input_value_label(card["input"]["values"], card["input"]["transform"])
        written["fig1_inputs.npz"] = write_fig1(out_dir / "fig1_inputs.npz", density, edges, figure_cells, marks, label)
    hist = expression_histogram(values) if values else pd.DataFrame(columns=["cell", "lo", "hi", "count"])
    put("mse.tsv", write_tsv, table)
    put("per_cell_mse.tsv", write_tsv, per_cell)
    put("loss_curves.tsv", write_tsv, curves)
    put("gradients.tsv", write_tsv, grads)
    put("expression_histograms.tsv", write_tsv, hist)
    put("mse.md", write_text, mse_markdown(table, target_label))
    for path in draw_regression_figures(out_dir, target_label=target_label):  # from the files just written
        written[path.name] = path

    # ---- the wording
    heldout = list(plan.get("heldout") or [])
    heldout_text = (
        f"{plural(len(heldout), 'held-out cell')} ({', '.join(heldout)}) no model trains on"
        if heldout
        else "no held-out cell"
    )
    epochs = sorted({int(r["epochs_run"]) for r in records if r.get("framework") == "torch" and r.get("epochs_run")})
    selections = sorted(
        {str((r.get("training") or {}).get("selection")) for r in records if r.get("framework") == "torch"}
    )
    seeds = sorted({int(r["seed"]) for r in records})
    training_text = (
        f"{plural(len(seeds), 'seed')} ({', '.join(map(str, seeds))}); torch sub-models "
        f"{', '.join(map(str, epochs)) or '?'} epoch(s), selection {', '.join(selections) or '?'} (fixed: the last "
        f"epoch, as the paper's {PAPER_EPOCHS} epochs without early stopping)."
    )
    budget_note = ""
    if epochs and max(epochs) < 50:
        budget_note = (
            f"The sub-models trained {max(epochs)} epoch(s) (the paper: {PAPER_EPOCHS}); far from converged, so these "
            "MSEs say how the pipeline runs, not how well the models can do."
        )
    demo_note = ""
    if source_kind == "demo":
        demo_note = (
            "The histone-mark reads are simulated on real genes and RPKM, so the MSEs and gradients say nothing "
            f"about real cells; the paper pools {PAPER_CELLS} REMC cell types."
        )
    folds: dict[int, list[str]] = {}
    for cell, k in (plan.get("folds") or {}).items():
        folds.setdefault(int(k), []).append(cell)
    spec = card["input"]
    context = {
        "gene_sets": list(dict.fromkeys(d for r in records if (d := gene_set_columns(r)["gene_set_description"]))),
        "title": SECTION_TITLE,
        "prefix": link_prefix,
        "target_label": target_label,
        "n_folds": len(folds),
        "ensemble_model": ensemble_model,
        "baselines": list(baselines) or ["none"],
        "heldout_text": heldout_text,
        "n_cells": len(plan.get("cells") or []),
        "cells": list(plan.get("cells") or []),
        "n_training": len(plan.get("training") or []),
        "paper_cells": PAPER_CELLS,
        "folds": dict(sorted(folds.items())),
        "training_text": training_text,
        "demo_note": demo_note,
        "budget_note": budget_note,
        "published": {k: fmt(published_mse(k), 2) for k in PUBLISHED_ROWS},
        "published_source": published_source(),
        "figure_cells": figure_cells or ["no cell"],
        "input_text": f"{spec['values']}, transform {spec['transform']}",
        "seed_text": f" (seed {int(curves['seed'].min())})" if not curves.empty else "",
        "gradient_summary": _gradient_summary(grads) if not grads.empty else [],
        "tables": {
            "mse": html_table(mse_display(table)) if not table.empty else "",
            "per_cell": html_table(per_cell_display(per_cell)) if not per_cell.empty else "",
        },
    }
    put("section.html", write_text, render_section(__file__, context))
    return written
