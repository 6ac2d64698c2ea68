"""The single-cell section's figures, drawn from its tables only (no runs, no models): ``redraw`` draws them
all from the section's TSVs (the report job, and ``snakemake figures``).

Every function takes the tidy tables the report writes and returns a ``matplotlib.figure.Figure``;
``save_figure`` writes it as a 150-dpi PNG and a vector PDF, atomically. Figures are built with
``Figure()`` rather than pyplot, so nothing needs a display and no global figure state is kept.
Each figure is at most ``PAGE_WIDTH_IN`` (8 in, 1200 px at 150 dpi) wide, so a ~1200 px wide page
shows it at full size; many panels wrap onto a grid of at most four columns.

Tables (columns the functions read):

- ``per_cell``: one row per model and cell: ``model``, ``cell``, ``n_seeds``, ``test_auroc_mean``,
  ``test_auroc_sd`` (standard deviation over seeds, NaN with one seed), optionally ``converged``
  (boolean; False marks the bar as not converged).
- ``published``: the report's ``published_table2.tsv``: ``model`` (ours), ``basis`` (``ours`` |
  ``same_cells`` | ``source_cells``), ``kind`` (``published`` | ``third_party``), ``mean``.
- ``paired``: the report's ``paired_vs_{reference}.tsv``: ``model``, ``wins``, ``losses``, ``ties``,
  ``mean_difference``, ``p_value``.
- ``curves``: ``model``, ``cell``, ``seed``, ``epoch``, ``train_loss``, ``valid_loss``,
  ``valid_auroc`` (any may be NaN; scikit-learn models have one row or none).
- ``roc``: ``model``, ``cell``, ``seed``, ``fpr``, ``tpr``; the rows of one model, cell and seed, in
  order, are one curve.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import auc as area_under_curve

from chromexpr.evaluation.runs import CURVE_COLUMNS, ROC_COLUMNS
from chromexpr.plotting.base import (
    AUROC_LABEL,
    EDGE_COLOR,
    axis_ceiling,
    axis_floor,
    bar_handle,
    cell_colors,
    finish_bar_axis,
    format_p,
    grid,
    legend_columns,
    line_handle,
    message_figure,
    save_figure,
    sd_bars,
)
from chromexpr.plotting.style import (
    NOT_CONVERGED_HATCH,
    PAGE_WIDTH_IN,
    PUBLISHED_MARKER_COLOR,
    RC,
    assign_styles,
    order_models,
)
from chromexpr.reporting.files import require_table


def per_cell_auroc_figure(per_cell: pd.DataFrame, *, title: str | None = None, max_bars_per_row: int = 112) -> Figure:
    """Grouped bars of test AUROC per cell (TransferChrome Figure 3 layout).

    Cells on x (sorted by id), one bar per model in its colour (and hatch), error bars = standard
    deviation over seeds where a model has more than one seed for the cell. Many cells wrap onto
    several rows of panels (at most ``max_bars_per_row`` bars per row), so 56 cells x 14 models stay
    readable on a 1200 px page. The y axis starts just below the lowest value (stated on the axis),
    to make differences visible. Bars whose ``converged`` is False are cross-hatched and faded.
    """
    if per_cell.empty:
        return message_figure("no runs to show", title)
    models = order_models(per_cell["model"])
    styles = assign_styles(models)
    table = per_cell.assign(cell=per_cell["cell"].astype(str), model=per_cell["model"].astype(str))
    cells = sorted(table["cell"].unique())
    mean = table.pivot_table(index="cell", columns="model", values="test_auroc_mean", aggfunc="first")
    sd = table.pivot_table(index="cell", columns="model", values="test_auroc_sd", aggfunc="first", dropna=False)
    mean = mean.reindex(index=cells, columns=models)
    sd = sd.reindex(index=cells, columns=models)
    if "converged" in table.columns:
        flags = table.assign(_not=table["converged"].map(lambda v: v is False or v is np.False_ or v == 0))
        flags = flags.assign(_not=flags["_not"] & table["converged"].notna())
        not_converged = (
            flags.pivot_table(index="cell", columns="model", values="_not", aggfunc="max")
            .reindex(index=cells, columns=models)
            .fillna(False)
            .astype(bool)
        )
    else:
        not_converged = pd.DataFrame(False, index=cells, columns=models)

    n_models = len(models)
    per_row_max = max(1, max_bars_per_row // n_models)
    n_rows = math.ceil(len(cells) / per_row_max)
    per_row = math.ceil(len(cells) / n_rows)
    group_in = min(0.085 * n_models + 0.15, (PAGE_WIDTH_IN - 1.0) / per_row)  # inches per cell group
    width = float(np.clip(1.0 + per_row * group_in, 4.5, PAGE_WIDTH_IN))
    label_len = max(len(c) for c in cells)
    rotate = label_len * 0.07 > group_in  # tilt long (non-REMC) cell names
    row_in = (1.9 if n_rows == 1 else 1.35) + (0.05 * label_len if rotate else 0.0)
    legend_labels = list(models) + ["sd over seeds", "not converged"]
    legend_cols = legend_columns(legend_labels, width - 0.3)
    legend_in = 0.2 * math.ceil(len(legend_labels) / legend_cols) + 0.1
    height = 0.85 + legend_in + row_in * n_rows

    lows = (mean - sd.fillna(0)).to_numpy(dtype=float)
    highs = (mean + sd.fillna(0)).to_numpy(dtype=float)
    y0, y1 = axis_floor(lows), axis_ceiling(highs)
    bar_w = 0.82 / n_models

    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(width, height), layout="constrained")
        axes = fig.subplots(n_rows, 1, squeeze=False)[:, 0]
        for r, ax in enumerate(axes):
            row_cells = cells[r * per_row : (r + 1) * per_row]
            x = np.arange(len(row_cells))
            for j, model in enumerate(models):
                style = styles[model]
                m = mean.loc[row_cells, model].to_numpy(dtype=float)
                s = sd.loc[row_cells, model].to_numpy(dtype=float)
                bad = not_converged.loc[row_cells, model].to_numpy(dtype=bool)
                has_err = np.isfinite(s) & np.isfinite(m)
                offset = (j - (n_models - 1) / 2) * bar_w
                bars = ax.bar(
                    x + offset,
                    np.where(np.isfinite(m), m - y0, 0.0),
                    bottom=y0,
                    width=bar_w,
                    color=style.color,
                    linewidth=0.3,
                    label=model,
                )
                for patch, is_bad in zip(bars.patches, bad, strict=True):
                    if is_bad:
                        patch.set_hatch(NOT_CONVERGED_HATCH)
                        patch.set_edgecolor(EDGE_COLOR)
                        patch.set_alpha(0.55)
                    elif style.hatch:
                        patch.set_hatch(style.hatch)
                        patch.set_edgecolor(EDGE_COLOR)
                    else:
                        patch.set_edgecolor("white")
                if has_err.any():
                    sd_bars(
                        ax, (x + offset)[has_err], m[has_err], s[has_err], wide=bar_w * group_in > 0.08, label=model
                    )
            finish_bar_axis(ax, x, row_cells, rotate=rotate, per_row=per_row, ylim=(y0, y1))
        axes[-1].set_xlabel("cell")
        if n_rows > 1:
            fig.supylabel(f"{AUROC_LABEL} (mean over seeds; axis starts at {y0:.2f})")
        else:
            axes[0].set_ylabel(f"{AUROC_LABEL}\n(axis starts at {y0:.2f})")
        handles = [bar_handle(styles[m], m) for m in models]
        if np.isfinite(sd.to_numpy(dtype=float)).any():
            handles.append(
                Line2D([], [], color="#222222", marker="|", linestyle="none", markersize=8, label="sd over seeds")
            )
        if not_converged.to_numpy().any():
            handles.append(
                Patch(facecolor="white", edgecolor=EDGE_COLOR, hatch=NOT_CONVERGED_HATCH, label="not converged")
            )
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncols=legend_columns([h.get_label() for h in handles], width - 0.3),
            handlelength=1.4,
            columnspacing=1.0,
        )
        fig.suptitle(title or f"Test AUROC per cell ({len(cells)} cells, {n_models} models)")
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
        return message_figure("no runs to show", title)
    models = order_models(per_cell["model"])
    styles = assign_styles(models)
    n = len(models)
    rng = np.random.default_rng(0)  # fixed jitter: redraws give the same picture
    data = [
        per_cell.loc[per_cell["model"].astype(str) == m, "test_auroc_mean"].dropna().to_numpy(dtype=float)
        for m in models
    ]
    counts = [v.size for v in data]
    with matplotlib.rc_context(RC):
        has_published = published is not None and not published.empty
        width = float(np.clip(1.3 + 0.5 * n, 4.5, PAGE_WIDTH_IN))
        longest = max(len(m) for m in models)
        rotate = n > 4 or longest * 0.07 > 0.5
        height = 3.6 + (0.055 * longest if rotate else 0.2) + (0.3 if has_published else 0.0)
        fig = Figure(figsize=(width, height), layout="constrained")
        ax = fig.add_subplot()
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
            patch.set_facecolor(styles[model].color)
            patch.set_alpha(0.35)
            patch.set_edgecolor("#555555")
        dot_size = 14 if max(counts, default=0) <= 20 else 7
        for i, (model, values) in enumerate(zip(models, data, strict=True)):
            jitter = rng.uniform(-0.15, 0.15, size=values.size)
            ax.scatter(
                i + jitter,
                values,
                s=dot_size,
                color=styles[model].color,
                edgecolor="white",
                linewidth=0.3,
                zorder=3,
                label=model,
            )
        handles = []
        if has_published:
            pub = published[published["basis"] != "ours"]
            # (basis, kind) -> marker. Same-cells means sit just right of the box; the paper's mean over
            # all its cells is a dashed line across the box (the median is the solid one).
            styles_pub = {
                ("same_cells", "published"): dict(
                    marker="D", facecolor=PUBLISHED_MARKER_COLOR, dx=0.36, label="published, same cells"
                ),
                ("same_cells", "third_party"): dict(
                    marker="D", facecolor="white", dx=0.46, label="third-party, same cells"
                ),
                ("source_cells", "published"): dict(
                    marker=None, facecolor=None, dx=0.0, label="paper's mean, all its cells"
                ),
            }
            shown: set[tuple[str, str]] = set()
            for i, model in enumerate(models):
                rows = pub[pub["model"] == model]
                for key, style in styles_pub.items():
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
                            markersize=5,
                            markerfacecolor=style["facecolor"],
                            markeredgecolor=PUBLISHED_MARKER_COLOR,
                            markeredgewidth=1.0,
                            zorder=4,
                        )
                    shown.add(key)
            for key, style in styles_pub.items():
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
                            markersize=5,
                            markerfacecolor=style["facecolor"],
                            markeredgecolor=PUBLISHED_MARKER_COLOR,
                            label=style["label"],
                        )
                    )
        same_count = len(set(counts)) == 1
        ax.set_xticks(np.arange(n))
        ax.set_xticklabels(
            models if same_count else [f"{m} ({c})" for m, c in zip(models, counts, strict=True)],
            rotation=35 if rotate else 0,
            ha="right" if rotate else "center",
            rotation_mode="anchor" if rotate else "default",
        )
        ax.set_xlim(-0.6, n - 0.4)
        ax.set_ylabel(f"{AUROC_LABEL} per cell (mean over seeds)")
        ax.yaxis.grid(True, color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        if handles:
            fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), title="published means")
        cells_text = f"{counts[0]} cells per model" if same_count else "(n) = cells per model"
        fig.suptitle(title or f"Per-cell test AUROC per model ({cells_text}; dot = one cell, line = median)")
    return fig


#: candidate offsets (points) of a cell label from its point: right, left, above, below, diagonals
_LABEL_OFFSETS = ((4, -3), (-4, -3), (0, 5), (0, -11), (4, 4), (-4, 4), (4, -10), (-4, -10))
_LABEL_FONTSIZE = 6.5


def _label_points(ax, xs: pd.Series, ys: pd.Series, limits: tuple[float, float], panel_in: float) -> None:
    """Label each point with its cell, at the offset whose text box overlaps the fewest others.

    Greedy, in points on a square panel of ``panel_in`` inches: each label takes the first candidate
    offset that hits no placed label nor any point, else the one that hits the fewest.
    """
    span = limits[1] - limits[0]
    scale = panel_in * 72 / span  # points per AUROC unit
    pts = np.column_stack(
        [(xs.to_numpy(dtype=float) - limits[0]) * scale, (ys.to_numpy(dtype=float) - limits[0]) * scale]
    )
    placed: list[tuple[float, float, float, float]] = []
    char_w, text_h, r = _LABEL_FONTSIZE * 0.6, _LABEL_FONTSIZE * 1.0, 3.0

    def hits(box: tuple[float, float, float, float]) -> int:
        x0, y0, x1, y1 = box
        n = sum(not (x1 < a0 or a1 < x0 or y1 < b0 or b1 < y0) for a0, b0, a1, b1 in placed)
        return n + int(
            np.sum((pts[:, 0] > x0 - r) & (pts[:, 0] < x1 + r) & (pts[:, 1] > y0 - r) & (pts[:, 1] < y1 + r))
        )

    order = np.argsort(pts[:, 0])
    for k in order:
        text = str(xs.index[k])
        w = len(text) * char_w
        best = None
        for dx, dy in _LABEL_OFFSETS:
            x0 = pts[k, 0] + dx - (w if dx < 0 else (w / 2 if dx == 0 else 0))
            y0 = pts[k, 1] + dy
            box = (x0, y0, x0 + w, y0 + text_h)
            score = hits(box)
            if best is None or score < best[0]:
                best = (score, dx, dy, box)
            if score == 0:
                break
        _, dx, dy, box = best
        placed.append(box)
        ax.annotate(
            text,
            (xs.iloc[k], ys.iloc[k]),
            xytext=(dx, dy),
            textcoords="offset points",
            ha="right" if dx < 0 else ("center" if dx == 0 else "left"),
            va="bottom",
            fontsize=_LABEL_FONTSIZE,
            color="#444444",
        )


def paired_scatter_figure(
    per_cell: pd.DataFrame,
    reference: str = "deepchrome",
    paired: pd.DataFrame | None = None,
    *,
    label_cells_up_to: int = 6,
    title: str | None = None,
) -> Figure:
    """One panel per model: its per-cell AUROC (y) against the reference model's (x), with y = x.

    Points above the diagonal are cells where the model beats the reference. Panels wrap onto a grid
    of at most four columns; each title is the model, with wins / losses / ties, the mean difference
    and the Wilcoxon p-value from ``paired`` (when given) on a second line. Cells are labelled when
    there are at most ``label_cells_up_to`` of them.
    """
    if per_cell.empty or reference not in set(per_cell["model"]):
        return message_figure(f"reference model '{reference}' has no runs: nothing to pair with", title)
    wide = per_cell.pivot_table(index="cell", columns="model", values="test_auroc_mean", aggfunc="first")
    others = [m for m in order_models(per_cell["model"]) if m != reference]
    if not others:
        return message_figure(f"only the reference model '{reference}' has runs: nothing to compare", title)
    styles = assign_styles(per_cell["model"])
    stats = paired.set_index("model") if paired is not None and not paired.empty else None

    values = wide.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()) - 0.01, float(finite.max()) + 0.01) if finite.size else (0.5, 1.0)
    n_cells_all = int(wide[reference].notna().sum())
    nrows, ncols = grid(len(others))
    panel = min(2.6, (PAGE_WIDTH_IN - 0.5) / ncols)
    width = panel * ncols + 0.5
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(width, (panel + 0.45) * nrows + 0.8), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, model in zip(axes, others, strict=False):
            both = wide[[reference, model]].dropna()
            ax.plot([lo, hi], [lo, hi], color="#888888", linestyle="--", linewidth=0.8, zorder=1)
            ax.scatter(
                both[reference],
                both[model],
                s=26 if len(both) <= 20 else 12,
                color=styles[model].color,
                marker=styles[model].marker,
                edgecolor="#333333" if styles[model].variant else "white",
                linewidth=0.4,
                zorder=3,
                label=model,
            )
            if len(both) <= label_cells_up_to:
                _label_points(ax, both[reference], both[model], (lo, hi), 0.7 * panel)
            ax.set_xlim(lo, hi)
            ax.set_ylim(lo, hi)
            ax.set_aspect("equal")
            ax.xaxis.set_major_locator(MaxNLocator(4))
            ax.yaxis.set_major_locator(MaxNLocator(4))
            ax.tick_params(labelsize=7)
            ax.set_xlabel(f"{reference} AUROC", fontsize=7.5)
            ax.set_ylabel(f"{model} AUROC", fontsize=7.5)
            heading = model if len(both) == n_cells_all else f"{model} ({len(both)} cells)"
            if stats is not None and model in stats.index:
                # in the title, not inside the axes: a text box would hide points
                s = stats.loc[model]
                diff = float(s["mean_difference"])
                diff_text = f"{diff:+.3f}" if np.isfinite(diff) else "n/a"
                heading += (
                    f"\nW/L/T {int(s['wins'])}/{int(s['losses'])}/{int(s['ties'])} "
                    f"\u0394{diff_text} p {format_p(float(s.get('p_value', np.nan)))}"
                )
            ax.set_title(heading, fontsize=7)
        for ax in axes[len(others) :]:
            ax.axis("off")
        fig.suptitle(
            title
            or f"Per-cell test AUROC against {reference} ({n_cells_all} cells; above the diagonal: better)"
            + (
                "\nW/L/T = wins/losses/ties, \u0394 = mean difference, p = Wilcoxon p-value"
                if stats is not None
                else ""
            )
        )
    return fig


def training_curves_figure(curves: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Training curves: per model, loss per epoch (top panel) and validation AUROC (panel below).

    One column block per model, at most four per row. Lines are one cell and seed each, coloured by
    cell (the same colour in every panel): train loss solid, validation loss dashed, validation
    AUROC solid. A model with one row (a scikit-learn fit) is drawn as points.
    """
    need = ["model", "cell", "seed", "epoch", "train_loss", "valid_loss", "valid_auroc"]
    if curves is None or curves.empty:
        return message_figure("no training curves to show", title)
    table = curves.copy()
    for col in need:
        if col not in table.columns:
            table[col] = np.nan
    table["model"] = table["model"].astype(str)
    table["cell"] = table["cell"].astype(str)
    models = order_models(table["model"])
    cells = sorted(table["cell"].unique())
    colors = cell_colors(cells)
    blocks, ncols = grid(len(models))
    panel_w = min(2.6, (PAGE_WIDTH_IN - 0.4) / ncols)
    with matplotlib.rc_context(RC):
        legend_in = 0.5 if len(cells) <= 12 else 0.3
        fig = Figure(figsize=(panel_w * ncols + 0.4, 2.55 * blocks + 0.7 + legend_in), layout="constrained")
        axes = fig.subplots(2 * blocks, ncols, squeeze=False, gridspec_kw={"height_ratios": [1.3, 1.0] * blocks})
        for k in range(blocks * ncols):
            r, c = divmod(k, ncols)
            loss_ax, auc_ax = axes[2 * r, c], axes[2 * r + 1, c]
            if k >= len(models):
                loss_ax.axis("off")
                auc_ax.axis("off")
                continue
            model = models[k]
            rows = table[table["model"] == model]
            auc_ax.sharex(loss_ax)
            for (cell, seed), run in rows.groupby(["cell", "seed"], sort=True, dropna=False):
                run = run.sort_values("epoch")
                epoch = run["epoch"].to_numpy(dtype=float)
                single = len(run) == 1
                kw = {"color": colors[cell], "linewidth": 1.0, "marker": "o" if single else None, "markersize": 3.5}
                gid = f"{model}|{cell}|{seed}"
                for ax, col, ls in (
                    (loss_ax, "train_loss", "-"),
                    (loss_ax, "valid_loss", "--"),
                    (auc_ax, "valid_auroc", "-"),
                ):
                    y = run[col].to_numpy(dtype=float)
                    if np.isfinite(y).any():
                        (line,) = ax.plot(epoch, y, linestyle=ls, **kw)
                        line.set_gid(f"{gid}|{col}")
            loss_ax.set_title(model)
            for ax in (loss_ax, auc_ax):
                ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
                ax.yaxis.set_major_locator(MaxNLocator(4))
                ax.tick_params(labelsize=7)
                ax.grid(True, color="#eeeeee", linewidth=0.5)
            loss_ax.tick_params(labelbottom=False)
            if rows["epoch"].nunique(dropna=True) <= 1:
                epoch0 = float(rows["epoch"].dropna().iloc[0]) if rows["epoch"].notna().any() else 0.0
                auc_ax.set_xlim(epoch0 - 1, epoch0 + 1)
                auc_ax.set_xticks([epoch0])
            if not loss_ax.lines:
                loss_ax.text(0.5, 0.5, "no loss recorded", ha="center", va="center", transform=loss_ax.transAxes)
                loss_ax.set_yticks([])
            if not auc_ax.lines:
                auc_ax.text(0.5, 0.5, "no AUROC recorded", ha="center", va="center", transform=auc_ax.transAxes)
            if c == 0:
                loss_ax.set_ylabel("loss")
                auc_ax.set_ylabel("valid AUROC")
            auc_ax.set_xlabel("epoch", fontsize=7.5)
        handles = [
            Line2D([], [], color="#444444", linestyle="-", label="train loss / valid AUROC"),
            Line2D([], [], color="#444444", linestyle="--", label="valid loss"),
        ]
        if len(cells) <= 12:
            handles += [Line2D([], [], color=colors[c], linewidth=2, label=c) for c in cells]
            note = "colour = cell"
        else:
            note = f"colour = cell ({cells[0]} dark \u2192 {cells[-1]} yellow)"
        width = panel_w * ncols + 0.4
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncols=legend_columns([h.get_label() for h in handles], width - 0.3),
            handlelength=1.8,
        )
        fig.suptitle(title or f"Training curves ({len(models)} models, {len(cells)} cells); {note}")
    return fig


