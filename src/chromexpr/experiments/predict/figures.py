"""The predictions section's figure: the distribution of P(expressed) over each sample's genes, one panel per
sample, one step histogram per model applied, drawn from ``histogram.tsv`` (``redraw``: the report job and
``snakemake figures``)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from chromexpr.models.display import display_name
from chromexpr.plotting.base import grid, save_figure
from chromexpr.plotting.style import PAGE_WIDTH_IN, RC, model_color
from chromexpr.reporting.files import require_table

#: bins of [0, 1] the histogram counts genes in
HISTOGRAM_BINS = 50
HISTOGRAM_COLUMNS = ("sample", "model", "bin_left", "bin_right", "genes")
STEM = "probabilities"


def histogram_table(scores: dict[tuple[str, str], np.ndarray], bins: int = HISTOGRAM_BINS) -> pd.DataFrame:
    """Genes per equal-width bin of [0, 1] of every (sample, model)'s probabilities: ``HISTOGRAM_COLUMNS``."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows = []
    for (sample, model), p in scores.items():
        counts, _ = np.histogram(np.asarray(p, dtype=np.float64), bins=edges)
        rows += [
            {"sample": sample, "model": model, "bin_left": lo, "bin_right": hi, "genes": int(n)}
            for lo, hi, n in zip(edges[:-1], edges[1:], counts, strict=True)
        ]
    return pd.DataFrame(rows, columns=list(HISTOGRAM_COLUMNS))


def probability_figure(histogram: pd.DataFrame) -> Figure:
    """One panel per sample: genes per probability bin, a step line per model, the 0.5 line dashed."""
    samples = list(dict.fromkeys(histogram["sample"]))
    rows, cols = grid(max(len(samples), 1), max_columns=2)
    fig = Figure(figsize=(PAGE_WIDTH_IN if cols > 1 else PAGE_WIDTH_IN / 1.6, 3.0 * rows))
    with matplotlib.rc_context(RC):
        axes = fig.subplots(rows, cols, squeeze=False)
        for ax, sample in zip(axes.ravel(), samples, strict=False):
            part = histogram[histogram["sample"] == sample]
            for model, table in part.groupby("model", sort=False):
                edges = np.append(table["bin_left"].to_numpy(), table["bin_right"].to_numpy()[-1])
                ax.stairs(table["genes"].to_numpy(), edges, label=display_name(model), color=model_color(model), lw=1.6)
            ax.axvline(0.5, color="#555555", ls="--", lw=0.8)
            ax.set_xlim(0, 1)
            ax.set_xlabel("P(expressed)")
            ax.set_ylabel("genes")
            ax.set_title(f"sample {sample}", fontsize=10)
            ax.legend(fontsize=8, frameon=False, loc="upper left")
        for ax in axes.ravel()[len(samples) :]:
            ax.set_visible(False)
        fig.suptitle("Predicted P(expressed) of each sample's genes (dashed: 0.5)", fontsize=11)
        fig.tight_layout()
    return fig


def redraw(
    section_dir: str | Path, results_dir: str | Path | None = None, *, out_dir: str | Path | None = None
) -> list[Path]:
    """Redraw the figure from ``histogram.tsv`` alone (PNG + PDF) into ``out_dir`` (default ``section_dir``)."""
    section_dir = Path(section_dir)
    path = require_table(section_dir / "histogram.tsv", "the predictions' histogram", "run the report job first")
    histogram = pd.read_csv(path, sep="\t", dtype={"sample": str, "model": str})
    return save_figure(probability_figure(histogram), Path(out_dir or section_dir) / STEM)


__all__ = ["HISTOGRAM_BINS", "STEM", "histogram_table", "probability_figure", "redraw"]
