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

from chromexpr.errors import InputError
from chromexpr.evaluation.runs import CURVE_COLUMNS, ROC_COLUMNS
from chromexpr.models.registry import load_card
from chromexpr.plotting.base import (
    AUROC_LABEL,
    EDGE_COLOR,
    axis_ceiling,
    axis_floor,
    bar_handle,
    cell_colors,
    finish_bar_axis,
    fitted_suptitle,
    format_p,
    grid,
    legend_columns,
    message_figure,
    save_figure,
    sd_bars,
    text_width_in,
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
        fitted_suptitle(fig, title or f"Test AUROC per cell ({len(cells)} cells, {n_models} models)")
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
            fig.legend(
                handles=handles,
                loc="outside lower center",
                ncols=legend_columns([h.get_label() for h in handles], width - 0.3),
                title="published means",
            )
        cells_text = f"{counts[0]} cells per model" if same_count else "(n) = cells per model"
        fitted_suptitle(fig, title or f"Per-cell test AUROC per model ({cells_text}; dot = one cell, line = median)")
    return fig


#: candidate offsets (points) of a cell label from its point: right, left, above, below, diagonals; then the same
#: directions farther out (drawn with a thin leader line to the point)
_LABEL_OFFSETS = ((5, -3), (-5, -3), (0, 5), (0, -12), (5, 4), (-5, 4), (5, -10), (-5, -10))
_FAR = (2.6, 4.2)
_LABEL_FONTSIZE = 6.5


def _label_points(ax, xs: pd.Series, ys: pd.Series) -> None:
    """Label each point with its cell (the index of ``xs``), at the offset whose text box overlaps the fewest
    other labels and points and stays inside the axes.

    Greedy, in display units of the laid-out figure (call after ``draw_without_rendering``): each label takes the
    first candidate offset (``_LABEL_OFFSETS``, then the same directions farther out with a leader line) that hits
    no placed label, no point and does not leave the axes; else the one that hits the fewest. Labels are left out
    of the layout, so placing them moves nothing.
    """
    fig = ax.get_figure()
    px_per_pt = fig.dpi / 72
    pts = ax.transData.transform(np.column_stack([xs.to_numpy(dtype=float), ys.to_numpy(dtype=float)]))
    frame = ax.get_window_extent()
    placed: list[tuple[float, float, float, float]] = []
    text_h, r = _LABEL_FONTSIZE * 1.05 * px_per_pt, 3.5 * px_per_pt
    margin, gap = 1.5 * px_per_pt, 1.5 * px_per_pt

    def score(box: tuple[float, float, float, float], own: int) -> float:
        x0, y0, x1, y1 = box
        outside = x0 < frame.x0 + margin or x1 > frame.x1 - margin or y0 < frame.y0 + margin or y1 > frame.y1 - margin
        g = gap  # labels keep a small gap between them (the measured width is close to, not exactly, the drawn one)
        labels = sum(not (x1 + g < a0 or a1 + g < x0 or y1 + g < b0 or b1 + g < y0) for a0, b0, a1, b1 in placed)
        near = (pts[:, 0] > x0 - r) & (pts[:, 0] < x1 + r) & (pts[:, 1] > y0 - r) & (pts[:, 1] < y1 + r)
        near[own] = False
        return 100.0 * outside + 10.0 * labels + float(near.sum())

    candidates = [(dx, dy, 1.0) for dx, dy in _LABEL_OFFSETS] + [
        (dx * f, dy * f if dy else 0.0, f) for f in _FAR for dx, dy in _LABEL_OFFSETS
    ]
    for k in np.argsort(pts[:, 0], kind="stable"):
        text = str(xs.index[k])
        w = text_width_in(text, _LABEL_FONTSIZE) * 72 * px_per_pt
        best = None
        for rank, (dx, dy, far) in enumerate(candidates):
            x = pts[k, 0] + dx * px_per_pt
            x0 = x - (w if dx < 0 else (w / 2 if dx == 0 else 0))
            y0 = pts[k, 1] + dy * px_per_pt
            box = (x0, y0, x0 + w, y0 + text_h)
            s = score(box, k) + 0.01 * rank  # ties: the nearer, earlier candidate
            if best is None or s < best[0]:
                best = (s, dx, dy, far, box)
            if s < 1.0:
                break
        _, dx, dy, far, box = best
        placed.append(box)
        note = ax.annotate(
            text,
            (xs.iloc[k], ys.iloc[k]),
            xytext=(dx, dy),
            textcoords="offset points",
            ha="right" if dx < 0 else ("center" if dx == 0 else "left"),
            va="bottom",
            fontsize=_LABEL_FONTSIZE,
            color="#444444",
            arrowprops={"arrowstyle": "-", "color": "#999999", "linewidth": 0.4, "shrinkA": 0, "shrinkB": 2}
            if far > 1
            else None,
            gid=f"label|{text}",
        )
        note.set_in_layout(False)


def _equal_scale(ax) -> None:
    """Widen one of the (equal) limits of a laid-out panel so that one unit is as long on x as on y while the axes
    fill their box (a box shrunk to a square would push the titles of the right-hand column over the figure's
    edge)."""
    box = ax.get_window_extent()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    if box.width <= 0 or box.height <= 0:
        return
    ratio = (box.height / box.width) * (x1 - x0) / (y1 - y0)  # > 1: y needs a wider range
    if ratio > 1:
        mid, half = (y0 + y1) / 2, (y1 - y0) * ratio / 2
        ax.set_ylim(mid - half, mid + half)
    else:
        mid, half = (x0 + x1) / 2, (x1 - x0) / ratio / 2
        ax.set_xlim(mid - half, mid + half)


def _panel_limits(values: np.ndarray) -> tuple[float, float]:
    """Equal x and y limits of one scatter panel: its own points with a margin (room for the labels)."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return 0.5, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    pad = max(0.18 * (hi - lo), 0.01)
    return lo - pad, hi + pad


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

    n_cells_all = int(wide[reference].notna().sum())
    nrows, ncols = grid(len(others))
    panel = min(2.6, (PAGE_WIDTH_IN - 0.5) / ncols)
    width = max(panel * ncols + 0.5, 4.5)
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(width, (panel + 0.45) * nrows + 1.1), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        labelled = []
        for ax, model in zip(axes, others, strict=False):
            both = wide[[reference, model]].dropna()
            # each panel on its own scale (the same for x and y, so the diagonal is y = x): points spread over the
            # panel instead of sharing one corner of a range every model's values span
            lo, hi = _panel_limits(both.to_numpy(dtype=float))
            ax.axline((lo, lo), slope=1, color="#888888", linestyle="--", linewidth=0.8, zorder=1, gid="diagonal")
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
                labelled.append((ax, both))
            ax.set_xlim(lo, hi)
            ax.set_ylim(lo, hi)
            ax.xaxis.set_major_locator(MaxNLocator(3))
            ax.yaxis.set_major_locator(MaxNLocator(3))
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
        fitted_suptitle(
            fig,
            title
            or f"Per-cell test AUROC against {reference} ({n_cells_all} cells; above the diagonal: better)"
            + (
                "\nW/L/T = wins/losses/ties, \u0394 = mean difference, p = Wilcoxon p-value"
                if stats is not None
                else ""
            )
            + "; each panel on its own scale",
        )
        fig.draw_without_rendering()  # the layout: each panel's box is known
        for ax in axes[: len(others)]:
            _equal_scale(ax)
        for ax, both in labelled:  # in display units of the final layout
            _label_points(ax, both[reference], both[both.columns[1]])
    return fig


#: a one-shot model's per-cell values are listed in its panels up to this many cells (else mean and range)
ONE_SHOT_CELLS = 8


def _framework(model: str) -> str | None:
    """The card's ``framework`` (``torch``, ``sklearn``), None for a name without a card."""
    try:
        return str(load_card(model).get("framework") or "") or None
    except InputError:
        return None


def _one_shot_lines(rows: pd.DataFrame, column: str) -> list[str]:
    """The values of ``column`` of a one-shot model's runs: per cell (mean over seeds), or mean and range."""
    values = rows.groupby("cell", sort=True)[column].mean().dropna()
    if values.empty:
        return []
    if len(values) <= ONE_SHOT_CELLS:
        return [f"{cell}  {value:.3f}" for cell, value in values.items()]
    return [f"mean {values.mean():.3f} ({values.min():.3f}\u2013{values.max():.3f}), {len(values)} cells"]


def _one_shot_panels(loss_ax, auc_ax, model: str, rows: pd.DataFrame) -> None:
    """The panels of a model fitted once (one row per run: a scikit-learn fit, or a single epoch): a text that
    says so and gives the values, instead of a lone dot per run on an epoch axis."""
    torch = _framework(model) == "torch"
    head = "trained one epoch only: no curve" if torch else "fitted once (no epochs): no curve"
    seeds = rows["seed"].nunique(dropna=True)
    loss_lines = [head]
    for column, word in (("train_loss", "train loss"), ("valid_loss", "valid loss")):
        values = rows.groupby("cell", sort=True)[column].mean().dropna()
        if len(values):
            loss_lines.append(f"{word} {values.mean():.3f} (cells {values.min():.3f}\u2013{values.max():.3f})")
    if len(loss_lines) == 1:
        loss_lines.append("no loss recorded")
    auroc = _one_shot_lines(rows, "valid_auroc")
    per = "valid AUROC per cell" + (f"\n(mean of {seeds} seeds)" if seeds > 1 else "") + ":"
    auc_lines = [per, *auroc] if auroc else ["no AUROC recorded"]
    for ax, lines, what in ((loss_ax, loss_lines, "loss"), (auc_ax, auc_lines, "auroc")):
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
        note = ax.text(
            0.03,
            0.95,
            "\n".join(lines),
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize=6.5,
            linespacing=1.35,
            family="DejaVu Sans Mono" if what == "auroc" else None,
            gid=f"{model}|one_shot|{what}",
        )
        note.set_in_layout(False)  # a long line must not widen the panel's column
        ax.set_facecolor("#f7f7f7")


def training_curves_figure(curves: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Training curves: per model, loss per epoch (top panel) and validation AUROC (panel below).

    One column block per model, at most four per row. Lines are one cell and seed each, coloured by
    cell (the same colour in every panel): train loss solid, validation loss dashed, validation
    AUROC solid; each line's gid is ``model|cell|seed|column``. A model with one row per run (a
    scikit-learn fit, or a single epoch) has no curve: its panels say so in a text (gid
    ``model|one_shot|loss`` / ``model|one_shot|auroc``) with its losses and per-cell validation AUROC.
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
            loss_ax.set_title(model)
            if int(rows.groupby(["cell", "seed"], sort=False, dropna=False).size().max()) <= 1:
                _one_shot_panels(loss_ax, auc_ax, model, rows)
                continue
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
            for ax in (loss_ax, auc_ax):
                ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
                ax.yaxis.set_major_locator(MaxNLocator(4))
                ax.tick_params(labelsize=7)
                ax.grid(True, color="#eeeeee", linewidth=0.5)
            loss_ax.tick_params(labelbottom=False)
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
        fitted_suptitle(fig, title or f"Training curves ({len(models)} models, {len(cells)} cells); {note}")
    return fig


#: up to this many models, one ROC panel per cell with every model in it; more: one panel per model
ROC_MODELS_PER_PANEL = 4
#: a per-model ROC panel's legend lists each cell and its AUC up to this many cells
ROC_LEGEND_CELLS = 8


def _roc_runs(rows: pd.DataFrame) -> tuple[list[pd.DataFrame], float, str]:
    """The runs (one per seed) of one model and cell, their mean area under the curve, and its text."""
    runs = [run for _, run in rows.groupby("seed", sort=True, dropna=False)]
    areas = [
        area_under_curve(run["fpr"].to_numpy(dtype=float), run["tpr"].to_numpy(dtype=float)) if len(run) > 1 else np.nan
        for run in runs
    ]
    area = float(np.nanmean(areas)) if np.isfinite(areas).any() else np.nan
    text = f"{area:.3f}" if np.isfinite(area) else "n/a"
    if len(runs) > 1:
        text += f" ({len(runs)} seeds)"
    return runs, area, text


def _roc_axis(ax) -> None:
    ax.plot([0, 1], [0, 1], color="#999999", linestyle=":", linewidth=0.8, label="_chance")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.005)
    ax.set_aspect("equal")
    ax.xaxis.set_major_locator(MaxNLocator(3))
    ax.yaxis.set_major_locator(MaxNLocator(3))
    ax.tick_params(labelsize=7)


