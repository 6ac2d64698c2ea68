"""Figures of the DeepChrome 2.0 cross-cell experiment (the paper's Figs. 3, 5, 6, 7 and 9), drawn from the
tidy tables the cross-cell section writes (read back from their TSVs; no runs, no models): ``redraw`` draws them
all (the report job, and ``snakemake figures``).

Tables (columns the functions read):

- correlation (one per split): ``cell_a``, ``cell_b``, ``normalized`` (min-max normalized Pearson r of the
  cells' RPKM), optionally ``n_genes``;
- experiments: ``experiment`` (``baseline``, ``all_inclusive``, ...), ``target``, ``normalized_auroc``,
  ``empty`` (boolean: no other cell passes the group's threshold), optionally ``test_auroc``;
- summary: ``experiment``, ``mean_auroc``, ``sd_auroc``, ``n_targets``, ``mean_correlation``,
  ``mean_n_train``;
- Test-on-Rest: ``train_cell``, ``test_cell``, ``correlation``, ``delta_auroc``; its trend: ``slope``,
  ``intercept``, ``r``, ``p_value``, ``n``;
- probability difference: ``bin_left``, ``bin_right``, ``bin_center``, ``n_genes``, ``mean_difference``,
  ``q25``, ``q75``.

Like ``chromexpr.experiments.single_cell.figures``: ``Figure()`` rather than pyplot, at most ``PAGE_WIDTH_IN``
wide, and an empty table gives a small figure that says why instead of an error.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator

from chromexpr.errors import InputError
from chromexpr.experiments.cross_cell.evaluate import CORRELATION_SPLITS, EXPERIMENTS, TEST_ON_REST_COLUMNS, TREND_KEYS
from chromexpr.plotting.base import (
    EDGE_COLOR,
    axis_ceiling,
    axis_floor,
    format_p,
    legend_columns,
    message_figure,
    save_figure,
)
from chromexpr.plotting.style import PAGE_WIDTH_IN, RC

#: the experiments in table order (baseline, all_inclusive, all_exclusive, ...)
EXPERIMENT_ORDER = EXPERIMENTS
SPLIT_ORDER = CORRELATION_SPLITS
HEATMAP_CMAP = "viridis"  # brighter = higher, as in the paper
#: one colour per group; exclusive runs are hatched
GROUP_COLORS = {
    "baseline": "#7f7f7f",
    "all": "#1f77b4",
    "highly": "#d62728",
    "somewhat": "#ff7f0e",
    "random": "#2ca02c",
}
EXCLUSIVE_HATCH = "////"
BLANK_NOTE = "blank: no other cell passes the threshold"
MISSING_COLOR = "#d9d9d9"
MEDIAN_CUTOFF_LABEL = "median cutoff"
#: side-by-side heatmaps up to this many cells; more are stacked, one per row, to keep labels legible
SIDE_BY_SIDE_MAX_CELLS = 26


def experiment_label(experiment: str, *, lines: bool = False) -> str:
    """The paper's name of an experiment: ``all_inclusive`` -> ``Inclusive-All``, ``baseline`` ->
    ``single-cell`` (the paper's "DeepChrome" row); ``lines`` puts mode and group on two lines."""
    if experiment == "baseline":
        return "single-cell\n(baseline)" if lines else "single-cell (baseline)"
    group, _, mode = str(experiment).partition("_")
    if not mode:
        return str(experiment)
    return f"{mode.capitalize()}{chr(10) if lines else '-'}{group.capitalize()}"


def _ordered_experiments(values: pd.Series) -> list[str]:
    present = list(dict.fromkeys(values.astype(str)))
    return [e for e in EXPERIMENT_ORDER if e in present] + [e for e in present if e not in EXPERIMENT_ORDER]


def _as_bool(values: pd.Series) -> np.ndarray:
    if values.dtype == bool:
        return values.to_numpy()
    return values.astype(str).str.strip().str.lower().isin(["true", "1", "yes"]).to_numpy()


def _suptitle(fig: Figure, text: str, *, fontsize: float = 11.0) -> None:
    """A figure title wrapped to the figure's width (constrained layout does not wrap titles)."""
    width_in = fig.get_figwidth() - 0.2
    chars = max(20, int(width_in * 72 / (fontsize * 0.56)))
    lines = [textwrap.fill(line, chars) for line in text.split("\n")]
    fig.suptitle("\n".join(lines), fontsize=fontsize)


def _label_fontsize(points_per_label: float, largest: float = 8.0, smallest: float = 3.5) -> float:
    """A tick-label size that fits ``points_per_label`` points per label."""
    return float(np.clip(0.8 * points_per_label, smallest, largest))


# ---------------------------------------------------------------------------------------------------
# Fig. 3


def _annotate_cells(ax, values: np.ndarray, *, fontsize: float) -> None:
    """Write each finite value of the ``(rows, columns)`` heatmap in its cell, dark on light colours."""
    for r, c in zip(*np.nonzero(np.isfinite(values)), strict=True):
        v = values[r, c]
        ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=fontsize, color="black" if v > 0.6 else "white")


