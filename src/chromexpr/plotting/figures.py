"""The report's figures, drawn from its tables only (no runs, no models).

Every function takes the tidy tables the report writes and returns a ``matplotlib.figure.Figure``;
``save_figure`` writes it as a 150-dpi PNG and a vector PDF, atomically. Figures are built with
``Figure()`` rather than pyplot, so nothing needs a display and no global figure state is kept.

Tables (columns the functions read):

- ``per_cell``: one row per model and cell: ``model``, ``cell``, ``n_seeds``, ``test_auroc_mean``,
  ``test_auroc_sd`` (standard deviation over seeds, NaN with one seed).
- ``published``: the report's ``published_table2.tsv``: ``model`` (ours), ``basis`` (``ours`` |
  ``same_cells`` | ``source_cells``), ``kind`` (``published`` | ``third_party``), ``mean``.
- ``paired``: the report's ``paired_vs_{reference}.tsv``: ``model``, ``wins``, ``losses``, ``ties``,
  ``mean_difference``, ``p_value``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from chromexpr.io.atomic import atomic_path
from chromexpr.plotting.style import DPI, FORMATS, PUBLISHED_MARKER_COLOR, RC, model_color, order_models

AUROC_LABEL = "test AUROC"


def save_figure(fig: Figure, stem: str | Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write ``fig`` as ``stem.png`` (150 dpi) and ``stem.pdf`` (vector), each atomically."""
    stem = Path(stem)
    if stem.suffix.lower().lstrip(".") in formats:
        stem = stem.with_suffix("")
    written = []
    with matplotlib.rc_context(RC):
        for fmt in formats:
            target = stem.parent / f"{stem.name}.{fmt}"
            with atomic_path(target) as tmp:
                fig.savefig(tmp, format=fmt, dpi=DPI)
            written.append(target)
    return written