def roc_curves_figure(roc: pd.DataFrame, *, title: str | None = None) -> Figure:
    """ROC curves on the test set, the chance line dotted; each curve's gid is ``model|cell|seed``.

    Up to ``ROC_MODELS_PER_PANEL`` models: one panel per cell, one curve per model (and seed) in the model's colour,
    marker and line style, the panel's legend naming each model with its area under the curve
    (``sklearn.metrics.auc``; the mean over seeds when there are several). More models: one panel per model (titled
    with its name), one curve per cell coloured by cell (as in the training curves), the legend giving each cell's
    area (up to ``ROC_LEGEND_CELLS`` cells; beyond, the title gives the mean and range of the areas).
    """
    if roc is None or roc.empty:
        return message_figure("no ROC curves to show", title)
    table = roc.assign(model=roc["model"].astype(str), cell=roc["cell"].astype(str))
    if "seed" not in table.columns:
        table["seed"] = 0
    models = order_models(table["model"])
    cells = sorted(table["cell"].unique())
    if len(models) <= ROC_MODELS_PER_PANEL:
        return _roc_by_cell(table, models, cells, title)
    return _roc_by_model(table, models, cells, title)


def _roc_by_cell(table: pd.DataFrame, models: list[str], cells: list[str], title: str | None) -> Figure:
    styles = assign_styles(models)
    nrows, ncols = grid(len(cells))
    panel = min(3.0, (PAGE_WIDTH_IN - 0.4) / ncols)
    with matplotlib.rc_context(RC):
        width = max(panel * ncols + 0.4, 4.0)
        fig = Figure(figsize=(width, (panel + 0.3) * nrows + 0.7), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, cell in zip(axes, cells, strict=False):
            _roc_axis(ax)
            rows = table[table["cell"] == cell]
            for model in models:
                style = styles[model]
                part = rows[rows["model"] == model]
                if part.empty:
                    continue
                runs, _, area_text = _roc_runs(part)
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
                        label=f"{model} {area_text}" if i == 0 else "_seed",
                        gid=f"{model}|{cell}|{run['seed'].iloc[0]}",
                    )
            ax.set_title(cell)
            ax.legend(
                loc="lower right",
                fontsize=7,
                title="model  AUC",
                title_fontsize=6.5,
                frameon=True,
                framealpha=0.85,
                edgecolor="none",
                handlelength=1.6,
                labelspacing=0.2,
                borderaxespad=0.2,
            )
        _finish_roc_grid(axes, len(cells), ncols)
        fitted_suptitle(fig, title or f"Test ROC curves ({len(cells)} cells); dotted: chance")
    return fig


