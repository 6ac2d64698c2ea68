"""The figures of the cross-cell transfer experiment (TransferChrome Fig. 4 and the domain classifier's curves),
drawn from the transfer section's tables only (``per_target.tsv``, ``domain_curves.tsv``): ``redraw`` draws them
all from the section's TSVs (the report job, and ``snakemake figures``).

Tables (columns the functions read):

- ``per_target``: one row per Table 3 row, target and seed: ``row`` (``TransferChrome_cross``, ``DeepChrome``,
  ...), ``base_model``, ``variant`` (``origin`` | ``uncross`` | ``cross``), ``target``, ``seed``,
  ``test_auroc``; optionally ``source`` and ``protocol`` (named in the title).
- ``curves``: one row per cross run and epoch: ``target``, ``seed``, ``epoch``, ``domain_loss``,
  ``domain_accuracy``, ``grl_lambda`` (any may be NaN).

A base model keeps its colour of every other figure (``chromexpr.plotting.style``); its variants differ in
lightness and hatch: origin (trained on the target itself) full colour, uncross (trained on the source) a light
tint hatched ``////``, cross (with the domain classifier) a dark shade hatched ``....``.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from chromexpr.experiments.transfer.evaluate import CURVE_COLUMNS, ROW_ORDER
from chromexpr.experiments.transfer.plan import TRANSFER_FIGURE_STEMS
from chromexpr.plotting.base import (
    AUROC_LABEL,
    axis_ceiling,
    axis_floor,
    cell_colors,
    finish_bar_axis,
    legend_columns,
    message_figure,
    save_figure,
    sd_bars,
)
from chromexpr.plotting.style import PAGE_WIDTH_IN, RC, model_color
from chromexpr.reporting.files import require_table

#: the stems ``redraw`` writes, as the plan declares them: Fig. 4, then the domain curves
FIG4_STEM, CURVES_STEM = TRANSFER_FIGURE_STEMS
VARIANT_ORDER = ("origin", "uncross", "cross")
#: (mix towards white (> 0) or black (< 0), hatch) per variant
VARIANT_LOOK = {"origin": (0.0, ""), "uncross": (0.55, "////"), "cross": (-0.35, "....")}
CHANCE_LABEL = "chance: domains indistinguishable"
LOG2 = math.log(2.0)


def _mix(color: str, amount: float) -> str:
    """``color`` mixed towards white (``amount`` > 0) or black (< 0) by ``|amount|``."""
    rgb = np.array(to_rgb(color))
    other = np.ones(3) if amount > 0 else np.zeros(3)
    return to_hex((1 - abs(amount)) * rgb + abs(amount) * other)


def variant_look(base_model: str, variant: str) -> dict[str, object]:
    """Face colour, hatch and edge colour of a bar of ``base_model``'s ``variant``."""
    amount, hatch = VARIANT_LOOK.get(str(variant), (0.0, "xxxx"))
    base = model_color(str(base_model))
    face = _mix(base, amount)
    # a hatch takes the edge colour: dark on the light uncross tint, light on the dark cross shade
    edge = _mix(base, -0.45) if variant == "uncross" else (_mix(base, 0.6) if variant == "cross" else "white")
    return {"facecolor": face, "hatch": hatch, "edgecolor": edge}


def _rows_present(table: pd.DataFrame) -> list[str]:
    unique = {str(r) for r in table["row"]}
    return [r for r in ROW_ORDER if r in unique] + sorted(unique - set(ROW_ORDER))


def _joined(table: pd.DataFrame, column: str) -> str:
    if column not in table.columns:
        return ""
    return ", ".join(sorted({str(v) for v in table[column].dropna() if str(v)}))


