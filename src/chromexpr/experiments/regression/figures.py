"""The figures of the Team Jamaica regression experiment (Figs. 1-4 of the paper), drawn from plain data.

Every figure is drawn from arrays or tables only (no runs, no models), so the section's files redraw them
(``redraw``, which ``snakemake figures`` calls; ``draw_regression_figures``):

- Fig. 1, ``fig1_inputs.npz``: ``density`` (cells, marks, value bins, position bins), the fraction of genes whose
  input value falls in each value bin (``input_distributions``), ``edges`` (marks, value bins + 1), the value-bin
  edges of each mark, shared by the cells (``distribution_edges``), ``cells`` and ``marks`` (unicode arrays).
- Fig. 2, ``expression_histograms.tsv``: ``cell``, ``lo``, ``hi``, ``count``: one row per histogram bin per cell,
  the same bin edges for every cell (``expression_histogram``).
- Fig. 3, ``loss_curves.tsv``: ``submodel``, ``epoch``, ``train_loss``, ``valid_mse``, ``trainval_mse`` (NaN
  throughout for a sub-model that did not track it).
- Fig. 4, ``gradients.tsv``: ``cell``, ``mark``, ``bin``, ``gradient`` (mean signed input gradient).

Fig. 2's x label is the regression target, which ``mse.md``'s closing line names (``Target {label}; ...``).

Each ``plot_*`` function writes ``{stem}.png`` and ``{stem}.pdf`` into ``out_dir`` (``save_figure``) and returns
the Figure, so tests inspect what is drawn.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import LogFormatter, MaxNLocator

from chromexpr.io.atomic import atomic_path
from chromexpr.plotting.base import fitted_suptitle, message_figure, save_figure
from chromexpr.plotting.style import FORMATS, PAGE_WIDTH_IN, PALETTE, RC
from chromexpr.training.regression_plan import TARGETS

log = logging.getLogger("chromexpr.plotting")

BIN_LABEL = "bin (TSS at centre)"
GRADIENT_LABEL = "mean d prediction / d input"
FRACTION_LABEL = "fraction of genes (log scale; white: none)"
#: light (few genes) to dark (most genes), so the white of "no gene" reads as empty
DENSITY_CMAP = "magma_r"
#: the smallest fraction Fig. 1's log colour scale shows (smaller non-zero fractions are drawn at it)
MIN_FRACTION = 1e-3
#: Fig. 1's value axis for each kind of model input (a card's ``input.values``; ``chromexpr.dataset``: ``signal`` is
#: the per-mark z-score of the counts, ``counts`` the reads per bin)
VALUE_LABELS = {
    "signal": "z-scored signal (SD from the mark's mean)",
    "counts": "reads per bin",
}
GRADIENT_CMAP = "RdBu_r"
HIST_COLOR = PALETTE[0]
#: line style of each loss column of Fig. 3, and its legend label
LOSS_STYLES = (
    ("train_loss", "-", "o", "train"),
    ("valid_mse", "--", "s", "eval (valid)"),
    ("trainval_mse", ":", "^", "trainval"),
)
#: Fig. 3 draws markers when a sub-model has at most this many epochs (a 1-point line is invisible)
MARKER_EPOCHS = 12

FIG1_FILE = "fig1_inputs.npz"
HIST_FILE = "expression_histograms.tsv"
CURVES_FILE = "loss_curves.tsv"
GRADIENTS_FILE = "gradients.tsv"
MSE_MD_FILE = "mse.md"
#: the line of ``mse.md`` that names the regression target (``report.build_regression_section`` writes it)
TARGET_LINE = re.compile(r"^Target (?P<label>.+?); ", re.MULTILINE)
#: Fig. 2's x label on a redraw when ``mse.md`` names no target: the default target's (``log2p1``)
DEFAULT_TARGET_LABEL = TARGETS["log2p1"][0]
HIST_COLUMNS = ("cell", "lo", "hi", "count")
CURVE_COLUMNS = ("submodel", "epoch", "train_loss", "valid_mse", "trainval_mse")
GRADIENT_COLUMNS = ("cell", "mark", "bin", "gradient")


# --- Fig. 1: input distributions -------------------------------------------------------------------------------


def distribution_edges(
    xs: Sequence[np.ndarray], n: int = 40, quantiles: tuple[float, float] = (0.005, 0.995)
) -> np.ndarray:
    """Value-bin edges per mark, shared by all arrays: (marks, n + 1).

    ``xs`` are (genes, marks, bins) arrays (one per cell, the same marks). Each mark's edges are ``n + 1`` linearly
    spaced values between the ``quantiles`` of its finite values pooled over all arrays, so every cell is drawn on
    the same scale per mark; a mark whose range is empty (constant, or no finite value) is widened by 0.5 each side.
    """
    if not xs:
        raise ValueError("distribution_edges needs at least one array")
    n_marks = {int(np.asarray(x).shape[1]) for x in xs}
    if len(n_marks) != 1:
        raise ValueError(f"arrays with different numbers of marks: {sorted(n_marks)}")
    edges = np.empty((n_marks.pop(), n + 1), dtype=np.float64)
    for m in range(edges.shape[0]):
        pooled = np.concatenate([np.asarray(x, dtype=np.float64)[:, m, :].ravel() for x in xs])
        pooled = pooled[np.isfinite(pooled)]
        lo, hi = (float(q) for q in np.quantile(pooled, quantiles)) if pooled.size else (0.0, 0.0)
        if not hi > lo:
            lo, hi = lo - 0.5, hi + 0.5
        edges[m] = np.linspace(lo, hi, n + 1)
    return edges


def input_distributions(x: np.ndarray, *, edges: np.ndarray) -> np.ndarray:
    """The distribution of input values per mark and position bin: (marks, value bins, position bins).

    ``x`` is (genes, marks, bins); ``edges`` (marks, value bins + 1). Entry ``[m, v, b]`` is the fraction of genes
    whose value of mark ``m`` at bin ``b`` falls in value bin ``v`` (``[edges[v], edges[v + 1])``, the last bin
    closed, as ``np.histogram``). Values below the first edge count in the first value bin, values above the last in
    the last one, so each column sums to 1; NaN values are left out (a column without a finite value is NaN).
    """
    x = np.asarray(x, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    if x.ndim != 3 or edges.ndim != 2 or edges.shape[0] != x.shape[1] or edges.shape[1] < 2:
        raise ValueError(
            f"x (genes, marks, bins) and edges (marks, n_edges >= 2) do not match: {x.shape}, {edges.shape}"
        )
    _, n_marks, n_bins = x.shape
    n_values = edges.shape[1] - 1
    density = np.full((n_marks, n_values, n_bins), np.nan)
    position = np.broadcast_to(np.arange(n_bins), x.shape[::2])  # (genes, bins)
    for m in range(n_marks):
        values = x[:, m, :]
        finite = np.isfinite(values)
        # the bin of each value among the inner edges: 0 below edges[1], n_values - 1 from edges[-2] on
        index = np.searchsorted(edges[m, 1:-1], values[finite], side="right")
        counts = np.bincount(position[finite] * n_values + index, minlength=n_bins * n_values)
        counts = counts.reshape(n_bins, n_values).T.astype(np.float64)
        total = counts.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            density[m] = np.where(total > 0, counts / total, np.nan)
    return density


def input_value_label(values: str | None = None, transform: str | None = None, edges: np.ndarray | None = None) -> str:
    """What Fig. 1's value axis shows: the model input named by a card's ``input.values`` and ``input.transform``
    (``VALUE_LABELS``; ``log1p`` wraps the counts); without them, read off the value-bin ``edges``: a z-score has
    values below 0, counts have none."""
    if values is None and edges is not None:
        finite = np.asarray(edges, dtype=float)
        finite = finite[np.isfinite(finite)]
        values = "signal" if finite.size and finite.min() < 0 else "counts"
    label = VALUE_LABELS.get(str(values), str(values or "input value"))
    if transform == "log1p":
        label = f"log1p({label})"
    return label


def plot_input_distributions(
    density: np.ndarray,
    edges: np.ndarray,
    cells: Sequence[str],
    marks: Sequence[str],
    out_dir: str | Path,
    stem: str = "fig1_inputs",
    value_label: str | None = None,
) -> Figure:
    """Fig. 1: heatmaps of the input distributions, one row per cell, one column per mark.

    ``density`` is (cells, marks, value bins, position bins) (``input_distributions`` per cell), ``edges`` (marks,
    value bins + 1). Each panel is an image of value (y, the mark's edges: the same scale for every cell) against
    position bin (x); colour = fraction of genes on one shared log scale from ``MIN_FRACTION`` (one colourbar; white
    where no gene is), so that the few genes away from the mostly-empty bottom bin show. The value axis is
    ``value_label`` (default: ``input_value_label`` read off the edges). The image of panel (cell ``c``, mark ``m``)
    is ``density[c, m]``, its gid ``cell|mark``.
    """
    density = np.asarray(density, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    cells, marks = [str(c) for c in cells], [str(m) for m in marks]
    title = f"Fig. 1: input distributions per mark ({len(cells)} cell type{'s' if len(cells) != 1 else ''})"
    if density.size == 0 or not cells or not marks:
        fig = message_figure("no input distributions to show", title)
    else:
        if density.shape[:2] != (len(cells), len(marks)) or edges.shape != (len(marks), density.shape[2] + 1):
            raise ValueError(
                f"density {density.shape}, edges {edges.shape} do not match {len(cells)} cells x {len(marks)} marks"
            )
        label = value_label or input_value_label(edges=edges)
        fig = _input_distributions_figure(density, edges, cells, marks, title, label)
    _save(fig, out_dir, stem)
    return fig


def _input_distributions_figure(
    density: np.ndarray, edges: np.ndarray, cells: list[str], marks: list[str], title: str, value_label: str
) -> Figure:
    n_cells, n_marks, _, n_bins = density.shape
    finite = density[np.isfinite(density)]
    vmax = float(finite.max()) if finite.size and finite.max() > MIN_FRACTION else 1.0
    norm = LogNorm(vmin=MIN_FRACTION, vmax=vmax, clip=False)
    # no gene (0, which a log scale masks): white; a non-zero fraction below MIN_FRACTION: the scale's lightest colour
    base = colormaps[DENSITY_CMAP]
    cmap = base.with_extremes(bad="white", under=base(0.0))
    panel_w = min(1.75, (PAGE_WIDTH_IN - 1.2) / n_marks)
    width = panel_w * n_marks + 1.2
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(width, 1.45 * n_cells + 1.0), layout="constrained")
        axes = fig.subplots(n_cells, n_marks, squeeze=False, sharex=True, sharey="col")
        image = None
        for c, cell in enumerate(cells):
            for m, mark in enumerate(marks):
                ax = axes[c, m]
                image = ax.imshow(
                    density[c, m],
                    origin="lower",
                    aspect="auto",
                    interpolation="nearest",
                    extent=(-0.5, n_bins - 0.5, edges[m, 0], edges[m, -1]),
                    cmap=cmap,
                    norm=norm,
                )
                image.set_gid(f"{cell}|{mark}")
                ax.axvline((n_bins - 1) / 2, color="#888888", linestyle=":", linewidth=0.6, alpha=0.8)
                ax.xaxis.set_major_locator(MaxNLocator(3, integer=True))
                ax.yaxis.set_major_locator(MaxNLocator(4))
                ax.tick_params(labelsize=7)
                if c == 0:
                    ax.set_title(mark)
                if m == 0:
                    ax.set_ylabel(cell, fontsize=8.5)
                if c == n_cells - 1:
                    ax.set_xlabel(BIN_LABEL, fontsize=7.5)
        fig.colorbar(
            image, ax=axes, label=FRACTION_LABEL, shrink=min(1.0, 0.5 + 0.2 * n_cells), aspect=30, extend="min"
        )
        fig.supylabel(f"model input: {value_label}", fontsize=9)
        fitted_suptitle(
            fig,
            f"{title}\ny: {value_label}; values beyond a panel's range count in its top / bottom bin",
            fontsize=10,
        )
    return fig


class Fig1Data(NamedTuple):
    """The arrays of Fig. 1 (see ``plot_input_distributions``); ``value_label`` what the values are, when the file
    records it (``write_fig1``'s ``value_label``), else None."""

    density: np.ndarray
    edges: np.ndarray
    cells: list[str]
    marks: list[str]
    value_label: str | None = None


def write_fig1(
    path: str | Path,
    density: np.ndarray,
    edges: np.ndarray,
    cells: Sequence[str],
    marks: Sequence[str],
    value_label: str | None = None,
) -> Path:
    """Write the arrays of Fig. 1 to ``path`` (compressed npz, atomically; strings as unicode arrays), with
    ``value_label`` (what the values are, ``input_value_label``) when given."""
    path = Path(path)
    extra = {"value_label": np.asarray(str(value_label))} if value_label else {}
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(
            fh,
            density=np.asarray(density, dtype=np.float64),
            edges=np.asarray(edges, dtype=np.float64),
            cells=np.asarray([str(c) for c in cells]).astype(str),
            marks=np.asarray([str(m) for m in marks]).astype(str),
            **extra,
        )
    return path


def read_fig1(path: str | Path) -> Fig1Data:
    """The arrays ``write_fig1`` wrote: ``(density, edges, cells, marks, value_label)``."""
    with np.load(Path(path), allow_pickle=False) as data:
        return Fig1Data(
            density=np.asarray(data["density"], dtype=np.float64),
            edges=np.asarray(data["edges"], dtype=np.float64),
            cells=[str(c) for c in data["cells"]],
            marks=[str(m) for m in data["marks"]],
            value_label=str(data["value_label"]) if "value_label" in data.files else None,
        )


# --- Fig. 2: expression histograms ---------------------------------------------------------------------------


def expression_histogram(values_by_cell: Mapping[str, np.ndarray], n_bins: int = 40) -> pd.DataFrame:
    """The table of Fig. 2: ``cell``, ``lo``, ``hi``, ``count``, ``n_bins`` rows per cell on common edges.

    The edges span the finite values of all cells together (``np.histogram_bin_edges``); NaN values are left out.
    """
    finite = {str(c): np.asarray(v, dtype=np.float64).ravel() for c, v in values_by_cell.items()}
    finite = {c: v[np.isfinite(v)] for c, v in finite.items()}
    pooled = np.concatenate(list(finite.values())) if finite else np.empty(0)
    if pooled.size == 0:
        return pd.DataFrame({col: pd.Series(dtype=str if col == "cell" else float) for col in HIST_COLUMNS})
    edges = np.histogram_bin_edges(pooled, bins=n_bins)
    parts = []
    for cell, values in finite.items():
        counts, _ = np.histogram(values, bins=edges)
        parts.append(pd.DataFrame({"cell": cell, "lo": edges[:-1], "hi": edges[1:], "count": counts.astype(np.int64)}))
    return pd.concat(parts, ignore_index=True)


def plot_expression_histograms(
    hist: pd.DataFrame, out_dir: str | Path, stem: str = "fig2_expression", target_label: str = "log2(RPKM + 1)"
) -> Figure:
    """Fig. 2: histograms of the expression values, one panel per cell (side by side, shared axes).

    Bars span ``lo`` to ``hi`` with height ``count`` (gid ``cell|k``, the k-th bin of the cell); each panel's title
    gives the cell and its number of genes. Cells in the order of their first row.
    """
    title = "Fig. 2: histograms of gene expression values"
    if hist is None or hist.empty:
        fig = message_figure("no expression values to show", title)
    else:
        fig = _histograms_figure(hist, target_label, title)
    _save(fig, out_dir, stem)
    return fig


def _histograms_figure(hist: pd.DataFrame, target_label: str, title: str) -> Figure:
    table = hist.assign(cell=hist["cell"].astype(str))
    cells = list(dict.fromkeys(table["cell"]))
    ncols = min(len(cells), 4)
    nrows = math.ceil(len(cells) / ncols)
    panel_w = min(2.6, (PAGE_WIDTH_IN - 0.5) / ncols)
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(panel_w * ncols + 0.5, 2.1 * nrows + 0.7), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True).ravel()
        for ax, cell in zip(axes, cells, strict=False):
            rows = table[table["cell"] == cell].sort_values("lo")
            lo, hi = rows["lo"].to_numpy(dtype=float), rows["hi"].to_numpy(dtype=float)
            counts = rows["count"].to_numpy(dtype=float)
            bars = ax.bar(lo, counts, width=hi - lo, align="edge", color=HIST_COLOR, edgecolor="white", linewidth=0.3)
            for k, patch in enumerate(bars.patches):
                patch.set_gid(f"{cell}|{k}")
            n = int(np.nansum(counts))
            ax.set_title(f"{cell} (n = {n:,} genes)")
            ax.xaxis.set_major_locator(MaxNLocator(5))
            ax.yaxis.set_major_locator(MaxNLocator(4, integer=True))
            ax.tick_params(labelsize=7)
            ax.yaxis.grid(True, color="#eeeeee", linewidth=0.5)
            ax.set_axisbelow(True)
        for k, ax in enumerate(axes):
            if k >= len(cells):
                ax.axis("off")
                continue
            if k + ncols >= len(cells):
                ax.set_xlabel(target_label)
                ax.tick_params(labelbottom=True)
            if k % ncols == 0:
                ax.set_ylabel("genes")
        fig.suptitle(f"{title} ({len(cells)} cell type{'s' if len(cells) != 1 else ''})")
    return fig


# --- Fig. 3: loss curves ---------------------------------------------------------------------------------------


def plot_loss_curves(curves: pd.DataFrame, out_dir: str | Path, stem: str = "fig3_loss") -> Figure:
    """Fig. 3: loss curves of the ensemble's sub-models, MSE against epoch.

    One colour per sub-model (the project palette, in the order of their first row); solid = train loss, dashed =
    eval (``valid_mse``), dotted = trainval (``trainval_mse``, omitted for a sub-model without it). Each line's gid is
    ``submodel|column``. Log-scale y when every value is positive. Two legends: colour = sub-model, line style =
    which loss. Markers are drawn when a sub-model has few epochs (a 1-point line is visible).
    """
    title = "Fig. 3: loss curves of the ensemble's sub-models"
    if curves is None or curves.empty:
        fig = message_figure("no loss curves to show", title)
    else:
        fig = _loss_figure(curves, title)
    _save(fig, out_dir, stem)
    return fig


def submodel_colors(submodels: Sequence[str]) -> dict[str, str]:
    """One palette colour per sub-model, in order (the palette's first colours are the most distinct)."""
    return {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(submodels)}


def _loss_figure(curves: pd.DataFrame, title: str) -> Figure:
    table = curves.copy()
    for col in CURVE_COLUMNS:
        if col not in table.columns:
            table[col] = np.nan
    table["submodel"] = table["submodel"].astype(str)
    submodels = list(dict.fromkeys(table["submodel"]))
    epochs_per = table.groupby("submodel", sort=False)["epoch"].nunique()
    if int(epochs_per.max()) <= 1:
        return _single_epoch_figure(table, submodels, title)
    colors = submodel_colors(submodels)
    markers = bool(epochs_per.min() <= MARKER_EPOCHS)
    values = table[[c for c, *_ in LOSS_STYLES]].to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    log_y = bool(finite.size and (finite > 0).all())
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(6.4, 3.6), layout="constrained")
        ax = fig.add_subplot()
        styles_used = []
        for sub in submodels:
            run = table[table["submodel"] == sub].sort_values("epoch")
            epoch = run["epoch"].to_numpy(dtype=float)
            for col, ls, marker, label in LOSS_STYLES:
                y = run[col].to_numpy(dtype=float)
                if not np.isfinite(y).any():
                    continue
                (line,) = ax.plot(
                    epoch,
                    y,
                    color=colors[sub],
                    linestyle=ls,
                    linewidth=1.2,
                    marker=marker if markers else None,
                    markersize=3.5,
                    gid=f"{sub}|{col}",
                )
                if (col, ls, marker, label) not in styles_used:
                    styles_used.append((col, ls, marker, label))
        if log_y:
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(LogFormatter())
            ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))
        ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel("MSE" + (" (log scale)" if log_y else ""))
        ax.grid(True, which="major", color="#eeeeee", linewidth=0.5)
        if not ax.lines:
            ax.text(0.5, 0.5, "no loss recorded", ha="center", va="center", transform=ax.transAxes)
        _loss_legends(fig, submodels, colors, styles_used, markers, lines=True)
        fig.suptitle(title)
    return fig


