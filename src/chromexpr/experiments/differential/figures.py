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

import colorsys
import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from chromexpr.experiments.differential.evaluate import ATTENTION_TABLE_COLUMNS, SCATTER_COLUMNS
from chromexpr.plotting.base import (
    finish_bar_axis,
    fitted_suptitle,
    grid,
    legend_columns,
    message_figure,
    save_figure,
    sd_bars,
)
from chromexpr.plotting.style import PAGE_WIDTH_IN, RC, model_color, model_style, srgb_to_lab
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


#: attention slots whose means differ by less than this fraction of their mean are "within noise": the figure marks
#: such rows and the section does not rank their slots
NOISE_SPREAD = 0.01
ATTENTION_CMAP = "RdBu_r"
#: the cell blocks of the attention slots, in the order Fig. 5 shows them (others after, as they come)
BLOCK_ORDER = ("A", "B", "A-B", "aux A", "aux B")
#: the direction rows of Fig. 5, in order, and their short labels
DIRECTION_LABELS = {"up": "up", "down": "down"}


def _split_slot(label: str) -> tuple[str, str]:
    """``A-B H3K4me1`` -> (``A-B``, ``H3K4me1``); ``aux A H3K9me3`` -> (``aux A``, ``H3K9me3``)."""
    label = str(label)
    return tuple(label.rsplit(" ", 1)) if " " in label else ("", label)  # type: ignore[return-value]


def _short_mark(mark: str) -> str:
    return mark[2:] if mark.startswith("H3") and len(mark) > 2 else mark


def attention_spread(attention: pd.DataFrame) -> pd.DataFrame:
    """Per model and direction (in the table's order): ``model``, ``direction``, ``n_genes``, ``n_slots``, ``mean``
    (the mean over slots of the mean attention), ``spread`` ((max - min) / mean over slots), ``within_noise``
    (``spread < NOISE_SPREAD``) and ``top`` (the two slots of highest mean attention, comma-joined). A direction
    without genes is left out."""
    columns = ["model", "direction", "n_genes", "n_slots", "mean", "spread", "within_noise", "top"]
    if attention is None or attention.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for model in dict.fromkeys(attention["model"].astype(str)):
        for direction in DIRECTION_LABELS:
            part = attention[(attention["model"].astype(str) == model) & (attention["direction"] == direction)]
            part = part.dropna(subset=["mean_attention"])
            if part.empty:
                continue
            values = part["mean_attention"].to_numpy(dtype=float)
            mean = float(values.mean())
            spread = float((values.max() - values.min()) / mean) if mean > 0 else math.nan
            top = part.sort_values(["mean_attention", "slot_index"], ascending=[False, True]).head(2)
            rows.append(
                {
                    "model": model,
                    "direction": direction,
                    "n_genes": int(part["n_genes"].max()) if "n_genes" in part.columns else 0,
                    "n_slots": len(part),
                    "mean": mean,
                    "spread": spread,
                    "within_noise": bool(spread < NOISE_SPREAD),
                    "top": ", ".join(top["slot"].astype(str)),
                }
            )
    return pd.DataFrame(rows, columns=columns)


def attention_grid(attention: pd.DataFrame) -> tuple[list[tuple[str, str]], list[tuple[str, str]], np.ndarray]:
    """The matrix of Fig. 5: rows ``(model, direction)`` (models in the table's order, up before down, a direction
    without genes left out), columns ``(block, mark)`` (blocks in ``BLOCK_ORDER``, marks in order of first
    appearance), values the slot's mean attention relative to its row's mean over slots,
    in percent (``100 * (a / mean - 1)``; NaN where a model has no such slot)."""
    table = attention.assign(model=attention["model"].astype(str)).dropna(subset=["mean_attention"])
    table = table.assign(
        _block=[_split_slot(x)[0] for x in table["slot"]], _mark=[_split_slot(x)[1] for x in table["slot"]]
    )
    ordered = table.sort_values(["slot_index"], kind="stable")
    seen = list(dict.fromkeys(ordered["_block"]))
    blocks = sorted(seen, key=lambda b: (BLOCK_ORDER.index(b) if b in BLOCK_ORDER else len(BLOCK_ORDER), seen.index(b)))
    marks = list(dict.fromkeys(ordered["_mark"]))
    columns = [(b, m) for b in blocks for m in marks if ((ordered["_block"] == b) & (ordered["_mark"] == m)).any()]
    rows = [
        (model, direction)
        for model in dict.fromkeys(table["model"])
        for direction in DIRECTION_LABELS
        if ((table["model"] == model) & (table["direction"] == direction)).any()
    ]
    values = np.full((len(rows), len(columns)), np.nan)
    index = {c: j for j, c in enumerate(columns)}
    for i, (model, direction) in enumerate(rows):
        part = table[(table["model"] == model) & (table["direction"] == direction)]
        mean = float(part["mean_attention"].mean())
        for block, mark, a in zip(part["_block"], part["_mark"], part["mean_attention"], strict=True):
            values[i, index[(block, mark)]] = 100.0 * (float(a) / mean - 1.0) if mean > 0 else np.nan
    return rows, columns, values