def per_target_figure(per_target: pd.DataFrame, *, title: str | None = None, max_bars_per_row: int = 112) -> Figure:
    """TransferChrome Fig. 4: grouped bars of test AUROC per target cell.

    One group per target (sorted by id), one bar per Table 3 row present (in the paper's row order): the mean
    over seeds, with the standard deviation over seeds as an error bar where a target has more than one seed.
    Colours follow the base model, lightness and hatch the variant (see the module docstring). Many targets wrap
    onto several rows of panels (at most ``max_bars_per_row`` bars per row: 55 targets x 7 rows fit on four).
    The y axis starts just below the lowest value (stated on the axis). Each bar's gid is ``row|target``.
    """
    if per_target is None or per_target.empty:
        return message_figure("no transfer runs to show", title or "Fig. 4: test AUROC per target cell")
    table = per_target.assign(
        row=per_target["row"].astype(str),
        target=per_target["target"].astype(str),
        base_model=per_target["base_model"].astype(str),
        variant=per_target["variant"].astype(str),
    )
    rows = _rows_present(table)
    looks = {}
    for row in rows:
        first = table[table["row"] == row].iloc[0]
        looks[row] = variant_look(first["base_model"], first["variant"])
    targets = sorted(table["target"].unique())
    g = table.groupby(["target", "row"])["test_auroc"]
    mean = g.mean().unstack("row").reindex(index=targets, columns=rows)
    sd = g.std(ddof=1).unstack("row").reindex(index=targets, columns=rows)

    n_bars = len(rows)
    per_row_max = max(1, max_bars_per_row // n_bars)
    n_panels = math.ceil(len(targets) / per_row_max)
    per_row = math.ceil(len(targets) / n_panels)
    group_in = min(0.11 * n_bars + 0.2, (PAGE_WIDTH_IN - 1.0) / per_row)
    width = float(np.clip(1.0 + per_row * group_in, 5.0, PAGE_WIDTH_IN))
    label_len = max(len(t) for t in targets)
    rotate = label_len * 0.075 > group_in
    panel_in = (2.0 if n_panels == 1 else 1.4) + (0.05 * label_len if rotate else 0.0)
    has_sd = bool(np.isfinite(sd.to_numpy(dtype=float)).any())
    legend_labels = rows + (["sd over seeds"] if has_sd else [])
    legend_cols = legend_columns(legend_labels, width - 0.3)
    legend_in = 0.22 * math.ceil(len(legend_labels) / legend_cols) + 0.15
    height = 0.9 + legend_in + panel_in * n_panels

    lows = (mean - sd.fillna(0)).to_numpy(dtype=float)
    highs = (mean + sd.fillna(0)).to_numpy(dtype=float)
    y0, y1 = axis_floor(lows), axis_ceiling(highs)
    bar_w = 0.84 / n_bars
    source, protocol = _joined(table, "source"), _joined(table, "protocol")
    seeds = int(table["seed"].nunique()) if "seed" in table.columns else 1

    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(width, height), layout="constrained")
        axes = fig.subplots(n_panels, 1, squeeze=False)[:, 0]
        for p, ax in enumerate(axes):
            panel_targets = targets[p * per_row : (p + 1) * per_row]
            x = np.arange(len(panel_targets))
            for j, row in enumerate(rows):
                look = looks[row]
                m = mean.loc[panel_targets, row].to_numpy(dtype=float)
                s = sd.loc[panel_targets, row].to_numpy(dtype=float)
                offset = (j - (n_bars - 1) / 2) * bar_w
                finite = np.isfinite(m)
                bars = ax.bar(
                    (x + offset)[finite],
                    (m - y0)[finite],
                    bottom=y0,
                    width=bar_w,
                    color=look["facecolor"],
                    edgecolor=look["edgecolor"],
                    hatch=look["hatch"] or None,
                    linewidth=0.3,
                    label=row,
                )
                for patch, target in zip(bars.patches, np.asarray(panel_targets)[finite], strict=True):
                    patch.set_gid(f"{row}|{target}")
                has_err = np.isfinite(s) & finite
                if has_err.any():
                    sd_bars(ax, (x + offset)[has_err], m[has_err], s[has_err], wide=bar_w * group_in > 0.08, label=row)
            finish_bar_axis(ax, x, panel_targets, rotate=rotate, per_row=per_row, ylim=(y0, y1))
        axes[-1].set_xlabel("target cell" + (f" (source {source})" if source else ""))
        ylabel = f"{AUROC_LABEL} (mean over seeds; axis starts at {y0:.2f})"
        if n_panels > 1:
            fig.supylabel(ylabel)
        else:
            axes[0].set_ylabel(f"{AUROC_LABEL}\n(axis starts at {y0:.2f})")
        handles = [
            Patch(
                facecolor=looks[r]["facecolor"],
                edgecolor=looks[r]["edgecolor"],
                hatch=looks[r]["hatch"] or None,
                linewidth=0.3,
                label=r,
            )
            for r in rows
        ]
        if has_sd:
            handles.append(Line2D([], [], color="#222222", linewidth=0.8, label="sd over seeds"))
        fig.legend(handles=handles, loc="outside lower center", ncols=legend_cols, handlelength=1.6)
        if title is None:
            details = [f"{len(targets)} target{'s' if len(targets) != 1 else ''}"]
            details += [f"source {source}"] if source else []
            details += [f"protocol {protocol}"] if protocol else []
            details += [f"mean over {seeds} seeds"] if seeds > 1 else []
            head, tail = "Fig. 4: test AUROC per target cell", f"({', '.join(details)})"
            # ~0.55 em per character at the title's 11 pt: break the line rather than clip it
            one_line = (len(head) + len(tail) + 1) * 11 * 0.55 / 72 < width - 0.2
            title = f"{head} {tail}" if one_line else f"{head}\n{tail}"
        fig.suptitle(title)
    return fig


