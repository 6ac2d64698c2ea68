"""The figures of the differential-expression experiment (DeepDiff Figs. 4 and 5 and a scatter of predicted against
true log fold change), drawn from the differential section's tables only; ``redraw`` draws all three from the
section's folder (``per_pair.tsv``, ``attention.tsv``, ``scatter.tsv.gz``).

Tables (columns the functions read):

- ``per_pair``: one row per model and pair: ``model``, ``name`` (the paper's name), ``kind`` (``variant`` |
  ``baseline``), ``pair`` (``E003_vs_E123``), ``test_pearson_mean``, ``test_pearson_sd`` (NaN with one seed), and
  optionally ``n_seeds``, ``is_best_variant`` (the text label of Fig. 4; computed from the bars when absent).
  Models are drawn in the order of their first row, pairs in the order of theirs.
- ``attention``: one row per model, slot and direction: ``model``, ``name``, ``pair``, ``threshold``,
  ``slot_index``, ``slot`` (``A H3K4me1``), ``direction`` (``up`` | ``down``), ``n_genes``, ``mean_attention``.
- ``scatter``: one row per pair, role and test gene: ``pair``, ``model``, ``name``, ``role`` (``best variant`` |
  ``two-layer SVR``), ``seed``, ``lfc`` (true), ``prediction``.

The DeepDiff variants are solid bars in seven distinct colours; the baselines are hatched, in greys and two muted
colours (AttentiveChrome keeps its colour of the single-cell figures), so a bar's family shows at a glance.
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
from matplotlib.ticker import MaxNLocator

from chromexpr.experiments.differential.evaluate import ATTENTION_TABLE_COLUMNS, SCATTER_COLUMNS
from chromexpr.plotting.base import finish_bar_axis, grid, legend_columns, message_figure, save_figure, sd_bars
from chromexpr.plotting.style import PAGE_WIDTH_IN, RC, model_color, model_style
from chromexpr.reporting.files import require_table

#: (face colour, hatch) of each model of the experiment
MODEL_LOOK: dict[str, tuple[str, str]] = {
    "deepdiff_raw_d": ("#9ecae1", ""),
    "deepdiff_raw_c": ("#3182bd", ""),
    "deepdiff_raw": ("#08519c", ""),
    "deepdiff_aux": ("#74c476", ""),
    "deepdiff_raw_aux": ("#238b45", ""),
    "deepdiff_aux_siamese": ("#d62728", ""),
    "deepdiff_raw_aux_siamese": ("#9467bd", ""),
    "svr_best_bin": ("#d9d9d9", "////"),
    "svr_two_layer": ("#969696", "////"),
    "svr_two_layer_levels": ("#636363", "xxxx"),
    "relieff_rf": ("#c7b66b", "...."),
    "attentivechrome_diff": (model_color("attentivechrome"), "\\\\\\\\"),
}
EDGE = "#333333"
UP_COLOR = "#111111"
DOWN_COLOR = "#a6a6a6"
BEST_ROLE = "best variant"
SVR_ROLE = "two-layer SVR"
PCC_LABEL = "test PCC (predicted vs true LFC)"


def model_look(model: str, kind: str = "") -> dict[str, object]:
    """Face colour, hatch and edge colour of a model's bars (an unknown model: its style colour, hatched when it is
    not a variant)."""
    if model in MODEL_LOOK:
        face, hatch = MODEL_LOOK[model]
    else:
        style = model_style(str(model))
        face, hatch = style.color, ("" if kind == "variant" else "xxxx")
    return {"facecolor": face, "hatch": hatch, "edgecolor": EDGE if hatch else "white"}


def _kind(table: pd.DataFrame) -> dict[str, str]:
    if "kind" in table.columns:
        return {str(m): str(k) for m, k in zip(table["model"], table["kind"], strict=True)}
    return {str(m): ("variant" if str(m).startswith("deepdiff") else "baseline") for m in table["model"]}


def _names(table: pd.DataFrame) -> dict[str, str]:
    if "name" in table.columns:
        return {str(m): str(n) for m, n in zip(table["model"], table["name"], strict=True)}
    return {str(m): str(m) for m in table["model"]}


def pair_label(pair: str) -> str:
    """``E003_vs_E123`` -> ``E003 vs E123``."""
    return str(pair).replace("_vs_", " vs ")


def pcc_per_pair_figure(per_pair: pd.DataFrame, *, title: str | None = None) -> Figure:
    """DeepDiff Fig. 4: grouped bars of test PCC per cell pair, one bar per model, the best variant labelled.

    One group per pair, one bar per model (the mean over seeds; the sd over seeds as an error bar where a pair has
    more than one seed). Bars start at 0 (a PCC can be negative). Above each group, the paper's name of the best
    DeepDiff variant of that pair (a text with gid ``best|pair``), a small triangle on its bar. Each bar's gid is
    ``model|pair``. The legend (below the axes, outside the bars) separates variants (solid) from baselines
    (hatched).
    """
    if per_pair is None or per_pair.empty:
        return message_figure("no differential runs to show", title or "Fig. 4: test PCC per cell pair")
    table = per_pair.assign(model=per_pair["model"].astype(str), pair=per_pair["pair"].astype(str))
    models = list(dict.fromkeys(table["model"]))
    pairs = list(dict.fromkeys(table["pair"]))
    kinds, names = _kind(table), _names(table)
    mean = table.pivot_table(index="pair", columns="model", values="test_pearson_mean", aggfunc="first")
    mean = mean.reindex(index=pairs, columns=models)
    if "test_pearson_sd" in table.columns:
        sd = table.pivot_table(index="pair", columns="model", values="test_pearson_sd", aggfunc="first", dropna=False)
        sd = sd.reindex(index=pairs, columns=models)
    else:
        sd = pd.DataFrame(np.nan, index=pairs, columns=models)
    variants = [m for m in models if kinds.get(m) == "variant"]
    best: dict[str, str] = {}
    if "is_best_variant" in table.columns:
        flagged = table[table["is_best_variant"].astype(str).str.lower().isin(["true", "1"])]
        best = dict(zip(flagged["pair"], flagged["model"], strict=True))
    else:
        for pair in pairs:
            values = mean.loc[pair, variants].dropna() if variants else pd.Series(dtype=float)
            if len(values):
                best[pair] = str(values.idxmax())

    n_bars = len(models)
    n_panels = math.ceil(len(pairs) * n_bars / 120)
    per_row = math.ceil(len(pairs) / n_panels)
    group_in = min(0.11 * n_bars + 0.25, (PAGE_WIDTH_IN - 1.0) / per_row)
    # many models: the full page width, so that the legend's two columns (variants | baselines) fit
    width = float(np.clip(1.0 + per_row * group_in, PAGE_WIDTH_IN if n_bars > 6 else 5.0, PAGE_WIDTH_IN))
    label_len = max(len(pair_label(p)) for p in pairs)
    rotate = label_len * 0.075 > group_in
    has_sd = bool(np.isfinite(sd.to_numpy(dtype=float)).any())
    legend_labels = [names[m] for m in models] + (["sd over seeds"] if has_sd else [])
    legend_cols = min(legend_columns(legend_labels, width - 0.3), 3)
    n_variants = sum(kinds.get(m) == "variant" for m in models)
    legend_rows = max(n_variants, len(legend_labels) - n_variants) if legend_cols >= 2 else len(legend_labels)
    legend_rows = min(legend_rows, math.ceil(len(legend_labels) / legend_cols)) if not n_variants else legend_rows
    legend_in = 0.22 * legend_rows + 0.25
    panel_in = 2.4 + (0.05 * label_len if rotate else 0.0)
    height = 0.9 + legend_in + panel_in * n_panels

    values = (mean + sd.fillna(0)).to_numpy(dtype=float)
    lows = (mean - sd.fillna(0)).to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    top = float(finite.max()) if finite.size else 1.0
    bottom = float(np.nanmin(lows)) if np.isfinite(lows).any() else 0.0
    y0 = min(0.0, math.floor(bottom * 20) / 20)
    bar_w = 0.86 / n_bars
    label_font = 6.5 if group_in < 1.2 else 7.5
    # the best-variant labels: one row when every name fits its group, else staggered over two rows
    longest_best = max((len(names.get(m, m)) for m in best.values()), default=0)
    staggered = longest_best * label_font * 0.55 / 72 > 0.75 * group_in
    y1 = max(0.1, top) * (1.34 if staggered else 1.22) + 0.02  # room for the labels
    seeds = int(table["n_seeds"].max()) if "n_seeds" in table.columns and table["n_seeds"].notna().any() else 1

    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(width, height), layout="constrained")
        axes = fig.subplots(n_panels, 1, squeeze=False)[:, 0]
        for p, ax in enumerate(axes):
            panel_pairs = pairs[p * per_row : (p + 1) * per_row]
            x = np.arange(len(panel_pairs))
            for j, model in enumerate(models):
                look = model_look(model, kinds.get(model, ""))
                m = mean.loc[panel_pairs, model].to_numpy(dtype=float)
                s = sd.loc[panel_pairs, model].to_numpy(dtype=float)
                offset = (j - (n_bars - 1) / 2) * bar_w
                ok = np.isfinite(m)
                bars = ax.bar(
                    (x + offset)[ok],
                    m[ok],
                    width=bar_w,
                    color=look["facecolor"],
                    edgecolor=look["edgecolor"],
                    hatch=look["hatch"] or None,
                    linewidth=0.3,
                    label=names[model],
                )
                for patch, pair in zip(bars.patches, np.asarray(panel_pairs)[ok], strict=True):
                    patch.set_gid(f"{model}|{pair}")
                has_err = np.isfinite(s) & ok
                if has_err.any():
                    sd_bars(
                        ax, (x + offset)[has_err], m[has_err], s[has_err], wide=bar_w * group_in > 0.08, label=model
                    )
            for i, pair in enumerate(panel_pairs):
                winner = best.get(pair)
                if winner is None or winner not in models:
                    continue
                j = models.index(winner)
                bx = i + (j - (n_bars - 1) / 2) * bar_w
                by = float(mean.at[pair, winner])
                group_top = np.nanmax((mean.loc[pair] + sd.loc[pair].fillna(0)).to_numpy(dtype=float))
                ax.plot(
                    [bx],
                    [max(by, 0) + 0.012 * (y1 - y0)],
                    marker="v",
                    color="#222222",
                    markersize=3.5,
                    linestyle="none",
                    gid=f"best-marker|{pair}",
                )
                lift = 0.045 + (0.075 if staggered and i % 2 else 0.0)
                ax.text(
                    i,
                    max(group_top, 0) + lift * (y1 - y0),
                    names.get(winner, winner),
                    ha="center",
                    va="bottom",
                    fontsize=label_font,
                    gid=f"best|{pair}",
                )
            finish_bar_axis(ax, x, [pair_label(p) for p in panel_pairs], rotate=rotate, per_row=per_row, ylim=(y0, y1))
            ax.axhline(0, color="#555555", linewidth=0.6)
        axes[-1].set_xlabel("cell pair (A vs B; LFC = log2((count_B + 1) / (count_A + 1)))")
        if n_panels > 1:
            fig.supylabel(PCC_LABEL)
        else:
            axes[0].set_ylabel(PCC_LABEL)
        handles = []
        for model in models:
            look = model_look(model, kinds.get(model, ""))
            handles.append(
                Patch(
                    facecolor=look["facecolor"],
                    edgecolor=look["edgecolor"],
                    hatch=look["hatch"] or None,
                    linewidth=0.3,
                    label=names[model],
                )
            )
        if has_sd:
            handles.append(Line2D([], [], color="#222222", linewidth=0.8, label="sd over seeds"))
        variant_handles = [h for m, h in zip(models, handles, strict=False) if kinds.get(m) == "variant"]
        other_handles = [h for h in handles if h not in variant_handles]
        if variant_handles and other_handles and legend_cols >= 2:
            # two columns, filled top to bottom: the variants in the first, the baselines in the second
            rows = max(len(variant_handles), len(other_handles))

            def pad(hs: list) -> list:
                return hs + [Patch(visible=False, label=" ") for _ in range(rows - len(hs))]

            handles, legend_cols = pad(variant_handles) + pad(other_handles), 2
        fig.legend(handles=handles, loc="outside lower center", ncols=legend_cols, handlelength=1.6, columnspacing=1.6)
        if title is None:
            details = [f"{len(pairs)} pair{'s' if len(pairs) != 1 else ''}", f"{len(models)} models"]
            details += [f"mean over {seeds} seeds"] if seeds > 1 else []
            head, tail = "Fig. 4: test PCC per cell pair", f"({', '.join(details)}); label: best DeepDiff variant"
            # ~0.55 em per character at the title's 11 pt: break the line rather than clip it
            one_line = (len(head) + len(tail) + 1) * 11 * 0.55 / 72 < width - 0.2
            title = f"{head} {tail}" if one_line else f"{head}\n{tail}"
        fig.suptitle(title)
    return fig


#: panels with at most this many attention slots take half the figure's width (two side by side)
NARROW_SLOTS = 10


def _attention_layout(models: list[str], n_slots: dict[str, int]) -> list[list[str]]:
    """Rows of panels: a wide model (more than ``NARROW_SLOTS`` slots) alone, narrow ones two by two (a narrow
    panel waits for the next narrow one, so the order moves at most past one wide panel)."""
    rows: list[list[str]] = []
    waiting: list[str] | None = None
    for model in models:
        if n_slots[model] > NARROW_SLOTS:
            rows.append([model])
        elif waiting is None:
            waiting = [model]
            rows.append(waiting)
        else:
            waiting.append(model)
            waiting = None
    return rows


def _slot_blocks(labels: list[str]) -> list[tuple[str, int, int]]:
    """Runs of consecutive slots of one cell: (cell, first index, last index)."""
    blocks: list[tuple[str, int, int]] = []
    for i, label in enumerate(labels):
        cell = label.rsplit(" ", 1)[0] if " " in label else ""
        if blocks and blocks[-1][0] == cell and blocks[-1][2] == i - 1:
            blocks[-1] = (cell, blocks[-1][1], i)
        else:
            blocks.append((cell, i, i))
    return blocks


def attention_figure(attention: pd.DataFrame, *, title: str | None = None) -> Figure:
    """DeepDiff Fig. 5: the mean mark-level (Level II) attention over up- and down-regulated test genes.

    One panel per model, one group per attention slot: the up-regulated genes' mean in black, the down-regulated
    genes' in gray. Ticks name the mark (``K4me1`` for H3K4me1); the cell (``A``, ``B``, ``A-B``) labels each block of
    slots below them, blocks separated by dotted lines. Panels with up to ``NARROW_SLOTS`` slots stand two side by
    side (``_attention_layout``). The figure legend gives the number of genes behind each colour (each panel's title
    does too when they differ between models). A direction without genes draws no bars. Each bar's gid is
    ``model|slot_index|direction``; the title names the pair and the threshold.
    """
    if attention is None or attention.empty:
        return message_figure("no attention weights to show", title or "Fig. 5: mark-level attention")
    table = attention.assign(model=attention["model"].astype(str))
    models = list(dict.fromkeys(table["model"]))
    names = _names(table)
    pairs = sorted({str(p) for p in table["pair"]}) if "pair" in table.columns else []
    thresholds = sorted({float(t) for t in table["threshold"].dropna()}) if "threshold" in table.columns else []
    limit = f"{thresholds[0]:g}" if len(thresholds) == 1 else "t"
    n_slots = {m: int(table.loc[table["model"] == m, "slot_index"].nunique()) for m in models}
    counts = {
        (m, d): int(table.loc[(table["model"] == m) & (table["direction"] == d), "n_genes"].max())
        if ((table["model"] == m) & (table["direction"] == d)).any()
        else 0
        for m in models
        for d in ("up", "down")
    }
    same_counts = len({(counts[(m, "up")], counts[(m, "down")]) for m in models}) == 1
    layout = _attention_layout(models, n_slots)
    width = PAGE_WIDTH_IN
    panel_in = 1.75
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(width, 1.1 + panel_in * len(layout)), layout="constrained")
        grid = fig.add_gridspec(len(layout), 2)
        for r, row in enumerate(layout):
            for c, model in enumerate(row):
                ax = fig.add_subplot(grid[r, :] if n_slots[model] > NARROW_SLOTS else grid[r, c])
                _attention_panel(
                    ax,
                    table[table["model"] == model],
                    model,
                    panel_width_in=width if n_slots[model] > NARROW_SLOTS else width / 2,
                )
                ax.set_title(
                    names.get(model, model)
                    + ("" if same_counts else f" (up {counts[(model, 'up')]}, down {counts[(model, 'down')]} genes)"),
                    loc="left",
                    fontsize=8.5,
                )
        first = models[0]
        labels = {}
        for direction in ("up", "down"):
            word = "up-regulated" if direction == "up" else "down-regulated"
            lfc = f"LFC > {limit}" if direction == "up" else f"LFC < -{limit}"
            n = counts[(first, direction)]
            labels[direction] = f"{word} ({lfc})" + (f": {n} gene{'s' if n != 1 else ''}" if same_counts else "")
        handles = [Patch(color=UP_COLOR, label=labels["up"]), Patch(color=DOWN_COLOR, label=labels["down"])]
        fig.legend(handles=handles, loc="outside lower center", ncols=2, handlelength=1.6)
        if title is None:
            where = ", ".join(pair_label(p) for p in pairs) or "?"
            title = f"Fig. 5: mean mark-level attention of test genes, {where}, |LFC| > {', '.join(f'{t:g}' for t in thresholds) or '?'}"
        fig.suptitle(title)
    return fig


def _attention_panel(ax, rows: pd.DataFrame, model: str, *, panel_width_in: float) -> None:
    slots = rows.drop_duplicates("slot_index").sort_values("slot_index")
    index = list(slots["slot_index"].astype(int))
    labels = list(slots["slot"].astype(str))
    x = np.arange(len(index))
    bar_w = 0.4
    for k, (direction, color) in enumerate((("up", UP_COLOR), ("down", DOWN_COLOR))):
        part = rows[rows["direction"] == direction].set_index("slot_index")
        m = np.array([float(part.at[i, "mean_attention"]) if i in part.index else math.nan for i in index])
        ok = np.isfinite(m)
        bars = ax.bar((x + (k - 0.5) * bar_w)[ok], m[ok], width=bar_w, color=color, linewidth=0)
        for patch, i in zip(bars.patches, np.asarray(index)[ok], strict=True):
            patch.set_gid(f"{model}|{i}|{direction}")
    marks = [label.rsplit(" ", 1)[1] if " " in label else label for label in labels]
    short = [m[2:] if m.startswith("H3") and len(m) > 2 else m for m in marks]
    ax.set_xticks(x)
    longest = max((len(t) for t in short), default=1)
    crowded = (panel_width_in - 0.7) / max(1, len(index)) < 1.25 * longest * 6.5 * 0.55 / 72
    ax.set_xticklabels(short, rotation=90 if crowded else 0, fontsize=6 if crowded else 6.5)
    ax.tick_params(axis="x", length=0, pad=1.5)
    ax.set_xlim(-0.6, len(index) - 0.4)
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(MaxNLocator(3))
    ax.tick_params(axis="y", labelsize=7)
    ax.yaxis.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_ylabel("mean attention", fontsize=7.5)
    blocks = _slot_blocks(labels)
    if len(blocks) > 1 or blocks[0][0]:
        transform = ax.get_xaxis_transform()
        below = -0.36 if crowded else -0.17
        for b, (cell, lo, hi) in enumerate(blocks):
            ax.text(
                (lo + hi) / 2,
                below,
                cell or "",
                transform=transform,
                ha="center",
                va="top",
                fontsize=7.5,
                fontweight="bold",
                gid=f"block|{model}|{b}",
            )
            if b:
                ax.axvline(lo - 0.5, color="#999999", linestyle=":", linewidth=0.8)
    if not ax.patches:
        ax.text(0.5, 0.5, "no up- or down-regulated test genes", ha="center", va="center", transform=ax.transAxes)


def lfc_scatter_figure(scatter: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Predicted against true test LFC: one panel per pair, the best DeepDiff variant (its colour) over the
    two-layer SVR (gray), the identity line dashed, each model's Pearson r in the panel (computed from the points
    drawn: one seed). Each point set's gid is ``pair|role``; the r text's gid is ``r|pair``."""
    if scatter is None or scatter.empty:
        return message_figure("no test predictions to show", title or "Predicted against true LFC")
    table = scatter.assign(pair=scatter["pair"].astype(str), role=scatter["role"].astype(str))
    pairs = list(dict.fromkeys(table["pair"]))
    nrows, ncols = grid(len(pairs))
    panel = min(2.6, (PAGE_WIDTH_IN - 0.5) / ncols)
    role_order = [SVR_ROLE, BEST_ROLE]  # the SVR underneath
    roles = [r for r in role_order if r in set(table["role"])] + sorted(set(table["role"]) - set(role_order))
    with matplotlib.rc_context(RC):
        width = panel * ncols + 0.5
        fig = Figure(figsize=(width, (panel + 0.35) * nrows + 1.0), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, pair in zip(axes, pairs, strict=False):
            rows = table[table["pair"] == pair]
            lo = float(np.nanmin(rows[["lfc", "prediction"]].to_numpy(dtype=float)))
            hi = float(np.nanmax(rows[["lfc", "prediction"]].to_numpy(dtype=float)))
            pad = 0.04 * (hi - lo or 1.0)
            lo, hi = lo - pad, hi + pad
            ax.plot([lo, hi], [lo, hi], color="#555555", linestyle="--", linewidth=0.8, gid=f"identity|{pair}")
            lines = []
            for role in roles:
                part = rows[rows["role"] == role]
                if part.empty:
                    continue
                model = str(part["model"].iloc[0])
                name = str(part["name"].iloc[0]) if "name" in part.columns else model
                color = "#8c8c8c" if role == SVR_ROLE else model_look(model, "variant")["facecolor"]
                n = len(part)
                ax.scatter(
                    part["lfc"].to_numpy(dtype=float),
                    part["prediction"].to_numpy(dtype=float),
                    s=4 if n > 500 else 9,
                    alpha=0.35 if n > 500 else 0.7,
                    color=color,
                    linewidths=0,
                    rasterized=True,
                    gid=f"{pair}|{role}",
                )
                r = _pearson(part["lfc"], part["prediction"])
                r_text = "n/a" if math.isnan(r) else f"{r:.3f}"
                lines.append((f"{name}: r = {r_text}", color))
            ax.set_xlim(lo, hi)
            ax.set_ylim(lo, hi)
            ax.set_aspect("equal")
            for k, (text, color) in enumerate(lines):
                ax.text(
                    0.03,
                    0.97 - 0.1 * k,
                    text,
                    transform=ax.transAxes,
                    ha="left",
                    va="top",
                    fontsize=6.5,
                    color="#222222" if color == "#8c8c8c" else color,
                    bbox={"facecolor": "white", "alpha": 0.75, "edgecolor": "none", "pad": 0.8},
                    gid=f"r|{pair}|{k}",
                )
            ax.set_title(pair_label(pair), fontsize=8.5)
            ax.xaxis.set_major_locator(MaxNLocator(4))
            ax.yaxis.set_major_locator(MaxNLocator(4))
            ax.tick_params(labelsize=7)
        for ax in axes[len(pairs) :]:
            ax.axis("off")
        for k, ax in enumerate(axes[: len(pairs)]):
            if k + ncols >= len(pairs):
                ax.set_xlabel("true LFC")
            if k % ncols == 0:
                ax.set_ylabel("predicted LFC")
        handles = [Line2D([], [], color="#555555", linestyle="--", label="identity")]
        for role in roles:
            part = table[table["role"] == role].drop_duplicates("model")
            for model, name in zip(part["model"].astype(str), part.get("name", part["model"]).astype(str), strict=True):
                color = "#8c8c8c" if role == SVR_ROLE else model_look(model, "variant")["facecolor"]
                label = name if role == SVR_ROLE else f"{name} (best variant)"
                handles.append(Line2D([], [], marker="o", linestyle="none", color=color, label=label))
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncols=legend_columns([h.get_label() for h in handles], width - 0.3),
            handlelength=1.6,
        )
        seeds = sorted({int(s) for s in table["seed"].dropna()}) if "seed" in table.columns else []
        seed_text = f", seed {seeds[0]}" if len(seeds) == 1 else (", lowest seed of each model" if seeds else "")
        fig.suptitle(
            title or f"Predicted against true test LFC ({len(pairs)} pair{'s' if len(pairs) != 1 else ''}{seed_text})"
        )
    return fig