def percent_text(fraction: float) -> str:
    """A spread as a percentage: one decimal from 1% up, two below (0.98% is not rounded up to the 1% mark)."""
    if not math.isfinite(fraction):
        return "n/a"
    value = 100 * fraction
    return f"{value:.1f}%" if value >= 1 else f"{value:.2f}%"


def attention_figure(attention: pd.DataFrame, *, title: str | None = None) -> Figure:
    """DeepDiff Fig. 5, compactly: the mean mark-level (Level II) attention over up- and down-regulated test genes.

    One heatmap: a row per model and direction (``attention_grid``), a column per slot (mark ``K4me1`` for H3K4me1,
    grouped under its cell block ``A``, ``B``, ``A-B``, ``aux A``, ``aux B`` labelled above), the colour the slot's
    attention relative to the mean attention of the row's slots (percent; diverging, centred on 0, one scale), each
    cell annotated with that percentage. Right of each row: its spread, (max - min) / mean; ``within noise`` when it
    is below ``NOISE_SPREAD`` (the paper's reading of Fig. 5 ranks slots that differ clearly). The image's gid is
    ``attention``; the row labels' ``row|model|direction``, the cell annotations' ``value|model|direction|slot``, the
    spread texts' ``spread|model|direction``, the block labels' ``block|k``. The title names the pair, the threshold and the genes behind each direction.
    """
    if attention is None or attention.empty or attention["mean_attention"].notna().sum() == 0:
        return message_figure("no attention weights to show", title or "Fig. 5: mark-level attention")
    table = attention.assign(model=attention["model"].astype(str))
    names = _names(table)
    pairs = sorted({str(p) for p in table["pair"]}) if "pair" in table.columns else []
    thresholds = sorted({float(t) for t in table["threshold"].dropna()}) if "threshold" in table.columns else []
    limit = f"{thresholds[0]:g}" if len(thresholds) == 1 else "t"
    rows, columns, values = attention_grid(table)
    spread = attention_spread(table).set_index(["model", "direction"])
    models = list(dict.fromkeys(table["model"]))
    counts = {
        (m, d): int(table.loc[(table["model"] == m) & (table["direction"] == d), "n_genes"].max())
        if ((table["model"] == m) & (table["direction"] == d)).any()
        else 0
        for m in models
        for d in DIRECTION_LABELS
    }
    same_counts = len({(counts[(m, "up")], counts[(m, "down")]) for m in models}) == 1
    finite = np.abs(values[np.isfinite(values)])
    vmax = max(1.0, float(finite.max()) if finite.size else 1.0)
    cell_in = min(0.3, (PAGE_WIDTH_IN - 3.2) / max(1, len(columns)))
    width = PAGE_WIDTH_IN
    height = 1.7 + 0.2 * len(rows)
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(width, height), layout="constrained")
        ax = fig.add_subplot()
        image = ax.imshow(
            values,
            cmap=colormaps[ATTENTION_CMAP].with_extremes(bad="#f2f2f2"),
            vmin=-vmax,
            vmax=vmax,
            aspect="auto",
            interpolation="nearest",
        )
        image.set_gid("attention")
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                v = values[i, j]
                if np.isfinite(v):
                    ax.text(
                        j,
                        i,
                        f"{v:.1f}".replace("-0.0", "0.0"),
                        ha="center",
                        va="center",
                        fontsize=5 if cell_in < 0.22 else 5.5,
                        color="white" if abs(v) > 0.6 * vmax else "#222222",
                        gid=f"value|{rows[i][0]}|{rows[i][1]}|{columns[j][0]} {columns[j][1]}",
                    )
        ax.set_yticks(range(len(rows)))
        labels = []
        for model, direction in rows:
            name = names.get(model, model).split(" (")[0]  # "AttentiveChrome (difference of ...)": the name
            label = f"{name} \u00b7 {DIRECTION_LABELS[direction]}"
            if not same_counts:
                label += f" ({counts[(model, direction)]})"
            labels.append(label)
        ax.set_yticklabels(labels, fontsize=7)
        for tick, (model, direction) in zip(ax.get_yticklabels(), rows, strict=True):
            tick.set_gid(f"row|{model}|{direction}")
        ax.set_xticks(range(len(columns)))
        ax.set_xticklabels([_short_mark(m) for _, m in columns], rotation=90, fontsize=6.5)
        ax.tick_params(length=0, pad=2)
        for side in ("top", "right", "left", "bottom"):
            ax.spines[side].set_visible(False)
        # white rules between models and between cell blocks
        for i in range(1, len(rows)):
            if rows[i][0] != rows[i - 1][0]:
                ax.axhline(i - 0.5, color="white", linewidth=2.0)
        blocks: list[tuple[str, int, int]] = []
        for j, (block, _) in enumerate(columns):
            if blocks and blocks[-1][0] == block:
                blocks[-1] = (block, blocks[-1][1], j)
            else:
                blocks.append((block, j, j))
        for k, (block, lo, hi) in enumerate(blocks):
            if k:
                ax.axvline(lo - 0.5, color="white", linewidth=2.0)
            ax.text(
                (lo + hi) / 2,
                -0.7,
                block or "",
                ha="center",
                va="bottom",
                fontsize=7.5,
                fontweight="bold",
                gid=f"block|{k}",
            )
        for i, key in enumerate(rows):
            if key not in spread.index:
                continue
            row = spread.loc[key]
            noise = bool(row["within_noise"])
            ax.text(
                len(columns) - 0.5 + 0.25,
                i,
                percent_text(float(row["spread"])) + (", within noise" if noise else ""),
                ha="left",
                va="center",
                fontsize=6.5,
                color="#777777" if noise else "#222222",
                clip_on=False,
                gid=f"spread|{key[0]}|{key[1]}",
            )
        ax.text(
            len(columns) - 0.5 + 0.25,
            -0.7,
            "spread",
            ha="left",
            va="bottom",
            fontsize=7.5,
            fontweight="bold",
            gid="spread",
        )
        ax.set_xlim(-0.5, len(columns) - 0.5)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        bar = fig.colorbar(image, ax=ax, location="bottom", shrink=0.5, aspect=40, pad=0.02)
        bar.set_label("slot's mean attention relative to its row's mean (%)", fontsize=7.5)
        bar.ax.tick_params(labelsize=7)
        where = ", ".join(pair_label(p) for p in pairs) or "?"
        shown = ", ".join(f"{t:g}" for t in thresholds) or "?"
        head = title or f"Fig. 5: mean mark-level attention of test genes, {where}, |LFC| > {shown}"
        if same_counts:
            up, down = counts[(models[0], "up")], counts[(models[0], "down")]
            genes = f"up = {up} up-regulated (LFC > {limit}), down = {down} down-regulated (LFC < -{limit}) test genes"
        else:
            genes = "up = up-regulated, down = down-regulated test genes (their number in brackets)"
        fitted_suptitle(fig, f"{head}\n{genes}; spread = (max - min) / mean over a row's slots", fontsize=9.5)
    return fig