#: (column, y label, reference line: (y, label) or None) of the domain-curve panels, left to right
_DOMAIN_PANELS = (
    ("domain_accuracy", "domain accuracy", (0.5, CHANCE_LABEL)),
    ("domain_loss", "domain loss", (LOG2, "log 2: chance loss for balanced domains")),
    ("grl_lambda", "GRL \u03bb", None),
)


def domain_curves_figure(curves: pd.DataFrame, *, title: str | None = None) -> Figure:
    """The domain classifier of the cross runs per epoch: accuracy, loss and the gradient-reversal weight.

    Three panels side by side: ``domain_accuracy`` (the fraction of adaptation genes whose domain, source or
    target, is predicted right) with a dashed line at 0.5, ``CHANCE_LABEL``: adaptation succeeds when the
    features no longer tell the cells apart; ``domain_loss`` with a dotted line at log 2; ``grl_lambda`` (the
    weight of the reversed gradient). One line per target and seed, coloured by target (the same colour in each
    panel); the black line is the mean over runs per epoch. Each line's gid is ``target|seed|column``.
    """
    if curves is None or curves.empty:
        return message_figure("no cross runs with a domain classifier to show", title or "Domain classifier")
    table = curves.copy()
    for col in ("seed", "domain_accuracy", "domain_loss", "grl_lambda"):
        if col not in table.columns:
            table[col] = np.nan
    table["target"] = table["target"].astype(str)
    targets = sorted(table["target"].unique())
    colors = cell_colors(targets)
    many = len(targets) > 12
    with matplotlib.rc_context(RC):
        handles: list = [
            Line2D([], [], color="#222222", linewidth=1.8, label="mean over runs"),
            Line2D([], [], color="#666666", linestyle="--", linewidth=1.0, label=CHANCE_LABEL),
            Line2D(
                [], [], color="#666666", linestyle=":", linewidth=1.0, label="log 2 (chance loss, balanced domains)"
            ),
        ]
        if not many:
            handles += [Line2D([], [], color=colors[t], linewidth=1.6, label=t) for t in targets]
        width = PAGE_WIDTH_IN
        legend_cols = legend_columns([h.get_label() for h in handles], width - 0.3)
        legend_in = 0.22 * math.ceil(len(handles) / legend_cols) + 0.1
        fig = Figure(figsize=(width, 2.6 + 0.7 + legend_in), layout="constrained")
        axes = fig.subplots(1, len(_DOMAIN_PANELS), squeeze=False, sharex=True)[0]
        for ax, (col, label, reference) in zip(axes, _DOMAIN_PANELS, strict=True):
            for (target, seed), run in table.groupby(["target", "seed"], sort=True, dropna=False):
                run = run.sort_values("epoch")
                y = run[col].to_numpy(dtype=float)
                if not np.isfinite(y).any():
                    continue
                ax.plot(
                    run["epoch"].to_numpy(dtype=float),
                    y,
                    color=colors[target],
                    linewidth=0.8 if many else 1.1,
                    alpha=0.7 if many else 0.9,
                    marker="o" if len(run) == 1 else None,
                    markersize=3,
                    gid=f"{target}|{seed}|{col}",
                )
            values = table[["epoch", col]].dropna()
            if values.empty:
                ax.text(0.5, 0.5, "not recorded", ha="center", va="center", transform=ax.transAxes)
            else:
                avg = values.groupby("epoch")[col].mean()
                if table.groupby(["target", "seed"], dropna=False).ngroups > 1:
                    ax.plot(
                        avg.index.to_numpy(dtype=float),
                        avg.to_numpy(dtype=float),
                        color="#222222",
                        linewidth=2.2,
                        gid=f"mean|{col}",
                        zorder=1.5,  # under the runs' lines: a halo where they coincide
                    )
            if reference is not None:
                y_ref, ref_label = reference
                ax.axhline(
                    y_ref,
                    color="#666666",
                    linestyle="--" if col == "domain_accuracy" else ":",
                    linewidth=1.0,
                    label=ref_label,
                    gid=f"reference|{col}",
                    zorder=1,
                )
            if col == "domain_accuracy":
                known = table[col].dropna()
                low, high = (float(known.min()), float(known.max())) if len(known) else (0.5, 1.0)
                ax.set_ylim(min(0.45, low - 0.02), min(1.01, max(0.6, high + 0.03)))
            ax.set_ylabel(label)
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(5))
            ax.grid(True, color="#eeeeee", linewidth=0.5)
        fig.legend(handles=handles, loc="outside lower center", ncols=legend_cols, handlelength=1.8)
        n_runs = table.groupby(["target", "seed"], dropna=False).ngroups
        note = f"colour = target ({targets[0]} dark \u2192 {targets[-1]} yellow)" if many else "colour = target"
        fig.suptitle(
            title
            or f"Domain classifier of the cross runs ({n_runs} run{'s' if n_runs != 1 else ''}, "
            f"{len(targets)} target{'s' if len(targets) != 1 else ''}); {note}"
        )
    return fig