def _matrix(table: pd.DataFrame, cells: list[str]) -> np.ndarray:
    wide = table.assign(cell_a=table["cell_a"].astype(str), cell_b=table["cell_b"].astype(str)).pivot_table(
        index="cell_a", columns="cell_b", values="normalized", aggfunc="first", dropna=False
    )
    return wide.reindex(index=cells, columns=cells).to_numpy(dtype=float)


def correlation_heatmaps_figure(tables: Mapping[str, pd.DataFrame], *, title: str | None = None) -> Figure:
    """Fig. 3: one heatmap per split (train, valid, test) of the normalized expression correlation.

    Cells in the order of the tables (the experiment's), the same on both axes and in every panel;
    brighter = more correlated, one shared colour bar over [0, 1]. Up to ``SIDE_BY_SIDE_MAX_CELLS``
    cells the panels sit side by side, more are stacked one per row so 56 cell labels stay legible;
    values are written in the squares for up to 8 cells.
    """
    usable = {str(s): t for s, t in tables.items() if t is not None and not t.empty and {"cell_a", "cell_b"} <= set(t)}
    if not usable:
        return message_figure("no correlation tables to show", title or "Expression correlation")
    splits = [s for s in SPLIT_ORDER if s in usable] + [s for s in usable if s not in SPLIT_ORDER]
    first = usable[splits[0]]
    cells = list(dict.fromkeys([*first["cell_a"].astype(str), *first["cell_b"].astype(str)]))
    n, k = len(cells), len(splits)
    longest = max(len(c) for c in cells)
    side = n <= SIDE_BY_SIDE_MAX_CELLS
    with matplotlib.rc_context(RC):
        if side:
            label_in = 0.4 + longest * 0.06
            panel = min(3.0, (PAGE_WIDTH_IN - 0.8 - label_in) / k - 0.1)
            font = _label_fontsize(panel * 72 / n)
            label_in = 0.25 + longest * font * 0.6 / 72
            fig = Figure(figsize=(PAGE_WIDTH_IN, panel + label_in + 0.9), layout="constrained")
            axes = list(fig.subplots(1, k, squeeze=False)[0])
        else:
            panel = PAGE_WIDTH_IN - 1.8
            font = _label_fontsize(panel * 72 / n)
            label_in = 0.25 + longest * font * 0.6 / 72
            fig = Figure(figsize=(PAGE_WIDTH_IN, k * (panel + label_in + 0.35) + 0.6), layout="constrained")
            axes = list(fig.subplots(k, 1, squeeze=False)[:, 0])
        cmap = colormaps[HEATMAP_CMAP]
        image = None
        for i, (ax, split) in enumerate(zip(axes, splits, strict=True)):
            table = usable[split]
            values = _matrix(table, cells)
            image = ax.imshow(
                np.ma.masked_invalid(values),
                cmap=cmap.with_extremes(bad="white"),
                vmin=0.0,
                vmax=1.0,
                interpolation="nearest",
                aspect="equal",
            )
            ax.set_xticks(np.arange(n))
            ax.set_yticks(np.arange(n))
            ax.set_xticklabels(cells, rotation=90, fontsize=font)
            ax.set_yticklabels(cells if (i == 0 or not side) else [], fontsize=font)
            ax.tick_params(length=0, pad=1.5)
            for spine in ax.spines.values():
                spine.set_visible(False)
            genes = ""
            if "n_genes" in table.columns:
                counts = pd.to_numeric(table["n_genes"], errors="coerce").dropna()
                if len(counts):
                    genes = f": {int(counts.max()):,} genes"
            ax.set_title(f"({chr(ord('a') + i)}) {split}{genes}")
            if n <= 8:
                _annotate_cells(ax, values, fontsize=6.5 if n <= 6 else 5.5)
        fig.colorbar(
            image,
            ax=axes,
            shrink=0.8 if side else 0.4,
            aspect=25 if side else 40,
            label="normalized correlation",
        )
        _suptitle(
            fig,
            title
            or f"Expression correlation between {n} cells\nPearson r of RPKM over each split's genes, min-max normalized over "
            "all pairs (1 = diagonal, 0 = least correlated pair)",
        )
    return fig