def _axis_floor(values: np.ndarray) -> float:
    """A lower y limit for AUROC bars: at least 0.02 below the smallest value, on a 0.05 grid.

    Per-cell differences between models are a few hundredths; bars from 0 would hide them.
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.5
    return float(max(0.0, math.floor((finite.min() - 0.02) / 0.05) * 0.05))


def _axis_ceiling(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 1.0
    return float(min(1.0, math.ceil((finite.max() + 0.005) / 0.01) * 0.01))


def _message_figure(text: str, title: str | None = None) -> Figure:
    """A small figure that says why there is nothing to draw (instead of failing the report)."""
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(6, 2.2), layout="constrained")
        ax = fig.add_subplot()
        ax.axis("off")
        ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True)
        if title:
            ax.set_title(title)
    return fig


def per_cell_auroc_figure(per_cell: pd.DataFrame, *, title: str | None = None, max_bars_per_row: int = 96) -> Figure:
    """Grouped bars of test AUROC per cell (TransferChrome Figure 3 layout).

    Cells on x (sorted by id), one bar per model in a fixed colour, error bars = standard deviation
    over seeds where a model has more than one seed for the cell. Many cells wrap onto several rows
    of panels (at most ``max_bars_per_row`` bars per row), so 56 cells x 7 models stay readable. The
    y axis starts just below the lowest value (stated on the axis), to make differences visible.
    """
    if per_cell.empty:
        return _message_figure("no runs to show", title)
    models = order_models(per_cell["model"])
    cells = sorted(per_cell["cell"].astype(str).unique())
    mean = per_cell.pivot_table(index="cell", columns="model", values="test_auroc_mean", aggfunc="first")
    sd = per_cell.pivot_table(index="cell", columns="model", values="test_auroc_sd", aggfunc="first", dropna=False)
    mean = mean.reindex(index=cells, columns=models)
    sd = sd.reindex(index=cells, columns=models)

    n_models = len(models)
    per_row_max = max(4, max_bars_per_row // n_models)
    n_rows = math.ceil(len(cells) / per_row_max)
    per_row = math.ceil(len(cells) / n_rows)
    group_in = 0.16 * n_models + 0.3  # inches per cell group
    width = float(np.clip(1.2 + per_row * group_in, 6.0, 16.0))
    label_len = max(len(c) for c in cells)
    # tilt the cell labels when they are wider than a group (long, non-REMC cell names)
    rotate = label_len * 0.075 > (width - 1.2) / per_row
    height = 0.9 + (2.6 + (0.05 * label_len if rotate else 0.0)) * n_rows

    lows = (mean - sd.fillna(0)).to_numpy(dtype=float)
    highs = (mean + sd.fillna(0)).to_numpy(dtype=float)
    y0, y1 = _axis_floor(lows), _axis_ceiling(highs)
    bar_w = 0.8 / n_models

    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(width, height), layout="constrained")
        axes = fig.subplots(n_rows, 1, squeeze=False)[:, 0]
        for r, ax in enumerate(axes):
            row_cells = cells[r * per_row : (r + 1) * per_row]
            x = np.arange(len(row_cells))
            for j, model in enumerate(models):
                m = mean.loc[row_cells, model].to_numpy(dtype=float)
                s = sd.loc[row_cells, model].to_numpy(dtype=float)
                has_err = np.isfinite(s) & np.isfinite(m)
                offset = (j - (n_models - 1) / 2) * bar_w
                ax.bar(
                    x + offset,
                    np.where(np.isfinite(m), m - y0, 0.0),
                    bottom=y0,
                    width=bar_w,
                    color=model_color(model),
                    edgecolor="white",
                    linewidth=0.3,
                    label=model if r == 0 else None,
                )
                if has_err.any():
                    ax.errorbar(
                        (x + offset)[has_err],
                        m[has_err],
                        yerr=s[has_err],
                        fmt="none",
                        ecolor="#333333",
                        elinewidth=0.7,
                        capsize=1.5 if bar_w * group_in > 0.08 else 0,
                    )
            ax.set_xticks(x)
            ax.set_xticklabels(
                row_cells,
                rotation=40 if rotate else 0,
                ha="right" if rotate else "center",
                rotation_mode="anchor" if rotate else "default",
            )
            ax.set_xlim(-0.6, per_row - 0.4)
            ax.set_ylim(y0, y1)
            ax.yaxis.grid(True, color="#dddddd", linewidth=0.6)
            ax.set_axisbelow(True)
        axes[-1].set_xlabel("cell")
        if n_rows > 1:
            fig.supylabel(f"{AUROC_LABEL} (mean over seeds; axis starts at {y0:.2f})", fontsize=RC["axes.labelsize"])
        else:
            axes[0].set_ylabel(f"{AUROC_LABEL}\n(axis starts at {y0:.2f})")
        has_any_err = bool(np.isfinite(sd.to_numpy(dtype=float)).any())
        handles = [Patch(facecolor=model_color(m), label=m) for m in models]
        if has_any_err:
            handles.append(
                Line2D([], [], color="#333333", marker="|", linestyle="none", markersize=8, label="sd over seeds")
            )
        fig.legend(handles=handles, loc="outside upper center", ncols=min(len(handles), 8))
        if title:
            fig.suptitle(title)
    return fig


def auroc_distribution_figure(
    per_cell: pd.DataFrame, published: pd.DataFrame | None = None, *, title: str | None = None
) -> Figure:
    """Box and strip plot of per-cell test AUROC per model, with published means as black markers.

    Each dot is one cell (mean over seeds); the solid line in a box is the median. Published means, in
    black: filled diamond right of the box = published mean over the same cells, open diamond = a
    third-party reproduction over the same cells, dashed line across the box = the mean the paper
    reports over all its cells (56 for TransferChrome Table 2).
    """
    if per_cell.empty:
        return _message_figure("no runs to show", title)
    models = order_models(per_cell["model"])
    n = len(models)
    rng = np.random.default_rng(0)  # fixed jitter: redraws give the same picture
    with matplotlib.rc_context(RC):
        has_published = published is not None and not published.empty
        width = max(4.5, 1.05 * n + 2.0) + (2.2 if has_published else 0.0)  # room for the legend
        fig = Figure(figsize=(width, 4.4), layout="constrained")
        ax = fig.add_subplot()
        data = [per_cell.loc[per_cell["model"] == m, "test_auroc_mean"].dropna().to_numpy(dtype=float) for m in models]
        box = ax.boxplot(
            data,
            positions=np.arange(n),
            widths=0.5,
            showfliers=False,
            patch_artist=True,
            medianprops={"color": "#222222", "linewidth": 1.2},
            whiskerprops={"color": "#555555"},
            capprops={"color": "#555555"},
        )
        for patch, model in zip(box["boxes"], models, strict=True):
            patch.set_facecolor(model_color(model))
            patch.set_alpha(0.35)
            patch.set_edgecolor("#555555")
        for i, (model, values) in enumerate(zip(models, data, strict=True)):
            jitter = rng.uniform(-0.14, 0.14, size=values.size)
            ax.scatter(i + jitter, values, s=14, color=model_color(model), edgecolor="white", linewidth=0.4, zorder=3)
        handles = []
        if has_published:
            pub = published[published["basis"] != "ours"]
            # (basis, kind) -> marker. Same-cells means sit just right of the box; the paper's mean over
            # all its cells is a dashed line across the box (the median is the solid one).
            styles = {
                ("same_cells", "published"): dict(
                    marker="D", facecolor=PUBLISHED_MARKER_COLOR, dx=0.40, label="published, same cells"
                ),
                ("same_cells", "third_party"): dict(
                    marker="D", facecolor="white", dx=0.51, label="third-party, same cells"
                ),
                ("source_cells", "published"): dict(
                    marker=None, facecolor=None, dx=0.0, label="paper's mean, all its cells"
                ),
            }
            shown: set[tuple[str, str]] = set()
            for i, model in enumerate(models):
                rows = pub[pub["model"] == model]
                for key, style in styles.items():
                    hit = rows[(rows["basis"] == key[0]) & (rows["kind"] == key[1])]["mean"].dropna()
                    if hit.empty:
                        continue
                    value = float(hit.iloc[0])  # the first row: report.py orders the sources by preference
                    if style["marker"] is None:
                        ax.plot(
                            [i - 0.31, i + 0.31],
                            [value, value],
                            color=PUBLISHED_MARKER_COLOR,
                            linewidth=1.6,
                            linestyle=(0, (3, 1.5)),
                            zorder=4,
                        )
                    else:
                        ax.plot(
                            [i + style["dx"]],
                            [value],
                            marker=style["marker"],
                            linestyle="none",
                            markersize=6,
                            markerfacecolor=style["facecolor"],
                            markeredgecolor=PUBLISHED_MARKER_COLOR,
                            markeredgewidth=1.0,
                            zorder=4,
                        )
                    shown.add(key)
            for key, style in styles.items():
                if key not in shown:
                    continue
                if style["marker"] is None:
                    handles.append(
                        Line2D(
                            [],
                            [],
                            color=PUBLISHED_MARKER_COLOR,
                            linewidth=1.6,
                            linestyle=(0, (3, 1.5)),
                            label=style["label"],
                        )
                    )
                else:
                    handles.append(
                        Line2D(
                            [],
                            [],
                            marker=style["marker"],
                            linestyle="none",
                            markersize=6,
                            markerfacecolor=style["facecolor"],
                            markeredgecolor=PUBLISHED_MARKER_COLOR,
                            label=style["label"],
                        )
                    )
        counts = [v.size for v in data]
        ax.set_xticks(np.arange(n))
        ax.set_xticklabels(
            [f"{m}\n({c} cells)" for m, c in zip(models, counts, strict=True)],
            rotation=30 if n > 4 else 0,
            ha="right" if n > 4 else "center",
        )
        ax.set_xlim(-0.6, n - 0.4)
        ax.set_ylabel(f"{AUROC_LABEL} per cell (mean over seeds)")
        ax.yaxis.grid(True, color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        if handles:
            fig.legend(handles=handles, loc="outside right upper", ncols=1, title="published means")
        if title:
            ax.set_title(title)
    return fig


def paired_scatter_figure(
    per_cell: pd.DataFrame,
    reference: str = "deepchrome",
    paired: pd.DataFrame | None = None,
    *,
    label_cells_up_to: int = 12,
    title: str | None = None,
) -> Figure:
    """One panel per model: its per-cell AUROC (y) against the reference model's (x), with y = x.

    Points above the diagonal are cells where the model beats the reference. Each panel states wins /
    losses / ties, the mean difference and the Wilcoxon p-value from ``paired`` when given; cells are
    labelled when there are at most ``label_cells_up_to`` of them.
    """
    if per_cell.empty or reference not in set(per_cell["model"]):
        return _message_figure(f"reference model '{reference}' has no runs: nothing to pair with", title)
    wide = per_cell.pivot_table(index="cell", columns="model", values="test_auroc_mean", aggfunc="first")
    others = [m for m in order_models(per_cell["model"]) if m != reference]
    if not others:
        return _message_figure(f"only the reference model '{reference}' has runs: nothing to compare", title)
    stats = paired.set_index("model") if paired is not None and not paired.empty else None

    values = wide.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()) - 0.01, float(finite.max()) + 0.01) if finite.size else (0.5, 1.0)
    ncols = min(3, len(others))
    nrows = math.ceil(len(others) / ncols)
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(3.7 * ncols + 0.3, 4.1 * nrows + 0.4), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, model in zip(axes, others, strict=False):
            both = wide[[reference, model]].dropna()
            ax.plot([lo, hi], [lo, hi], color="#888888", linestyle="--", linewidth=0.9, zorder=1)
            ax.scatter(
                both[reference], both[model], s=22, color=model_color(model), edgecolor="white", linewidth=0.5, zorder=3
            )
            if len(both) <= label_cells_up_to:
                for cell, row in both.iterrows():
                    ax.annotate(
                        str(cell),
                        (row[reference], row[model]),
                        xytext=(3, 3),
                        textcoords="offset points",
                        fontsize=7,
                        color="#444444",
                    )
            ax.set_xlim(lo, hi)
            ax.set_ylim(lo, hi)
            ax.set_aspect("equal")
            ax.set_xlabel(f"{reference} AUROC")
            ax.set_ylabel(f"{model} AUROC")
            heading = f"{model} ({len(both)} cells)"
            if stats is not None and model in stats.index:
                # in the title, not inside the axes: a text box would hide points
                s = stats.loc[model]
                p = float(s.get("p_value", np.nan))
                p_text = "n/a" if not np.isfinite(p) else (f"{p:.2g}" if p >= 1e-3 else f"{p:.1e}")
                diff = float(s["mean_difference"])
                diff_text = f"{diff:+.4f}" if np.isfinite(diff) else "n/a"
                heading += (
                    f"\nwins {int(s['wins'])} / losses {int(s['losses'])} / ties {int(s['ties'])}"
                    f"\nmean diff. {diff_text}, Wilcoxon p = {p_text}"
                )
            ax.set_title(heading, fontsize=RC["axes.titlesize"] - 1)
        for ax in axes[len(others) :]:
            ax.axis("off")
        fig.suptitle(title or f"per-cell test AUROC against {reference} (above the diagonal: better)")
    return fig