def _read_tsv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype={"row": str, "target": str, "base_model": str, "variant": str})


def redraw(
    section_dir: str | Path,
    results_dir: str | Path | None = None,
    *,
    out_dir: str | Path | None = None,
) -> list[Path]:
    """Redraw Fig. 4 and the domain curves from ``per_target.tsv`` / ``domain_curves.tsv`` alone (PNG + PDF).
    (``results_dir``, the workflow's results folder, is what every experiment's ``redraw`` takes; this one
    reads nothing there.)

    ``per_target.tsv`` is required; a missing or empty ``domain_curves.tsv`` gives a figure that says there
    is nothing to show. Writes into ``out_dir`` (default ``section_dir``).
    """
    section_dir = Path(section_dir)
    out_dir = Path(out_dir) if out_dir is not None else section_dir
    per_target_path = require_table(
        section_dir / "per_target.tsv", "per-target", "build the transfer section first (build_transfer_section)"
    )
    per_target = _read_tsv(per_target_path)
    curves_path = section_dir / "domain_curves.tsv"
    curves = (
        _read_tsv(curves_path)
        if curves_path.is_file() and curves_path.stat().st_size
        else pd.DataFrame(columns=CURVE_COLUMNS)
    )
    written = save_figure(per_target_figure(per_target), out_dir / FIG4_STEM)
    written += save_figure(domain_curves_figure(curves), out_dir / CURVES_STEM)
    return written