def _loss_legends(fig: Figure, submodels, colors, styles_used, markers: bool, *, lines: bool) -> None:
    """Fig. 3's two legends: colour = sub-model, line style and marker = which loss."""
    color_handles = [Line2D([], [], color=colors[s], linewidth=2.5, label=s) for s in submodels]
    style_handles = [
        Line2D(
            [],
            [],
            color="#444444",
            linestyle=ls if lines else "none",
            marker=marker if markers else None,
            linewidth=1.2,
            label=label,
        )
        for _, ls, marker, label in styles_used
    ]
    fig.legend(handles=color_handles, loc="outside right upper", title="sub-model", handlelength=1.6)
    if style_handles:
        fig.legend(handles=style_handles, loc="outside right lower", title="loss", handlelength=2.4)


def _single_epoch_figure(table: pd.DataFrame, submodels: list[str], title: str) -> Figure:
    """Fig. 3 when every sub-model ran one epoch: no curve to draw, so each loss is a point, sub-models side by side
    on x (a small offset per loss), on a linear MSE axis; the title says so."""
    colors = submodel_colors(submodels)
    epochs = sorted({int(e) for e in table["epoch"].dropna()})
    epoch_text = f"epoch {epochs[0]}" if len(epochs) == 1 else "their only epoch"
    offsets = {col: (k - 1) * 0.12 for k, (col, *_) in enumerate(LOSS_STYLES)}
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(6.4, 3.6), layout="constrained")
        ax = fig.add_subplot()
        styles_used = []
        for i, sub in enumerate(submodels):
            run = table[table["submodel"] == sub]
            for col, ls, marker, label in LOSS_STYLES:
                y = run[col].to_numpy(dtype=float)
                if not np.isfinite(y).any():
                    continue
                ax.plot(
                    np.full(len(y), i + offsets[col]),
                    y,
                    color=colors[sub],
                    linestyle="none",
                    marker=marker,
                    markersize=6,
                    gid=f"{sub}|{col}",
                )
                if (col, ls, marker, label) not in styles_used:
                    styles_used.append((col, ls, marker, label))
        ax.set_xticks(range(len(submodels)), submodels)
        ax.set_xlim(-0.6, len(submodels) - 0.4)
        ax.set_xlabel(f"sub-model (one epoch each: {epoch_text})")
        ax.set_ylabel("MSE after the epoch")
        ax.yaxis.set_major_locator(MaxNLocator(5))
        ax.grid(True, axis="y", color="#eeeeee", linewidth=0.5)
        if not ax.lines:
            ax.text(0.5, 0.5, "no loss recorded", ha="center", va="center", transform=ax.transAxes)
        _loss_legends(fig, submodels, colors, styles_used, True, lines=False)
        fitted_suptitle(fig, f"{title}\nafter one epoch each: points, not curves", fontsize=10)
    return fig