def _roc_by_model(table: pd.DataFrame, models: list[str], cells: list[str], title: str | None) -> Figure:
    colors = cell_colors(cells)
    nrows, ncols = grid(len(models))
    panel = min(3.0, (PAGE_WIDTH_IN - 0.4) / ncols)
    panel_legends = len(cells) <= ROC_LEGEND_CELLS
    figure_legend = not panel_legends and len(cells) <= 12
    with matplotlib.rc_context(RC):
        width = panel * ncols + 0.4
        legend_in = 0.2 * math.ceil(len(cells) / legend_columns(cells, width - 0.3)) + 0.1 if figure_legend else 0.0
        fig = Figure(figsize=(width, (panel + 0.35) * nrows + 0.8 + legend_in), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, model in zip(axes, models, strict=False):
            _roc_axis(ax)
            rows = table[table["model"] == model]
            areas = []
            for cell in cells:
                part = rows[rows["cell"] == cell]
                if part.empty:
                    continue
                runs, area, area_text = _roc_runs(part)
                areas.append(area)
                for i, run in enumerate(runs):
                    ax.plot(
                        run["fpr"].to_numpy(dtype=float),
                        run["tpr"].to_numpy(dtype=float),
                        color=colors[cell],
                        linewidth=1.0 if i == 0 else 0.6,
                        label=f"{cell} {area_text}" if i == 0 else "_seed",
                        gid=f"{model}|{cell}|{run['seed'].iloc[0]}",
                    )
            finite = np.asarray(areas, dtype=float)
            finite = finite[np.isfinite(finite)]
            heading = model
            if not panel_legends and finite.size:
                heading += f"\nAUC {finite.mean():.3f} ({finite.min():.3f}\u2013{finite.max():.3f})"
            ax.set_title(heading, fontsize=8)
            if panel_legends:
                ax.legend(
                    loc="lower right",
                    fontsize=6,
                    title="cell  AUC",
                    title_fontsize=6,
                    frameon=True,
                    framealpha=0.85,
                    edgecolor="none",
                    handlelength=1.0,
                    handletextpad=0.4,
                    labelspacing=0.15,
                    borderaxespad=0.15,
                )
        _finish_roc_grid(axes, len(models), ncols)
        if figure_legend:
            fig.legend(
                handles=[Line2D([], [], color=colors[c], linewidth=2, label=c) for c in cells],
                loc="outside lower center",
                ncols=legend_columns(cells, width - 0.3),
            )
        note = (
            "colour = cell"
            if panel_legends or figure_legend
            else f"colour = cell ({cells[0]} dark \u2192 {cells[-1]} yellow)"
        )
        fitted_suptitle(
            fig, title or f"Test ROC curves, one panel per model ({len(models)} models, {len(cells)} cells); {note}"
        )
    return fig


def _finish_roc_grid(axes, n_panels: int, ncols: int) -> None:
    for ax in axes[n_panels:]:
        ax.axis("off")
    for k, ax in enumerate(axes[:n_panels]):
        if k + ncols >= n_panels:  # the lowest panel of its column
            ax.set_xlabel("false positive rate", fontsize=8)
        if k % ncols == 0:
            ax.set_ylabel("true positive rate", fontsize=8)


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