def roc_curves_figure(roc: pd.DataFrame, *, title: str | None = None) -> Figure:
    """ROC curves on the test set: one panel per cell, one curve per model (and seed), chance line.

    Curves take the model's colour, marker and line style. Each panel's legend gives each model's
    area under the curve (``sklearn.metrics.auc``; the mean over seeds when there are several);
    with more than four models the legend gives the areas only and a figure legend names the styles.
    """
    if roc is None or roc.empty:
        return message_figure("no ROC curves to show", title)
    table = roc.assign(model=roc["model"].astype(str), cell=roc["cell"].astype(str))
    if "seed" not in table.columns:
        table["seed"] = 0
    models = order_models(table["model"])
    styles = assign_styles(models)
    cells = sorted(table["cell"].unique())
    nrows, ncols = grid(len(cells))
    panel = min(3.0, (PAGE_WIDTH_IN - 0.4) / ncols)
    names_in_panels = len(models) <= 4
    with matplotlib.rc_context(RC):
        width = panel * ncols + 0.4
        top_in = 0.0 if names_in_panels else 0.2 * math.ceil(len(models) / legend_columns(models, width)) + 0.1
        fig = Figure(figsize=(width, (panel + 0.3) * nrows + 0.7 + top_in), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, cell in zip(axes, cells, strict=False):
            ax.plot([0, 1], [0, 1], color="#999999", linestyle=":", linewidth=0.8, label="_chance")
            rows = table[table["cell"] == cell]
            for model in models:
                style = styles[model]
                runs = [run for _, run in rows[rows["model"] == model].groupby("seed", sort=True, dropna=False)]
                if not runs:
                    continue
                areas = [
                    area_under_curve(run["fpr"].to_numpy(dtype=float), run["tpr"].to_numpy(dtype=float))
                    if len(run) > 1
                    else np.nan
                    for run in runs
                ]
                area = float(np.nanmean(areas)) if np.isfinite(areas).any() else np.nan
                area_text = f"{area:.3f}" if np.isfinite(area) else "n/a"
                if len(runs) > 1:
                    area_text += f" ({len(runs)} seeds)"
                for i, run in enumerate(runs):
                    ax.plot(
                        run["fpr"].to_numpy(dtype=float),
                        run["tpr"].to_numpy(dtype=float),
                        color=style.color,
                        linestyle=style.linestyle,
                        linewidth=1.1 if i == 0 else 0.7,
                        marker=style.marker,
                        markevery=0.25,
                        markersize=3.5,
                        label=(f"{model} {area_text}" if names_in_panels else area_text) if i == 0 else "_seed",
                        gid=f"{model}|{cell}|{run['seed'].iloc[0]}",
                    )
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1.005)
            ax.set_aspect("equal")
            ax.xaxis.set_major_locator(MaxNLocator(3))
            ax.yaxis.set_major_locator(MaxNLocator(3))
            ax.tick_params(labelsize=7)
            ax.set_title(cell)
            n_entries = len([line for line in ax.lines if not line.get_label().startswith("_")])
            ax.legend(
                loc="lower right",
                fontsize=6 if n_entries > 6 else 7,
                ncols=2 if n_entries > 7 else 1,
                title="AUC" if not names_in_panels else None,
                title_fontsize=6.5,
                handlelength=1.6,
                columnspacing=0.6,
                labelspacing=0.2,
                borderaxespad=0.2,
            )
        for ax in axes[len(cells) :]:
            ax.axis("off")
        for k, ax in enumerate(axes[: len(cells)]):
            if k + ncols >= len(cells):  # the lowest panel of its column
                ax.set_xlabel("false positive rate")
            if k % ncols == 0:
                ax.set_ylabel("true positive rate")
        if not names_in_panels:
            fig.legend(
                handles=[line_handle(styles[m], m) for m in models],
                loc="outside lower center",
                ncols=legend_columns(models, width - 0.3),
                handlelength=2.2,
            )
        fig.suptitle(title or f"Test ROC curves ({len(cells)} cells); dotted: chance")
    return fig