# --- Fig. 4: input gradients -----------------------------------------------------------------------------------


def gradient_panels(gradients: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per cell (in the order of the first rows), the mean gradient as a marks (rows, in order of appearance) x bins
    (columns, ascending) frame; a missing (mark, bin) is NaN."""
    table = gradients.assign(cell=gradients["cell"].astype(str), mark=gradients["mark"].astype(str))
    marks = list(dict.fromkeys(table["mark"]))
    bins = sorted(pd.unique(table["bin"]))
    panels = {}
    for cell, rows in table.groupby("cell", sort=False):
        grid = rows.groupby(["mark", "bin"], sort=False)["gradient"].mean().unstack("bin")
        panels[str(cell)] = grid.reindex(index=marks, columns=bins).astype(float)
    return panels


def plot_gradient_heatmaps(gradients: pd.DataFrame, out_dir: str | Path, stem: str = "fig4_gradients") -> Figure:
    """Fig. 4: the mean signed gradient of the prediction with respect to each input, one panel per cell.

    Each panel (stacked, shared x) is an image of marks (y, top to bottom in the order of their first row) against
    bins (x); a diverging colormap centred at 0, limits +-max |gradient| over all cells (one colourbar). NaN is
    drawn gray. Each image's gid is the cell.
    """
    title = "Fig. 4: mean signed input gradient (not a saliency map)"
    if gradients is None or gradients.empty:
        fig = message_figure("no input gradients to show", title)
    else:
        fig = _gradient_figure(gradient_panels(gradients), title)
    _save(fig, out_dir, stem)
    return fig


def _gradient_figure(panels: dict[str, pd.DataFrame], title: str) -> Figure:
    cells = list(panels)
    stacked = np.concatenate([p.to_numpy(dtype=float).ravel() for p in panels.values()])
    finite = np.abs(stacked[np.isfinite(stacked)])
    limit = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    cmap = colormaps[GRADIENT_CMAP].with_extremes(bad="#bbbbbb")
    first = panels[cells[0]]
    marks, bins = list(first.index), list(first.columns)
    panel_h = 0.22 * len(marks) + 0.45
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(PAGE_WIDTH_IN, panel_h * len(cells) + 1.0), layout="constrained")
        axes = fig.subplots(len(cells), 1, squeeze=False, sharex=True)[:, 0]
        image = None
        for ax, cell in zip(axes, cells, strict=True):
            image = ax.imshow(
                panels[cell].to_numpy(dtype=float),
                origin="upper",
                aspect="auto",
                interpolation="nearest",
                cmap=cmap,
                vmin=-limit,
                vmax=limit,
            )
            image.set_gid(cell)
            ax.set_yticks(range(len(marks)), marks, fontsize=7)
            ax.set_title(cell, loc="left", fontsize=8.5)
            ax.tick_params(labelsize=7)
            ax.spines[["top", "right"]].set_visible(True)
        ticks = [int(t) for t in MaxNLocator(10, integer=True).tick_values(0, len(bins) - 1) if 0 <= t < len(bins)]
        axes[-1].set_xticks(ticks, [_bin_text(bins[i]) for i in ticks])
        axes[-1].set_xlabel(BIN_LABEL)
        fig.colorbar(image, ax=list(axes), label=GRADIENT_LABEL, shrink=min(1.0, 0.45 + 0.2 * len(cells)), aspect=25)
        fig.suptitle(title)
    return fig


def _bin_text(value: object) -> str:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    return f"{number:g}"


# --- redrawing from files ------------------------------------------------------------------------------------


def _save(fig: Figure, out_dir: str | Path, stem: str) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return save_figure(fig, out_dir / stem)


def _paths(out_dir: Path, stem: str) -> list[Path]:
    return [out_dir / f"{stem}.{fmt}" for fmt in FORMATS]


def read_table(path: str | Path) -> pd.DataFrame:
    """A tab-separated table of the regression section (cell, mark and sub-model names as strings)."""
    return pd.read_csv(path, sep="\t", dtype={"cell": str, "mark": str, "submodel": str})


def draw_regression_figures(
    section_dir: str | Path, out_dir: str | Path | None = None, *, target_label: str = "log2(RPKM + 1)"
) -> list[Path]:
    """Redraw Figs. 1-4 from the files of ``section_dir`` (into ``out_dir``, default ``section_dir``): the PNG and
    PDF of each figure whose file is there (``fig1_inputs.npz``, ``expression_histograms.tsv``, ``loss_curves.tsv``,
    ``gradients.tsv``); a missing file is logged and its figure skipped. Fig. 3 shows the lowest seed of a
    ``loss_curves.tsv`` with a ``seed`` column; Fig. 2's x axis is ``target_label``."""
    section_dir = Path(section_dir)
    out_dir = Path(out_dir) if out_dir is not None else section_dir
    written: list[Path] = []
    path = section_dir / FIG1_FILE
    if path.is_file():
        data = read_fig1(path)
        plot_input_distributions(
            data.density, data.edges, data.cells, data.marks, out_dir, stem="fig1_inputs", value_label=data.value_label
        )
        written += _paths(out_dir, "fig1_inputs")
    else:
        log.info("regression figures: %s not found, Fig. 1 not drawn", path)
    for name, stem, draw in (
        (HIST_FILE, "fig2_expression", plot_expression_histograms),
        (CURVES_FILE, "fig3_loss", plot_loss_curves),
        (GRADIENTS_FILE, "fig4_gradients", plot_gradient_heatmaps),
    ):
        path = section_dir / name
        if not path.is_file():
            log.info("regression figures: %s not found, %s not drawn", path, stem)
            continue
        table = read_table(path) if path.stat().st_size else pd.DataFrame()
        if stem == "fig3_loss" and "seed" in table.columns and len(table):
            table = table[table["seed"] == table["seed"].min()]
        if stem == "fig2_expression":
            plot_expression_histograms(table, out_dir, stem=stem, target_label=target_label)
        else:
            draw(table, out_dir, stem=stem)
        written += _paths(out_dir, stem)
    return written


def section_target_label(section_dir: str | Path) -> str | None:
    """The regression target's label that ``section_dir``'s ``mse.md`` names (``Target {label}; ...``), or None
    without the file or the line."""
    path = Path(section_dir) / MSE_MD_FILE
    if not path.is_file():
        return None
    match = TARGET_LINE.search(path.read_text(encoding="utf-8"))
    return match.group("label") if match else None


def redraw(
    section_dir: str | Path, results_dir: str | Path | None = None, *, out_dir: str | Path | None = None
) -> list[Path]:
    """Redraw every figure of the regression section from its files alone (no runs, no models): Figs. 1-4, PNG +
    PDF each, into ``out_dir`` (default ``section_dir``).

    Reads ``fig1_inputs.npz``, ``expression_histograms.tsv``, ``loss_curves.tsv`` and ``gradients.tsv`` (a missing
    one is logged and its figure skipped, ``draw_regression_figures``), and Fig. 2's x label from ``mse.md``
    (``section_target_label``; the default target's label without it). ``results_dir``, the workflow's results
    folder, is what every experiment's ``redraw`` takes; this one reads nothing there.
    """
    label = section_target_label(section_dir) or DEFAULT_TARGET_LABEL
    return draw_regression_figures(section_dir, out_dir, target_label=label)