#: a role's predictions are "nearly constant" when their standard deviation is below this fraction of the true LFC's
FLAT_FRACTION = 0.05
#: the lightest a colour may be (CIELAB L*) for points and markers on white: paler ones are darkened
MAX_INK_LIGHTNESS = 62.0


def _ink(color: str) -> str:
    """``color`` darkened in HLS lightness (hue and saturation kept) until its CIELAB lightness is at most
    ``MAX_INK_LIGHTNESS`` (a pale blue is unreadable as text or as small points on white)."""
    h, light, sat = colorsys.rgb_to_hls(*to_rgb(color))
    for _ in range(40):
        if srgb_to_lab(to_hex(colorsys.hls_to_rgb(h, light, sat)))[0] <= MAX_INK_LIGHTNESS:
            break
        light = max(0.0, light - 0.025)
    return to_hex(colorsys.hls_to_rgb(h, light, sat))


def _role_color(role: str, model: str) -> str:
    return "#8c8c8c" if role == SVR_ROLE else _ink(str(model_look(model, "variant")["facecolor"]))


def _is_flat(part: pd.DataFrame) -> bool:
    """Whether a role's predictions are nearly constant next to the true LFC (``FLAT_FRACTION``)."""
    pred = part["prediction"].to_numpy(dtype=float)
    lfc = part["lfc"].to_numpy(dtype=float)
    pred, lfc = pred[np.isfinite(pred)], lfc[np.isfinite(lfc)]
    if pred.size < 2 or lfc.size < 2 or np.std(lfc) == 0:
        return False
    return bool(np.std(pred) < FLAT_FRACTION * np.std(lfc))