def _pearson(x: pd.Series, y: pd.Series) -> float:
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if a.size < 2 or np.std(a) == 0 or np.std(b) == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


# --- the section's figures, redrawn from its tables ---------------------------------------------------


def _read_tsv(path: Path) -> pd.DataFrame:
    return pd.read_csv(
        path,
        sep="\t",
        dtype={"model": str, "name": str, "pair": str, "seeds": str, "slot": str, "role": str, "gene_id": str},
        keep_default_na=True,
    )


def _optional(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    if path.is_file() and path.stat().st_size:
        table = _read_tsv(path)
        if len(table.columns):
            return table
    return pd.DataFrame(columns=list(columns))


def redraw(
    section_dir: str | Path, results_dir: str | Path | None = None, *, out_dir: str | Path | None = None
) -> list[Path]:
    """Redraw Fig. 4, Fig. 5 and the LFC scatter from ``per_pair.tsv``, ``attention.tsv`` and ``scatter.tsv.gz``
    alone (PNG + PDF). ``per_pair.tsv`` is required; a missing or empty table of the other two gives a figure that
    says there is nothing to show. Writes into ``out_dir`` (default ``section_dir``). (``results_dir``, the
    workflow's results folder, is what every experiment's ``redraw`` takes; this one reads nothing there.)"""
    section_dir = Path(section_dir)
    out_dir = Path(out_dir) if out_dir is not None else section_dir
    per_pair_path = require_table(
        section_dir / "per_pair.tsv", "per-pair", "build the differential section first (build_differential_section)"
    )
    per_pair = _read_tsv(per_pair_path)
    attention = _optional(section_dir / "attention.tsv", ATTENTION_TABLE_COLUMNS)
    scatter = _optional(section_dir / "scatter.tsv.gz", SCATTER_COLUMNS)
    written = save_figure(pcc_per_pair_figure(per_pair), out_dir / "fig4_pcc_per_pair")
    written += save_figure(attention_figure(attention), out_dir / "fig5_attention")
    written += save_figure(lfc_scatter_figure(scatter), out_dir / "scatter_lfc")
    return written