# --- the section's figures, redrawn from its tables ---------------------------------------------------


#: figure stems redraw always writes (besides one paired_vs_{reference} per paired table)
FIGURE_STEMS = ("per_cell_auroc", "auroc_distribution", "training_curves", "roc_curves")


def read_tsv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype={"model": str, "cell": str, "reference": str, "note": str})


def _optional(path: Path) -> pd.DataFrame | None:
    if not path.is_file() or path.stat().st_size == 0:
        return None
    table = read_tsv(path)
    return table if not table.empty else None


def redraw(
    tables_dir: str | Path,
    results_dir: str | Path | None = None,
    *,
    out_dir: str | Path | None = None,
    title: str | None = None,
) -> list[Path]:
    """Redraw every figure of the section from its TSVs alone (no runs, no models): PNG + PDF each.
    (``results_dir``, the workflow's results folder, is what every experiment's ``redraw`` takes; this one
    reads nothing there.)

    Reads ``per_cell_auroc.tsv`` (required; its boolean ``converged`` column marks runs that never beat
    chance), ``published_table2.tsv`` (markers, when present and not empty), every
    ``paired_vs_{reference}.tsv``, and ``training_curves.tsv`` / ``roc_curves.tsv`` where they exist
    (an empty table gives a figure that says so). Writes into ``out_dir`` (default ``tables_dir``).
    """
    tables_dir = Path(tables_dir)
    out_dir = Path(out_dir) if out_dir is not None else tables_dir
    per_cell_path = require_table(
        tables_dir / "per_cell_auroc.tsv",
        "per-cell AUROC",
        "build the report first (build_report / the 'report' target)",
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