def _r_label(ax, k: int, text: str, color: str, gid: str) -> None:
    """One line of a panel's r legend: a marker in the role's colour, the text in dark gray."""
    y = 0.97 - 0.09 * k
    ax.plot([0.035], [y - 0.03], marker="o", markersize=4, color=color, transform=ax.transAxes, clip_on=False)
    ax.text(
        0.065,
        y,
        text,
        transform=ax.transAxes,
        ha="left",
        va="top",
        fontsize=6.5,
        color="#222222",
        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 0.8},
        gid=gid,
    )


def lfc_scatter_figure(scatter: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Predicted against true test LFC: one panel per pair, the best DeepDiff variant (its colour, darkened when pale)
    over the two-layer SVR (gray), the identity line dashed, each model's Pearson r in the panel (computed from the
    points drawn: one seed) as dark text beside a marker of its colour. Each point set's gid is ``pair|role``; the r
    texts' gids are ``r|pair|k``.

    A role whose predictions are nearly constant (standard deviation below ``FLAT_FRACTION`` of the true LFC's) would
    be a flat line at the common scale: its r text says so and gives the range of its predictions, and a second panel
    beside shows it on its own y scale (the point set's gid ``pair|role|zoom``), where the trend behind its r shows.
    """
    if scatter is None or scatter.empty:
        return message_figure("no test predictions to show", title or "Predicted against true LFC")
    table = scatter.assign(pair=scatter["pair"].astype(str), role=scatter["role"].astype(str))
    pairs = list(dict.fromkeys(table["pair"]))
    role_order = [SVR_ROLE, BEST_ROLE]  # the SVR underneath
    roles = [r for r in role_order if r in set(table["role"])] + sorted(set(table["role"]) - set(role_order))
    panels: list[tuple[str, str | None]] = []  # (pair, None: both roles | role: that role on its own y scale)
    for pair in pairs:
        panels.append((pair, None))
        rows = table[table["pair"] == pair]
        panels += [(pair, role) for role in roles if _is_flat(rows[rows["role"] == role])]
    nrows, ncols = grid(len(panels))
    panel = min(2.6, (PAGE_WIDTH_IN - 0.5) / ncols)
    with matplotlib.rc_context(RC):
        width = max(panel * ncols + 0.5, 4.5)
        fig = Figure(figsize=(width, (panel + 0.45) * nrows + 1.2), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, (pair, zoom) in zip(axes, panels, strict=False):
            rows = table[table["pair"] == pair]
            if zoom is not None:
                _zoom_panel(ax, rows[rows["role"] == zoom], pair, zoom)
                continue
            lo = float(np.nanmin(rows[["lfc", "prediction"]].to_numpy(dtype=float)))
            hi = float(np.nanmax(rows[["lfc", "prediction"]].to_numpy(dtype=float)))
            pad = 0.04 * (hi - lo or 1.0)
            lo, hi = lo - pad, hi + pad
            ax.plot([lo, hi], [lo, hi], color="#555555", linestyle="--", linewidth=0.8, gid=f"identity|{pair}")
            k = 0
            for role in roles:
                part = rows[rows["role"] == role]
                if part.empty:
                    continue
                model = str(part["model"].iloc[0])
                name = str(part["name"].iloc[0]) if "name" in part.columns else model
                color = _role_color(role, model)
                n = len(part)
                ax.scatter(
                    part["lfc"].to_numpy(dtype=float),
                    part["prediction"].to_numpy(dtype=float),
                    s=4 if n > 500 else 9,
                    alpha=(0.35 if role == SVR_ROLE else 0.6) if n > 500 else 0.75,
                    color=color,
                    linewidths=0,
                    rasterized=True,
                    gid=f"{pair}|{role}",
                )
                r = _pearson(part["lfc"], part["prediction"])
                text = f"{name}: r = {'n/a' if math.isnan(r) else f'{r:.3f}'}"
                if _is_flat(part):
                    lo_p, hi_p = float(part["prediction"].min()), float(part["prediction"].max())
                    text += f"\n  nearly constant ({lo_p:.3g} to {hi_p:.3g})"
                _r_label(ax, k, text, color, f"r|{pair}|{k}")
                k += 1 + text.count("\n")
            ax.set_xlim(lo, hi)
            ax.set_ylim(lo, hi)
            ax.set_aspect("equal")
            ax.set_title(pair_label(pair), fontsize=8.5)
            ax.xaxis.set_major_locator(MaxNLocator(4))
            ax.yaxis.set_major_locator(MaxNLocator(4))
            ax.tick_params(labelsize=7)
            ax.set_xlabel("true LFC", fontsize=8)
            ax.set_ylabel("predicted LFC", fontsize=8)
        for ax in axes[len(panels) :]:
            ax.axis("off")
        handles = [Line2D([], [], color="#555555", linestyle="--", label="identity")]
        for role in roles:
            part = table[table["role"] == role].drop_duplicates("model")
            for model, name in zip(part["model"].astype(str), part.get("name", part["model"]).astype(str), strict=True):
                label = name if role == SVR_ROLE else f"{name} (best variant)"
                handles.append(
                    Line2D([], [], marker="o", linestyle="none", color=_role_color(role, model), label=label)
                )
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncols=legend_columns([h.get_label() for h in handles], width - 0.3),
            handlelength=1.6,
        )
        seeds = sorted({int(s) for s in table["seed"].dropna()}) if "seed" in table.columns else []
        seed_text = f", seed {seeds[0]}" if len(seeds) == 1 else (", lowest seed of each model" if seeds else "")
        fitted_suptitle(
            fig,
            title or f"Predicted against true test LFC ({len(pairs)} pair{'s' if len(pairs) != 1 else ''}{seed_text})",
        )
    return fig


def _zoom_panel(ax, part: pd.DataFrame, pair: str, role: str) -> None:
    """One role's nearly constant predictions on their own y scale (x: the true LFC, as in the main panel)."""
    model = str(part["model"].iloc[0])
    name = str(part["name"].iloc[0]) if "name" in part.columns else model
    color = _role_color(role, model)
    ax.scatter(
        part["lfc"].to_numpy(dtype=float),
        part["prediction"].to_numpy(dtype=float),
        s=4 if len(part) > 500 else 9,
        alpha=0.6,
        color=color,
        linewidths=0,
        rasterized=True,
        gid=f"{pair}|{role}|zoom",
    )
    r = _pearson(part["lfc"], part["prediction"])
    _r_label(ax, 0, f"{name}: r = {'n/a' if math.isnan(r) else f'{r:.3f}'}", color, f"r|{pair}|zoom")
    ax.set_title(f"{pair_label(pair)}\n{name} on its own y scale", fontsize=8.5)
    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.yaxis.set_major_locator(MaxNLocator(4))
    ax.ticklabel_format(axis="y", useOffset=False)
    ax.tick_params(labelsize=7)
    ax.set_xlabel("true LFC", fontsize=8)
    ax.set_ylabel("predicted LFC (zoomed)", fontsize=8)


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