# ---------------------------------------------------------------------------------------------------
# Fig. 5


def experiment_heatmap_figure(table: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Fig. 5: normalized test AUROC of every experiment (rows) on every target cell (columns).

    Brighter = higher AUROC (min-max over the table). Entries of empty groups are masked and drawn
    blank (white): no other cell passes the threshold, so there is no run; entries not run yet are
    light grey. Values are written in the squares for up to 12 targets.
    """
    need = {"experiment", "target", "normalized_auroc"}
    if table is None or table.empty or not need <= set(table.columns):
        return message_figure("no cross-cell results to show", title or "Cross-cell results")
    data = table.assign(experiment=table["experiment"].astype(str), target=table["target"].astype(str))
    data["empty"] = _as_bool(data["empty"]) if "empty" in data.columns else False
    experiments = _ordered_experiments(data["experiment"])
    targets = list(dict.fromkeys(data["target"]))
    values = (
        data.pivot_table(index="experiment", columns="target", values="normalized_auroc", aggfunc="first", dropna=False)
        .reindex(index=experiments, columns=targets)
        .to_numpy(dtype=float)
    )
    empty = (
        data.pivot_table(index="experiment", columns="target", values="empty", aggfunc="max")
        .reindex(index=experiments, columns=targets)
        .fillna(False)
        .to_numpy(dtype=bool)
    )
    missing = ~np.isfinite(values) & ~empty
    n_rows, n_cols = len(experiments), len(targets)
    longest = max(len(t) for t in targets)
    with matplotlib.rc_context(RC):
        left_in, bar_in = 1.45, 1.0
        col_in = min(0.62, (PAGE_WIDTH_IN - left_in - bar_in) / n_cols)
        font = _label_fontsize(col_in * 72)
        row_in = 0.3 if n_cols <= 12 else 0.24
        label_in = 0.2 + (longest * font * 0.6 / 72 if n_cols > 12 else 0.2)
        width = min(PAGE_WIDTH_IN, left_in + bar_in + col_in * n_cols + 0.2)
        height = row_in * n_rows + label_in + 1.25
        fig = Figure(figsize=(max(width, 5.2), height), layout="constrained")
        ax = fig.add_subplot()
        masked = np.ma.masked_array(values, mask=~np.isfinite(values))
        image = ax.imshow(
            masked,
            cmap=colormaps[HEATMAP_CMAP].with_extremes(bad="white"),
            vmin=0.0,
            vmax=1.0,
            interpolation="nearest",
            aspect="auto",
        )
        for r, c in zip(*np.nonzero(missing), strict=True):
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor=MISSING_COLOR, edgecolor="none"))
        # thin separators, so blank entries read as squares
        ax.set_xticks(np.arange(-0.5, n_cols, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, n_rows, 1), minor=True)
        ax.grid(which="minor", color="#eeeeee", linewidth=0.5)
        ax.tick_params(which="minor", length=0)
        ax.set_xticks(np.arange(n_cols))
        ax.set_xticklabels(
            targets, rotation=0 if n_cols <= 12 and longest <= 6 else 90, fontsize=font if n_cols > 12 else 8
        )
        ax.set_yticks(np.arange(n_rows))
        ax.set_yticklabels([experiment_label(e) for e in experiments])
        ax.tick_params(axis="both", which="major", length=0)
        for spine in ax.spines.values():
            spine.set_visible(True)
            spine.set_color("#bbbbbb")
            spine.set_linewidth(0.5)
        if n_cols <= 12:
            _annotate_cells(ax, values, fontsize=7)
        ax.set_xlabel("target (test) cell")
        auroc = pd.to_numeric(data.get("test_auroc", pd.Series(dtype=float)), errors="coerce")
        auroc = auroc[~data["empty"].to_numpy(dtype=bool)].dropna() if len(auroc) else auroc
        scale = f"\n(0 = AUROC {auroc.min():.3f}, 1 = {auroc.max():.3f})" if len(auroc) else ""
        fig.colorbar(image, ax=ax, shrink=0.9, aspect=15, label=f"normalized test AUROC{scale}")
        handles = [Patch(facecolor="white", edgecolor="#999999", linewidth=0.6, label=BLANK_NOTE)]
        if missing.any():
            handles.append(Patch(facecolor=MISSING_COLOR, edgecolor="none", label="grey: not run"))
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
        _suptitle(
            fig, title or f"Cross-cell results: normalized test AUROC per experiment and target ({n_cols} targets)"
        )
    return fig


# ---------------------------------------------------------------------------------------------------
# Fig. 6

SORT_KEYS = {
    "mean_correlation": ("mean train-test correlation", "corr. {:.2f}"),
    "mean_n_train": ("training-set size (genes)", "{:,.0f} genes"),
}


def _group_mode(experiment: str) -> tuple[str, str]:
    if experiment == "baseline":
        return "baseline", ""
    group, _, mode = experiment.partition("_")
    return group, mode


def experiment_bars_figure(summary: pd.DataFrame, sort_by: str, *, title: str | None = None) -> Figure:
    """Fig. 6: mean test AUROC over targets per experiment, sd over targets as error bars, sorted by
    ``sort_by`` (``mean_correlation``: Fig. 6a; ``mean_n_train``: Fig. 6b), ascending left to right.

    The sort key is printed under each bar, with the number of targets; bars take the colour of their
    group (grey = single-cell baseline), exclusive runs are hatched. Experiments without any AUROC
    (every group empty, or not run) are left out and named in the footnote.
    """
    if sort_by not in SORT_KEYS:
        raise InputError(f"sort_by = {sort_by!r}: expected one of {', '.join(SORT_KEYS)}")
    what, key_format = SORT_KEYS[sort_by]
    heading = title or f"Mean test AUROC per experiment, sorted by {what}"
    if summary is None or summary.empty or not {"experiment", "mean_auroc", sort_by} <= set(summary.columns):
        return message_figure("no cross-cell results to show", heading)
    data = summary.assign(
        experiment=summary["experiment"].astype(str),
        mean_auroc=pd.to_numeric(summary["mean_auroc"], errors="coerce").astype(float),
        sd_auroc=pd.to_numeric(summary.get("sd_auroc", np.nan), errors="coerce").astype(float),
        key=pd.to_numeric(summary[sort_by], errors="coerce").astype(float),
    )
    left_out = data.loc[data["mean_auroc"].isna(), "experiment"].tolist()
    data = data[data["mean_auroc"].notna()]
    if data.empty:
        return message_figure("no experiment has a test AUROC yet", heading)
    rank = {e: i for i, e in enumerate(_ordered_experiments(data["experiment"]))}
    data = data.assign(_order=data["experiment"].map(rank))
    data = data.sort_values(["key", "_order"], na_position="last", kind="stable").reset_index(drop=True)
    n = len(data)
    means = data["mean_auroc"].to_numpy(dtype=float)
    sds = data["sd_auroc"].to_numpy(dtype=float)
    y0 = axis_floor(means - np.nan_to_num(sds))
    y1 = axis_ceiling(means + np.nan_to_num(sds))
    with matplotlib.rc_context(RC):
        width = float(np.clip(1.4 + 0.78 * n, 4.5, PAGE_WIDTH_IN))
        fig = Figure(figsize=(width, 3.9 + (0.2 if left_out else 0.0)), layout="constrained")
        ax = fig.add_subplot()
        x = np.arange(n)
        colors, hatches = [], []
        for e in data["experiment"]:
            group, mode = _group_mode(e)
            colors.append(GROUP_COLORS.get(group, "#9467bd"))
            hatches.append(EXCLUSIVE_HATCH if mode == "exclusive" else "")
        bars = ax.bar(x, means, width=0.66, color=colors, edgecolor="white", linewidth=0.4, zorder=2)
        for patch, hatch in zip(bars.patches, hatches, strict=True):
            if hatch:
                patch.set_hatch(hatch)
                patch.set_edgecolor(EDGE_COLOR)
        has_sd = np.isfinite(sds)
        if has_sd.any():
            ax.errorbar(
                x[has_sd],
                means[has_sd],
                yerr=sds[has_sd],
                fmt="none",
                ecolor="#222222",
                elinewidth=0.8,
                capsize=2.5,
                zorder=3,
            )
        labels = []
        for row in data.itertuples(index=False):
            key_text = key_format.format(row.key) if np.isfinite(row.key) else "n/a"
            n_t = getattr(row, "n_targets", None)
            targets = (
                f"\n{int(n_t)} target{'s' if int(n_t) != 1 else ''}" if n_t is not None and not pd.isna(n_t) else ""
            )
            labels.append(f"{experiment_label(row.experiment, lines=True)}\n{key_text}{targets}")
        ax.set_xticks(x)
        ax.set_xticklabels(labels, fontsize=7)
        ax.tick_params(axis="x", length=0)
        ax.set_xlim(-0.6, n - 0.4)
        ax.set_ylim(y0, y1)
        ax.yaxis.set_major_locator(MaxNLocator(5))
        ax.yaxis.grid(True, color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.set_ylabel(f"mean test AUROC over targets\n(axis starts at {y0:.2f})")
        xlabel = f"experiment, sorted by {what} (printed under each bar)"
        if left_out:
            xlabel += "\nno AUROC (every group empty or not run): " + ", ".join(experiment_label(e) for e in left_out)
        ax.set_xlabel(xlabel, fontsize=8)
        groups = {_group_mode(e)[0] for e in data["experiment"]}
        handles = [
            Patch(facecolor=color, label="single-cell" if g == "baseline" else g.capitalize())
            for g, color in GROUP_COLORS.items()
            if g in groups
        ]
        if any(h for h in hatches):
            handles.append(Patch(facecolor="white", edgecolor=EDGE_COLOR, hatch=EXCLUSIVE_HATCH, label="exclusive"))
        if has_sd.any():
            handles.append(
                Line2D([], [], color="#222222", marker="|", linestyle="none", markersize=8, label="sd over targets")
            )
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncols=legend_columns([h.get_label() for h in handles], width - 0.3),
            handlelength=1.4,
            columnspacing=1.0,
        )
        _suptitle(fig, heading)
    return fig


# ---------------------------------------------------------------------------------------------------
# Fig. 7


def _number(value: object, fmt: str) -> str:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "n/a"
    return "n/a" if not math.isfinite(v) else format(v, fmt)


def trend_text(trend: Mapping[str, object]) -> str:
    """``r = 0.12, slope = 0.034, p = 0.45, n = 20`` (n/a for what is unknown)."""
    n = trend.get("n")
    n_text = "n/a" if n is None or pd.isna(n) else str(int(n))  # type: ignore[arg-type]
    try:
        p = float(trend.get("p_value"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        p = math.nan
    return (
        f"r = {_number(trend.get('r'), '.2f')}, slope = {_number(trend.get('slope'), '.3g')}, "
        f"p = {format_p(p)}, n = {n_text}"
    )


def test_on_rest_figure(table: pd.DataFrame, trend: Mapping[str, object], *, title: str | None = None) -> Figure:
    """Fig. 7 (Test-on-Rest): for every pair of train and test cell, the change in test AUROC against
    the single-cell model of the test cell (y) by the pair's normalized expression correlation (x).

    One point per pair (and seed); the least-squares trend line, with ``r = ..., slope = ..., p = ...,
    n = ...`` in its legend entry and the title; a horizontal line at no change.
    """
    heading = title or "Test-on-Rest: change in AUROC against train-test correlation"
    if table is None or table.empty or not {"correlation", "delta_auroc"} <= set(table.columns):
        return message_figure("no Test-on-Rest results to show", heading)
    x = pd.to_numeric(table["correlation"], errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(table["delta_auroc"], errors="coerce").to_numpy(dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    if not keep.any():
        return message_figure("no Test-on-Rest pair has both a correlation and an AUROC", heading)
    x, y = x[keep], y[keep]
    text = trend_text(trend)
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(5.6, 4.3), layout="constrained")
        ax = fig.add_subplot()
        ax.axhline(0.0, color="#888888", linewidth=0.8, linestyle="--", zorder=1, label="no change")
        many = x.size > 200
        ax.scatter(
            x,
            y,
            s=7 if many else 18,
            alpha=0.45 if many else 0.8,
            color="#1f77b4",
            edgecolor="none" if many else "white",
            linewidth=0.3,
            zorder=2,
            label=f"train / test cell pairs ({x.size})",
        )
        try:
            slope = float(trend.get("slope"))  # type: ignore[arg-type]
            intercept = float(trend.get("intercept"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            slope = intercept = math.nan
        if math.isfinite(slope) and math.isfinite(intercept):
            xs = np.array([x.min(), x.max()])
            ax.plot(xs, intercept + slope * xs, color="#d62728", linewidth=1.6, zorder=3, label=f"trend: {text}")
        else:
            ax.plot([], [], color="#d62728", linewidth=1.6, label=f"no trend line: {text}")
        ax.set_xlim(min(-0.03, x.min() - 0.03), max(1.03, x.max() + 0.03))
        ax.set_xlabel("normalized expression correlation of train and test cell")
        ax.set_ylabel("Δ test AUROC (trained on the other cell\n− trained on the test cell)")
        ax.yaxis.grid(True, color="#eeeeee", linewidth=0.6)
        ax.set_axisbelow(True)
        fig.legend(loc="outside lower center", ncols=1, fontsize=7.5)
        _suptitle(fig, f"{heading}\n{text}", fontsize=10)
    return fig


test_on_rest_figure.__test__ = False  # type: ignore[attr-defined]  # not a pytest test where imported


# ---------------------------------------------------------------------------------------------------
# Fig. 9


def probability_difference_figure(bins_table: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Fig. 9: mean difference in predicted probability (Inclusive-All − single-cell) per bin of the genes'
    RPKM rank within their cell, with the interquartile range as a band and the genes per bin below.

    The dashed vertical line at rank 0.5 is the label cutoff (expression >= the cell's median -> 1).
    """
    heading = title or "Predicted probability, Inclusive-All − single-cell, by RPKM rank"
    need = {"bin_center", "mean_difference", "n_genes"}
    if bins_table is None or bins_table.empty or not need <= set(bins_table.columns):
        return message_figure("no predictions to compare", heading)
    data = bins_table.apply(pd.to_numeric, errors="coerce").sort_values("bin_center")
    if not (data["n_genes"].fillna(0) > 0).any():
        return message_figure("no test gene has predictions from both models", heading)
    centers = data["bin_center"].to_numpy(dtype=float)
    mean = data["mean_difference"].to_numpy(dtype=float)
    if {"bin_left", "bin_right"} <= set(data.columns):
        widths = (data["bin_right"] - data["bin_left"]).to_numpy(dtype=float)
    else:
        widths = np.full(centers.size, np.nanmin(np.diff(centers)) if centers.size > 1 else 1.0)
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(6.2, 4.6), layout="constrained")
        top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3.0, 1.0]})
        top.axhline(0.0, color="#888888", linewidth=0.8, zorder=1)
        if {"q25", "q75"} <= set(data.columns):
            top.fill_between(
                centers,
                data["q25"].to_numpy(dtype=float),
                data["q75"].to_numpy(dtype=float),
                color="#1f77b4",
                alpha=0.22,
                linewidth=0,
                label="interquartile range",
                zorder=2,
            )
        top.plot(centers, mean, color="#1f77b4", marker="o", markersize=3.5, linewidth=1.3, label="mean", zorder=3)
        for ax in (top, bottom):
            ax.axvline(
                0.5,
                color="#d62728",
                linestyle="--",
                linewidth=1.0,
                zorder=4,
                label=MEDIAN_CUTOFF_LABEL if ax is top else "_cutoff",
            )
        ymax = top.get_ylim()[1]
        top.text(0.505, ymax, MEDIAN_CUTOFF_LABEL, color="#d62728", fontsize=7, ha="left", va="top")
        top.set_ylabel("p(Inclusive-All) − p(single-cell)")
        fig.legend(
            handles=top.get_legend_handles_labels()[0],
            loc="outside lower center",
            ncols=3,
            fontsize=7.5,
        )
        top.yaxis.grid(True, color="#eeeeee", linewidth=0.6)
        bottom.bar(centers, data["n_genes"].fillna(0).to_numpy(dtype=float), width=widths * 0.9, color="#9e9e9e")
        bottom.set_ylabel("genes")
        bottom.yaxis.set_major_locator(MaxNLocator(3, integer=True))
        bottom.set_xlim(0.0, 1.0)
        bottom.set_xlabel("RPKM rank within the cell (0 = lowest, 1 = highest expression)")
        n_genes = int(data["n_genes"].fillna(0).sum())
        _suptitle(
            fig, f"{heading}\n({n_genes:,} test genes pooled over targets; dashed: median = label cutoff)", fontsize=10
        )
    return fig


