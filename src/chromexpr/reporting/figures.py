"""Every figure of the report, redrawn from its TSVs alone (no runs, no models): ``draw_figures``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from chromexpr.errors import InputError
from chromexpr.evaluation.runs import CURVE_COLUMNS, ROC_COLUMNS
from chromexpr.plotting import (
    auroc_distribution_figure,
    paired_scatter_figure,
    per_cell_auroc_figure,
    roc_curves_figure,
    save_figure,
    training_curves_figure,
)

#: figure stems draw_figures always writes (besides one paired_vs_{reference} per paired table)
FIGURE_STEMS = ("per_cell_auroc", "auroc_distribution", "training_curves", "roc_curves")


def read_tsv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype={"model": str, "cell": str, "reference": str, "note": str})


def _optional(path: Path) -> pd.DataFrame | None:
    if not path.is_file() or path.stat().st_size == 0:
        return None
    table = read_tsv(path)
    return table if not table.empty else None


def draw_figures(tables_dir: str | Path, out_dir: str | Path | None = None, *, title: str | None = None) -> list[Path]:
    """Redraw every figure of a report from its TSVs alone (no runs, no models): PNG + PDF each.

    Reads ``per_cell_auroc.tsv`` (required; its boolean ``converged`` column marks runs that never beat
    chance), ``published_table2.tsv`` (markers, when present and not empty), every
    ``paired_vs_{reference}.tsv``, and ``training_curves.tsv`` / ``roc_curves.tsv`` where they exist
    (an empty table gives a figure that says so). Writes into ``out_dir`` (default ``tables_dir``).
    """
    tables_dir = Path(tables_dir)
    out_dir = Path(out_dir) if out_dir is not None else tables_dir
    per_cell_path = tables_dir / "per_cell_auroc.tsv"
    if not per_cell_path.is_file():
        raise InputError(
            "per-cell AUROC table not found",
            path=per_cell_path,
            hint="build the report first (build_report / the 'report' target)",
        )
    per_cell = read_tsv(per_cell_path)
    if "converged" in per_cell.columns:
        per_cell["converged"] = per_cell["converged"].astype(str).str.lower().isin(["true", "1"])
    published = _optional(tables_dir / "published_table2.tsv")
    written = save_figure(per_cell_auroc_figure(per_cell, title=title), out_dir / "per_cell_auroc")
    written += save_figure(auroc_distribution_figure(per_cell, published), out_dir / "auroc_distribution")
    for paired_path in sorted(tables_dir.glob("paired_vs_*.tsv")):
        reference = paired_path.stem.removeprefix("paired_vs_")
        paired = read_tsv(paired_path)
        written += save_figure(paired_scatter_figure(per_cell, reference, paired), out_dir / paired_path.stem)
    for stem, draw, fig_title, columns in (
        ("training_curves", training_curves_figure, "Training curves", CURVE_COLUMNS),
        ("roc_curves", roc_curves_figure, "ROC curves, test genes", ROC_COLUMNS),
    ):
        path = tables_dir / f"{stem}.tsv"
        if not path.is_file():
            continue  # a report without run histories or predictions: nothing to draw
        table = _optional(path)
        table = table if table is not None else pd.DataFrame(columns=list(columns))
        written += save_figure(draw(table, title=fig_title), out_dir / stem)
    return written