# ---------------------------------------------------------------------------------------------------
# the section's figures, redrawn from its tables

#: written into the section folder by the workflow's Test-on-Rest job (``test_on_rest_table``), read here
TEST_ON_REST_FILE = "test_on_rest.tsv"
#: the correlation tables' folder under the results folder (``<results>/cross_cell/correlation_{split}.tsv``)
CORRELATION_DIR = "cross_cell"


def read_table(path: Path, what: str, hint: str, cell_columns: Sequence[str] = ()) -> pd.DataFrame:
    """A TSV (cell columns read as text); an empty file gives an empty frame, a missing one ``InputError``."""
    if not path.is_file():
        raise InputError(f"{what} not found", path=path, hint=hint)
    if path.stat().st_size == 0:
        return pd.DataFrame()
    return pd.read_csv(path, sep="\t", dtype={c: str for c in cell_columns})


def read_correlation(path: Path) -> pd.DataFrame:
    """One split's correlation table (``correlation_{split}.tsv``)."""
    return read_table(
        path,
        "correlation table",
        "the workflow's cross-cell correlation step writes correlation_{split}.tsv (correlation_tables)",
        ("cell_a", "cell_b"),
    )


def read_test_on_rest(path: Path) -> pd.DataFrame:
    """The Test-on-Rest table (``test_on_rest.tsv``); ``InputError`` when a column is missing."""
    table = read_table(
        path,
        "Test-on-Rest table",
        "the workflow's Test-on-Rest step writes it (chromexpr.experiments.cross_cell.evaluate.test_on_rest_table)",
        ("train_cell", "test_cell"),
    )
    if table.empty:
        return pd.DataFrame(columns=list(TEST_ON_REST_COLUMNS))
    missing = [c for c in TEST_ON_REST_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}",
            path=path,
            line=1,
            hint="write it with chromexpr.experiments.cross_cell.evaluate.test_on_rest_table",
        )
    return table


def read_trend(path: Path) -> dict[str, float]:
    """The Test-on-Rest trend (``test_on_rest_trend.tsv``, one row) as a dict; NaN (n = 0) when empty."""
    table = read_table(path, "Test-on-Rest trend", "build the cross-cell section first")
    if table.empty:
        return {"slope": math.nan, "intercept": math.nan, "r": math.nan, "p_value": math.nan, "n": 0}
    row = table.iloc[0]
    return {k: float(row[k]) if k in row and pd.notna(row[k]) else math.nan for k in TREND_KEYS}


def _section_tsv(section_dir: Path, name: str, cell_columns: Sequence[str] = ()) -> pd.DataFrame:
    return read_table(
        section_dir / name,
        f"cross-cell table {name}",
        "build the cross-cell section first (build_cross_cell_section / the report target)",
        cell_columns,
    )


def draw_section_figures(section_dir: Path, correlations: Mapping[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    """Every figure of the section from its tables in ``section_dir`` and the ``correlations`` (split -> table),
    written into ``out_dir`` (PNG + PDF each). A missing section table raises ``InputError``."""
    experiments = _section_tsv(section_dir, "experiments.tsv", ("target",))
    summary = _section_tsv(section_dir, "experiment_summary.tsv")
    bins = _section_tsv(section_dir, "probability_difference.tsv")
    trend = read_trend(section_dir / "test_on_rest_trend.tsv")
    rest = read_test_on_rest(section_dir / TEST_ON_REST_FILE)
    written: list[Path] = []
    for stem, fig in (
        ("fig3_correlation", correlation_heatmaps_figure(correlations)),
        ("fig5_experiments", experiment_heatmap_figure(experiments)),
        ("fig6a_by_correlation", experiment_bars_figure(summary, "mean_correlation")),
        ("fig6b_by_training_size", experiment_bars_figure(summary, "mean_n_train")),
        ("fig7_test_on_rest", test_on_rest_figure(rest, trend)),
        ("fig9_probability_difference", probability_difference_figure(bins)),
    ):
        written += save_figure(fig, out_dir / stem)
    return written


def redraw(section_dir: str | Path, results_dir: str | Path | None = None) -> list[Path]:
    """Redraw every figure of the cross-cell section from its TSVs alone (PNG + PDF each, into ``section_dir``).

    Reads ``experiments.tsv``, ``experiment_summary.tsv``, ``test_on_rest.tsv``, ``test_on_rest_trend.tsv`` and
    ``probability_difference.tsv`` from ``section_dir`` and ``correlation_{split}.tsv`` (train, valid, test; the
    ones present) from ``<results_dir>/cross_cell/``. ``results_dir`` is the workflow's results folder (None: the
    folder two above ``section_dir``, as in ``results/report/cross_cell``). A missing section table raises
    ``InputError``.
    """
    section_dir = Path(section_dir)
    results = Path(results_dir) if results_dir is not None else section_dir.parent.parent
    correlations_dir = results / CORRELATION_DIR
    correlations = {
        split: read_correlation(correlations_dir / f"correlation_{split}.tsv")
        for split in CORRELATION_SPLITS
        if (correlations_dir / f"correlation_{split}.tsv").is_file()
    }
    return draw_section_figures(section_dir, correlations, section_dir)
