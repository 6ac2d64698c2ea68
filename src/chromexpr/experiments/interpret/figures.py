"""The figures of the interpretation experiment (AttentiveChrome, DeepChrome, DeepChrome 2.0), drawn from plain arrays.

Every ``draw_*`` function takes arrays keyed by ``(model, cell)`` (the containers below; ``figure_data`` fills them
from each run's ``interpret.npz`` and ``gan.npz``) and returns a ``matplotlib.figure.Figure``; ``write_figures``
saves them (``chromexpr.plotting.base.save_figure``) for the section (``chromexpr.experiments.interpret.report``),
and ``redraw`` draws them again from the section's tables and the run arrays they name. A figure without data (e.g.
no AttentiveChrome run configured) is a small figure with a centred "not configured: ..." text, so every figure file
is always written.

- ``draw_bin_attention``: AttentiveChrome's bin-level attention, mean over the expressed and the not-expressed test
  genes, one row of two heatmaps (marks x bins, x in bp from the TSS) per (model, cell).
- ``draw_mark_attention``: AttentiveChrome's mark-level attention, mean per mark and class, grouped bars.
- ``draw_attention_examples``: a few genes (``pick_examples``): input signal beside bin attention, mark attention in
  the panel title.
- ``draw_class_optimization``: DeepChrome's class-optimization maps (marks x bins, in [0, 1]) per class.
- ``draw_attributions``: mean signed integrated gradients per class (diverging colormap centred on 0) and the
  per-mark mean signed saliency over bins (lines).
- ``draw_linear_weights``: DeepChrome 2.0 Fig. 8, the 2 x marks weights and 2 biases of the linear model.
- ``draw_gan_monte_carlo``: DeepChrome 2.0 Fig. 4, the normalized per-mark profile of the GAN's top-k samples.

Artists carry gids (``model|cell|...``) so tests find what is drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from chromexpr.errors import InputError
from chromexpr.experiments.interpret.evaluate import (
    ATTENTION_KEYS,
    CLASSOPT_KEYS,
    class_mean,
    has_arrays,
    linear_runs,
    read_gan,
    read_interpret,
)
from chromexpr.experiments.interpret.plan import INTERPRET_FIGURE_STEMS
from chromexpr.plotting.base import fit_title, grid, message_figure, save_figure
from chromexpr.plotting.style import PAGE_WIDTH_IN, PALETTE, RC
from chromexpr.reporting.files import require_table

__all__ = [
    "ATTENTION_CMAP",
    "ATTRIBUTION_CMAP",
    "BP_LABEL",
    "CLASSES",
    "CLASS_COLORS",
    "CLASS_LABELS",
    "CLASSOPT_CMAP",
    "MAX_EXAMPLE_RUNS",
    "N_EXAMPLES",
    "NOT_CONFIGURED",
    "AttentionExample",
    "ClassMaps",
    "ClassProfile",
    "LinearWeights",
    "draw_attention_examples",
    "draw_attributions",
    "draw_bin_attention",
    "draw_class_optimization",
    "draw_gan_monte_carlo",
    "draw_linear_weights",
    "draw_mark_attention",
    "figure_data",
    "mark_colors",
    "not_configured_figure",
    "pick_examples",
    "redraw",
    "run_label",
    "write_figures",
]

BP_LABEL = "position relative to the TSS (bp)"
BIN_INDEX_LABEL = "bin"
ATTENTION_CMAP = "viridis"
INPUT_CMAP = "Greys"
CLASSOPT_CMAP = "magma"
ATTRIBUTION_CMAP = "RdBu_r"
NOT_CONFIGURED = "not configured"
CLASSES = ("expressed", "not_expressed")
CLASS_LABELS = {"expressed": "expressed", "not_expressed": "not expressed"}
CLASS_COLORS = {"expressed": "#d62728", "not_expressed": "#1f77b4"}
N_EXAMPLES = 2  # example genes per class (Fig. attention_examples)
MAX_EXAMPLE_RUNS = 3  # (model, cell) pairs in the examples figure

Key = tuple[str, str]


@dataclass(frozen=True)
class ClassMaps:
    """Two (marks, bins) maps of one (model, cell), one per class; ``bins_bp`` the bin start offsets from the TSS
    (None: the x axis counts bins)."""

    marks: Sequence[str]
    expressed: np.ndarray
    not_expressed: np.ndarray
    bins_bp: Sequence[float] | None = None


@dataclass(frozen=True)
class ClassProfile:
    """Two (marks,) values of one (model, cell), one per class."""

    marks: Sequence[str]
    expressed: np.ndarray
    not_expressed: np.ndarray


@dataclass(frozen=True)
class LinearWeights:
    """The linear model's parameters: ``weight`` (2, marks), row 0 not expressed, row 1 expressed; ``bias`` (2,)."""

    marks: Sequence[str]
    weight: np.ndarray
    bias: np.ndarray


@dataclass(frozen=True)
class AttentionExample:
    """One test gene: ``inputs`` and ``bin_attention`` (marks, bins), ``mark_attention`` (marks,); ``rank`` its place
    among the run's ``n_genes`` test genes by P(expressed), 1 the highest (None: not known)."""

    gene_id: str
    label: int
    probability: float
    marks: Sequence[str]
    inputs: np.ndarray
    bin_attention: np.ndarray
    mark_attention: np.ndarray
    bins_bp: Sequence[float] | None = None
    rank: int | None = None
    n_genes: int | None = None


def run_label(key: Key) -> str:
    """``model · cell``."""
    return f"{key[0]} · {key[1]}"


def not_configured_figure(what: str, title: str) -> Figure:
    """The figure of a plot without data: a centred ``not configured: {what}``."""
    return message_figure(f"{NOT_CONFIGURED}: {what}", title)


def mark_colors(marks: Sequence[str]) -> dict[str, str]:
    """One palette colour per mark, in order."""
    return {str(m): PALETTE[i % len(PALETTE)] for i, m in enumerate(marks)}


def rank_text(rank: int, n_genes: int) -> str:
    """Where a gene stands among ``n_genes`` by P(expressed): ``highest of 1,106``, ``2nd lowest of 1,106``,
    ``rank 40 of 1,106``."""
    from_bottom = n_genes - rank + 1
    if rank <= from_bottom:
        place, side = rank, "highest"
    else:
        place, side = from_bottom, "lowest"
    if place > 3:
        return f"rank {rank:,} of {n_genes:,}"
    ordinal = {1: "", 2: "2nd ", 3: "3rd "}[place]
    return f"{ordinal}{side} of {n_genes:,}"


def example_ranks(probability: np.ndarray, picks: Sequence[int]) -> list[int]:
    """The rank by P(expressed) (1: highest, ties in gene order, as ``pick_examples``) of each picked gene."""
    order = np.argsort(-np.asarray(probability, dtype=np.float64).ravel(), kind="stable")
    place = np.empty(order.size, dtype=int)
    place[order] = np.arange(1, order.size + 1)
    return [int(place[i]) for i in picks]


def pick_examples(probability: np.ndarray, n: int = 2) -> list[int]:
    """The indices of the ``n`` genes of highest P(expressed) (most confident first), then of the ``n`` of lowest
    (most confident first); ties go to the earlier gene; a gene is never picked twice (few genes: fewer picks)."""
    p = np.asarray(probability, dtype=np.float64).ravel()
    order = np.argsort(-p, kind="stable")
    high = [int(i) for i in order[:n]]
    low = [int(i) for i in np.argsort(p, kind="stable")[:n] if int(i) not in high]
    return high + low


# --- helpers ---------------------------------------------------------------------------------------------------


def _extent(bins_bp: Sequence[float] | None, n_bins: int, n_marks: int) -> tuple[tuple[float, ...], bool]:
    """imshow extent (left, right, bottom, top) with x in bp when ``bins_bp`` is given (each bin spans its start
    to the next start), else in bin index; and whether x is in bp."""
    if bins_bp is not None and len(bins_bp) == n_bins and n_bins > 0:
        starts = np.asarray(bins_bp, dtype=np.float64)
        width = float(np.median(np.diff(starts))) if n_bins > 1 else 1.0
        return (float(starts[0]), float(starts[-1] + width), n_marks - 0.5, -0.5), True
    return (-0.5, n_bins - 0.5, n_marks - 0.5, -0.5), False


def _heatmap(ax, values: np.ndarray, marks: Sequence[str], bins_bp, *, gid: str, **kw):
    values = np.asarray(values, dtype=np.float64)
    extent, in_bp = _extent(bins_bp, values.shape[1], values.shape[0])
    image = ax.imshow(values, aspect="auto", interpolation="nearest", extent=extent, origin="upper", **kw)
    image.set_gid(gid)
    ax.set_yticks(range(len(marks)), [str(m) for m in marks], fontsize=7)
    ax.tick_params(labelsize=7)
    ax.spines[["top", "right"]].set_visible(True)
    return image, in_bp


def _bar_panel(ax, marks: Sequence[str], values: Mapping[str, np.ndarray], *, gid: str, order=CLASSES) -> None:
    """Grouped bars: per mark one bar per class in ``order``; gid ``{gid}|{class}|{mark}``."""
    x = np.arange(len(marks), dtype=float)
    width = 0.8 / len(order)
    for k, name in enumerate(order):
        heights = np.asarray(values[name], dtype=np.float64)
        bars = ax.bar(
            x + (k - (len(order) - 1) / 2) * width,
            heights,
            width=width,
            color=CLASS_COLORS[name],
            edgecolor="white",
            linewidth=0.3,
            label=CLASS_LABELS[name],
        )
        for mark, patch in zip(marks, bars.patches, strict=True):
            patch.set_gid(f"{gid}|{name}|{mark}")
    ax.set_xticks(x, [str(m) for m in marks], rotation=30, ha="right", fontsize=7)
    ax.axhline(0, color="#888888", linewidth=0.5)
    ax.yaxis.grid(True, color="#eeeeee", linewidth=0.5)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=7)


def _class_legend(fig: Figure, order=CLASSES) -> None:
    handles = [Patch(color=CLASS_COLORS[c], label=CLASS_LABELS[c]) for c in order]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), handlelength=1.6)


def _bar_figure(
    panels: Mapping[Key, tuple[Sequence[str], Mapping[str, np.ndarray]]],
    *,
    title: str,
    ylabel: str,
    order=CLASSES,
    ylim: tuple[float, float] | None = None,
) -> Figure:
    keys = list(panels)
    nrows, ncols = grid(len(keys))
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(max(6.0, min(PAGE_WIDTH_IN, 2.4 * ncols + 0.6)), 2.2 * nrows + 1.1), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, key in zip(axes, keys, strict=False):
            marks, values = panels[key]
            _bar_panel(ax, marks, values, gid=f"{key[0]}|{key[1]}", order=order)
            ax.set_title(run_label(key), loc="left", fontsize=8.5)
            if ylim is not None:
                ax.set_ylim(*ylim)
        for k, ax in enumerate(axes):
            if k >= len(keys):
                ax.axis("off")
            elif k % ncols == 0:
                ax.set_ylabel(ylabel)
        _class_legend(fig, order)
        fig.suptitle(title)
    return fig


def _row_limits(m: ClassMaps, limits: str) -> tuple[float, float]:
    both = np.concatenate([np.ravel(m.expressed), np.ravel(m.not_expressed)]).astype(np.float64)
    finite = both[np.isfinite(both)]
    if limits == "unit":
        return 0.0, 1.0
    if limits == "diverging":
        lim = float(np.abs(finite).max()) if finite.size and np.abs(finite).max() > 0 else 1.0
        return -lim, lim
    vmin = float(finite.min()) if finite.size else 0.0
    vmax = float(finite.max()) if finite.size else 1.0
    return (vmin, vmax) if vmax > vmin else (vmin - 0.5, vmax + 0.5)


def _run_figures(fig: Figure, keys: Sequence[Key], heights: Sequence[float] | None = None) -> list:
    """One subfigure per (model, cell), stacked, each titled ``model · cell`` on the left."""
    subs = np.atleast_1d(fig.subfigures(len(keys), 1, height_ratios=heights)).ravel()
    for sub, key in zip(subs, keys, strict=True):
        sub.suptitle(run_label(key), x=0.01, ha="left", fontsize=8.5, fontweight="bold")
    return list(subs)


def _map_rows_figure(
    maps: Mapping[Key, ClassMaps],
    *,
    title: str,
    colorbar_label: str,
    cmap: str,
    limits: str,
) -> Figure:
    """One row of two heatmaps (expressed, not expressed) per (model, cell), each row a subfigure titled with it.

    ``limits``: ``"row"`` one colour scale per row from the row's min to max; ``"unit"`` 0 to 1; ``"diverging"``
    +-max |value| of the row.
    """
    keys = list(maps)
    n_marks = max(len(m.marks) for m in maps.values())
    panel_h = 0.17 * n_marks + 1.0
    colour = colormaps[cmap].with_extremes(bad="#bbbbbb")
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(PAGE_WIDTH_IN, panel_h * len(keys) + 0.5), layout="constrained")
        for sub, key in zip(_run_figures(fig, keys), keys, strict=True):
            m = maps[key]
            vmin, vmax = _row_limits(m, limits)
            row = sub.subplots(1, 2, sharey=True)
            image, in_bp = None, False
            for ax, name in zip(row, CLASSES, strict=True):
                image, in_bp = _heatmap(
                    ax,
                    getattr(m, name),
                    m.marks,
                    m.bins_bp,
                    gid=f"{key[0]}|{key[1]}|{name}",
                    cmap=colour,
                    vmin=vmin,
                    vmax=vmax,
                )
                ax.set_title(CLASS_LABELS[name], loc="left", fontsize=8)
                ax.set_xlabel(BP_LABEL if in_bp else BIN_INDEX_LABEL, fontsize=7.5)
            row[1].tick_params(labelleft=False)
            sub.colorbar(image, ax=list(row), label=colorbar_label, aspect=12, shrink=0.95)
        fig.suptitle(title)
    return fig


# --- AttentiveChrome -----------------------------------------------------------------------------------------


def draw_bin_attention(maps: Mapping[Key, ClassMaps]) -> Figure:
    """AttentiveChrome's bin-level attention: per (model, cell) one row, the mean over the expressed (left) and the
    not-expressed (right) test genes of each mark's attention over bins, marks (rows) x bins (x in bp from the TSS).
    One colour scale per row (its min to max); each image's gid is ``model|cell|class``."""
    title = "AttentiveChrome: mean bin-level attention"
    if not maps:
        return not_configured_figure("no AttentiveChrome-type run", title)
    return _map_rows_figure(maps, title=title, colorbar_label="mean attention", cmap=ATTENTION_CMAP, limits="row")


def draw_mark_attention(profiles: Mapping[Key, ClassProfile]) -> Figure:
    """AttentiveChrome's mark-level attention: per (model, cell) a panel of grouped bars, per mark the mean over the
    expressed (red) and not-expressed (blue) test genes; each bar's gid is ``model|cell|class|mark``."""
    title = "AttentiveChrome: mean mark-level attention"
    if not profiles:
        return not_configured_figure("no AttentiveChrome-type run", title)
    panels = {k: (p.marks, {"expressed": p.expressed, "not_expressed": p.not_expressed}) for k, p in profiles.items()}
    return _bar_figure(panels, title=title, ylabel="mean attention")


def _one_sided_note(genes: Sequence[AttentionExample]) -> str:
    """A warning when the genes shown as the lowest (highest) P(expressed) are still called expressed (not
    expressed): then "lowest" is only a rank among the test genes."""
    p = np.array([float(ex.probability) for ex in genes])
    if p.size < 2:
        return ""
    if (p >= 0.5).all():
        return f"every P(expressed) shown is \u2265 0.5 ({p.min():.3f} to {p.max():.3f}): 'lowest' is a rank, not a call of not expressed"
    if (p < 0.5).all():
        return f"every P(expressed) shown is < 0.5 ({p.min():.3f} to {p.max():.3f}): 'highest' is a rank, not a call of expressed"
    return ""


def draw_attention_examples(examples: Mapping[Key, Sequence[AttentionExample]]) -> Figure:
    """A few test genes per (model, cell) (a subfigure titled with it): one row per gene, its input signal (left,
    marks x bins, gray) beside its bin-level attention (right); the left title gives the gene, its label,
    P(expressed) and, when known, its rank by P among the run's test genes (``rank_text``: "lowest" is a rank, and the
    subfigure's title says so when every gene shown falls on one side of 0.5); the right panel's right-hand tick labels give the gene's mark-level attention of each mark. The
    genes of one (model, cell) share one input scale and one attention scale (min to max over its genes, one
    colourbar each). Images' gids: ``model|cell|gene|input`` and ``model|cell|gene|attention``."""
    title = (
        "AttentiveChrome: example genes, input signal (left) and bin attention (right; right-hand numbers: mark "
        "attention)\nthe test genes of highest and of lowest P(expressed) of each run; each title: P and its rank among "
        "the test genes"
    )
    examples = {k: list(v) for k, v in examples.items() if len(v)}
    if not examples:
        return not_configured_figure("no AttentiveChrome-type run", title)
    keys = list(examples)
    n_marks = max(len(ex.marks) for genes in examples.values() for ex in genes)
    panel_h = 0.17 * n_marks + 0.45
    heights = [panel_h * len(examples[k]) + 0.6 for k in keys]
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(PAGE_WIDTH_IN, sum(heights) + 0.4), layout="constrained")
        for sub, key in zip(_run_figures(fig, keys, heights), keys, strict=True):
            genes = examples[key]
            block = sub.subplots(len(genes), 2, squeeze=False, sharex=True)
            scales = {}
            for what in ("inputs", "bin_attention"):
                values = np.concatenate([np.ravel(getattr(ex, what)) for ex in genes]).astype(np.float64)
                values = values[np.isfinite(values)]
                lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
                scales[what] = (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)
            images, in_bp = {}, False
            for (ax_in, ax_att), ex in zip(block, genes, strict=True):
                base = f"{key[0]}|{key[1]}|{ex.gene_id}"
                word = "expressed" if int(ex.label) == 1 else "not expressed"
                lo, hi = scales["inputs"]
                images["inputs"], in_bp = _heatmap(
                    ax_in, ex.inputs, ex.marks, ex.bins_bp, gid=f"{base}|input", cmap=INPUT_CMAP, vmin=lo, vmax=hi
                )
                where = f", {rank_text(ex.rank, ex.n_genes)}" if ex.rank and ex.n_genes else ""
                ax_in.set_title(
                    f"{ex.gene_id}: {word}, P(expressed) = {float(ex.probability):.3f}{where}", loc="left", fontsize=7
                )
                lo, hi = scales["bin_attention"]
                images["bin_attention"], _ = _heatmap(
                    ax_att,
                    ex.bin_attention,
                    ex.marks,
                    ex.bins_bp,
                    gid=f"{base}|attention",
                    cmap=ATTENTION_CMAP,
                    vmin=lo,
                    vmax=hi,
                )
                ax_att.yaxis.tick_right()
                ax_att.set_yticks(
                    range(len(ex.marks)), [f"{float(a):.2f}" for a in np.ravel(ex.mark_attention)], fontsize=7
                )
            note = _one_sided_note(genes)
            if note:
                sub.suptitle(
                    fit_title(f"{run_label(key)}: {note}", PAGE_WIDTH_IN - 0.1, 8.5, weight="bold"),
                    x=0.01,
                    ha="left",
                    fontsize=8.5,
                    fontweight="bold",
                )
            for ax in block[-1]:
                ax.set_xlabel(BP_LABEL if in_bp else BIN_INDEX_LABEL, fontsize=7)
            sub.colorbar(images["inputs"], ax=list(block[:, 0]), label="input", aspect=15, pad=0.01, location="left")
            sub.colorbar(images["bin_attention"], ax=list(block[:, 1]), label="bin attention", aspect=15, pad=0.01)
        fig.suptitle(title, fontsize=9)
    return fig


# --- DeepChrome ----------------------------------------------------------------------------------------------


def draw_class_optimization(maps: Mapping[Key, ClassMaps]) -> Figure:
    """DeepChrome's class optimization: per (model, cell) the input map (marks x bins, in [0, 1], one scale 0-1)
    that maximizes the expressed (left) and the not-expressed (right) class score. Gids ``model|cell|class``."""
    title = "DeepChrome: class-optimization maps"
    if not maps:
        return not_configured_figure("no class optimization (DeepChrome-type run)", title)
    return _map_rows_figure(
        maps, title=title, colorbar_label="optimized input (0-1)", cmap=CLASSOPT_CMAP, limits="unit"
    )


# --- attributions --------------------------------------------------------------------------------------------


def draw_attributions(ig: Mapping[Key, ClassMaps], saliency: Mapping[Key, ClassMaps | np.ndarray]) -> Figure:
    """Per (model, cell) one row (a subfigure titled with it): the mean signed integrated gradients (zero baseline)
    of the logit over the expressed (left) and not-expressed (middle) test genes, marks x bins, a diverging colormap
    centred on 0 (limits +-max |IG| of the row); right, the mean signed saliency (input gradient of the logit) over
    all test genes, one line per mark over the bin centres (one legend of marks below). Gids: images
    ``model|cell|class``, lines ``model|cell|mark``.

    ``saliency`` values: a (marks, bins) array, or a ``ClassMaps`` whose ``expressed`` holds the map over all genes.
    """
    title = "Attributions: mean signed integrated gradients and saliency of the logit"
    keys = list(ig)
    if not keys:
        return not_configured_figure("no interpretation run", title)
    n_marks = max(len(m.marks) for m in ig.values())
    all_marks = list(dict.fromkeys(str(mark) for m in ig.values() for mark in m.marks))
    colors = mark_colors(all_marks)
    panel_h = 0.17 * n_marks + 1.0
    cmap = colormaps[ATTRIBUTION_CMAP].with_extremes(bad="#bbbbbb")
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(PAGE_WIDTH_IN, panel_h * len(keys) + 0.9), layout="constrained")
        for sub, key in zip(_run_figures(fig, keys), keys, strict=True):
            m = ig[key]
            vmin, vmax = _row_limits(m, "diverging")
            row = sub.subplots(1, 3, width_ratios=(1, 1, 1.1))
            image, in_bp = None, False
            for ax, name in zip(row[:2], CLASSES, strict=True):
                image, in_bp = _heatmap(
                    ax,
                    getattr(m, name),
                    m.marks,
                    m.bins_bp,
                    gid=f"{key[0]}|{key[1]}|{name}",
                    cmap=cmap,
                    vmin=vmin,
                    vmax=vmax,
                )
                ax.set_title(f"IG, {CLASS_LABELS[name]}", loc="left", fontsize=8)
                ax.set_xlabel(BP_LABEL if in_bp else BIN_INDEX_LABEL, fontsize=7)
            row[1].tick_params(labelleft=False)
            sub.colorbar(image, ax=list(row[:2]), label="mean IG", aspect=12, shrink=0.95)
            ax = row[2]
            sal = saliency.get(key)
            if sal is None:
                ax.text(0.5, 0.5, "no saliency", ha="center", va="center", transform=ax.transAxes)
            else:
                values = np.asarray(sal.expressed if isinstance(sal, ClassMaps) else sal, dtype=np.float64)
                extent, sal_bp = _extent(m.bins_bp, values.shape[1], values.shape[0])
                if sal_bp:
                    width = (extent[1] - extent[0]) / values.shape[1]
                    x = np.asarray(m.bins_bp, dtype=np.float64) + width / 2
                else:
                    x = np.arange(values.shape[1], dtype=np.float64)
                ax.axhline(0, color="#999999", linewidth=0.5)
                for mark, line in zip(m.marks, values, strict=True):
                    ax.plot(x, line, color=colors[str(mark)], linewidth=1.0, gid=f"{key[0]}|{key[1]}|{mark}")
                ax.set_xlabel(BP_LABEL if sal_bp else BIN_INDEX_LABEL, fontsize=7)
                ax.tick_params(labelsize=7)
            ax.set_title("saliency, all test genes", loc="left", fontsize=8)
            ax.set_ylabel("mean d logit / d input", fontsize=7)
        handles = [Line2D([], [], color=colors[mark], linewidth=1.5, label=mark) for mark in all_marks]
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), title="saliency line per mark")
        fig.suptitle(title)
    return fig


# --- DeepChrome 2.0 ------------------------------------------------------------------------------------------


def draw_linear_weights(weights: Mapping[Key, LinearWeights]) -> Figure:
    """DeepChrome 2.0 Fig. 8: the linear model's parameters per (model, cell): per mark the weight of the
    not-expressed (blue) and the expressed (red) logit, and the two biases as a last group ``bias`` (2 x marks + 2
    bars, 12 for 5 marks). Each bar's gid is ``model|cell|class|mark`` (mark ``bias`` for the biases)."""
    title = "Linear model weights per mark and class (DeepChrome 2.0 Fig. 8)"
    if not weights:
        return not_configured_figure("no linear model (linear12) run", title)
    order = ("not_expressed", "expressed")
    panels = {}
    for key, w in weights.items():
        weight = np.asarray(w.weight, dtype=np.float64)
        bias = np.asarray(w.bias, dtype=np.float64).ravel()
        names = [*map(str, w.marks), "bias"]
        panels[key] = (
            names,
            {"not_expressed": np.append(weight[0], bias[0]), "expressed": np.append(weight[1], bias[1])},
        )
    return _bar_figure(panels, title=title, ylabel="weight", order=order)


def draw_gan_monte_carlo(profiles: Mapping[Key, ClassProfile]) -> Figure:
    """DeepChrome 2.0 Fig. 4: per (classifier model, cell) grouped bars, per mark the mean over bins of the top-k GAN
    samples by P(expressed) (red) and by P(not expressed) (blue), each mark normalized so the larger class is 1.
    Each bar's gid is ``model|cell|class|mark``."""
    title = "GAN Monte Carlo (DeepChrome 2.0 Fig. 4):\nnormalized mean input of the top-k samples per class"
    if not profiles:
        return not_configured_figure("no GAN run", title)
    panels = {k: (p.marks, {"expressed": p.expressed, "not_expressed": p.not_expressed}) for k, p in profiles.items()}
    values = np.concatenate([np.ravel(v) for _, d in panels.values() for v in d.values()])
    low = min(0.0, float(np.nanmin(values))) if values.size else 0.0
    return _bar_figure(panels, title=title, ylabel="normalized activation", ylim=(low * 1.05, 1.05))


# --- the section's figures -----------------------------------------------------------------------------------


def _bins_bp(data: Mapping[str, Any], n_bins: int) -> list[float] | None:
    bins = data["meta"].get("bins_bp")
    if isinstance(bins, list) and len(bins) == n_bins:
        return [float(b) for b in bins]
    return None


def figure_data(runs: Mapping[Key, Mapping[str, Any]], gans: Mapping[Key, Mapping[str, Any]]) -> dict[str, Any]:
    """What each figure of the section draws, from the runs' arrays (``read_interpret``) and the GANs'
    (``read_gan``), both keyed by ``(model, cell)`` in the section's order: ``bin_attention``,
    ``mark_attention``, ``examples`` (the first ``MAX_EXAMPLE_RUNS`` attention runs), ``classopt``, ``ig``,
    ``saliency``, ``linear`` and ``gan``, each keyed by ``(model, cell)``."""
    bin_attention: dict[Key, ClassMaps] = {}
    mark_attention: dict[Key, ClassProfile] = {}
    examples: dict[Key, list[AttentionExample]] = {}
    classopt: dict[Key, ClassMaps] = {}
    ig: dict[Key, ClassMaps] = {}
    saliency: dict[Key, np.ndarray] = {}
    linear: dict[Key, LinearWeights] = {}
    for key, data in runs.items():
        marks = data["marks"]
        bins_bp = _bins_bp(data, data["ig_all"].shape[1])
        ig[key] = ClassMaps(marks, data["ig_expressed"], data["ig_not_expressed"], bins_bp)
        saliency[key] = np.asarray(data["saliency_all"], dtype=np.float64)
        labels = np.asarray(data["labels"])
        if has_arrays(data, ATTENTION_KEYS):
            att = np.asarray(data["attention_bin"], dtype=np.float64)
            bins = _bins_bp(data, att.shape[2])
            bin_attention[key] = ClassMaps(marks, class_mean(att, labels, 1), class_mean(att, labels, 0), bins)
            mark_attention[key] = ClassProfile(
                marks, class_mean(data["attention_mark"], labels, 1), class_mean(data["attention_mark"], labels, 0)
            )
            if len(examples) < MAX_EXAMPLE_RUNS:
                picks = pick_examples(data["probability"], N_EXAMPLES)
                ranks = example_ranks(data["probability"], picks)
                examples[key] = [
                    AttentionExample(
                        gene_id=data["gene_ids"][i],
                        label=int(labels[i]),
                        probability=float(data["probability"][i]),
                        marks=marks,
                        inputs=np.asarray(data["inputs"][i], dtype=np.float64),
                        bin_attention=att[i],
                        mark_attention=np.asarray(data["attention_mark"][i], dtype=np.float64),
                        bins_bp=bins,
                        rank=rank,
                        n_genes=int(np.asarray(data["probability"]).size),
                    )
                    for i, rank in zip(picks, ranks, strict=True)
                ]
        if has_arrays(data, CLASSOPT_KEYS):
            bins = _bins_bp(data, np.asarray(data["classopt_expressed"]).shape[1])
            classopt[key] = ClassMaps(marks, data["classopt_expressed"], data["classopt_not_expressed"], bins)
    for key, data in linear_runs(runs).items():
        linear[key] = LinearWeights(data["marks"], data["linear_weight"], data["linear_bias"])
    gan = {k: ClassProfile(d["marks"], d["profile_expressed"], d["profile_not_expressed"]) for k, d in gans.items()}
    return {
        "bin_attention": bin_attention,
        "mark_attention": mark_attention,
        "examples": examples,
        "classopt": classopt,
        "ig": ig,
        "saliency": saliency,
        "linear": linear,
        "gan": gan,
    }


def write_figures(data: Mapping[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """Draw every figure of the section from ``figure_data`` into ``out_dir`` (PNG + PDF each, in
    ``INTERPRET_FIGURE_STEMS`` order); file name -> written path."""
    out_dir = Path(out_dir)
    drawers: dict[str, Callable[[], Figure]] = {
        "attention_bins": lambda: draw_bin_attention(data["bin_attention"]),
        "attention_marks": lambda: draw_mark_attention(data["mark_attention"]),
        "attention_examples": lambda: draw_attention_examples(data["examples"]),
        "class_optimization": lambda: draw_class_optimization(data["classopt"]),
        "attributions": lambda: draw_attributions(data["ig"], data["saliency"]),
        "linear_weights": lambda: draw_linear_weights(data["linear"]),
        "gan_monte_carlo": lambda: draw_gan_monte_carlo(data["gan"]),
    }
    if tuple(drawers) != INTERPRET_FIGURE_STEMS:  # pragma: no cover - the plan and this module disagree
        raise RuntimeError(f"interpret figures {tuple(drawers)} != plan {INTERPRET_FIGURE_STEMS}")
    written: dict[str, Path] = {}
    for stem, draw in drawers.items():
        for path in save_figure(draw(), out_dir / stem):
            written[path.name] = path
    return written


def _section_table(path: Path, numeric: Sequence[str]) -> pd.DataFrame:
    require_table(path, "interpretation", "build the interpretation section first (the report_interpret rule)")
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    for column in numeric:
        table[column] = pd.to_numeric(table[column], errors="coerce")
    return table


def _same(values: np.ndarray, written: pd.Series) -> bool:
    """Whether ``values`` are the numbers a section table wrote (six significant digits)."""
    ours = np.asarray(values, dtype=np.float64).ravel()
    theirs = written.to_numpy(dtype=np.float64)
    return ours.shape == theirs.shape and bool(np.allclose(ours, theirs, rtol=1e-5, atol=1e-12, equal_nan=True))


def _shows_run(data: Mapping[str, Any], rows: pd.DataFrame) -> bool:
    """Whether ``signs.tsv``'s rows of one (model, cell) are this ``interpret.npz``'s marks and IG sums."""
    ig_sums = np.asarray(data["ig_all"], dtype=np.float64).sum(axis=1)
    return list(data["marks"]) == list(rows["mark"]) and _same(ig_sums, rows["ig_sum"])


def _shows_gan(data: Mapping[str, Any], rows: pd.DataFrame) -> bool:
    """Whether ``gan_sanity.tsv``'s rows of one (model, cell) are this ``gan.npz``'s Table 1."""
    return (
        list(data["sanity_source"]) == list(rows["source"])
        and _same(data["sanity_positive"], rows["positive"])
        and _same(data["sanity_negative"], rows["negative"])
    )


def _matching_file(
    folder: Path,
    name: str,
    read: Callable[[Path], dict[str, Any]],
    shows: Callable[[Mapping[str, Any], pd.DataFrame], bool],
    rows: pd.DataFrame,
    table: Path,
) -> dict[str, Any]:
    """The arrays of ``folder/seed*/name`` whose numbers are ``rows`` of ``table`` (the first such seed)."""
    candidates = sorted(folder.glob(f"seed*/{name}"))
    for path in candidates:
        data = read(path)
        if shows(data, rows):
            return data
    raise InputError(
        f"no {folder}/seed*/{name} holds the numbers of {table.name}"
        + (f" ({len(candidates)} found)" if candidates else " (none found)"),
        path=table,
        hint="the run arrays changed since the section was built: rebuild it (the report_interpret rule)",
    )


def redraw(section_dir: str | Path, results_dir: str | Path | None = None) -> list[Path]:
    """Redraw every figure of the interpretation section into ``section_dir`` (PNG + PDF each), the ones the
    report drew.

    The figures show the run arrays, which the section's tables do not hold: the runs are those of the
    section's ``signs.tsv`` and the GANs those of its ``gan_sanity.tsv``, in their order, each read from
    ``{results_dir}/interpret/{model}/{cell}/seed*/interpret.npz`` (``.../interpret/gan/{model}/{cell}/seed*/
    gan.npz``): the seed whose IG sums (sanity probabilities) are the table's. ``results_dir`` defaults to
    ``results``. An empty table gives the figures that say "not configured".
    """
    section_dir = Path(section_dir)
    root = Path("results") if results_dir is None else Path(results_dir)
    signs_path, sanity_path = section_dir / "signs.tsv", section_dir / "gan_sanity.tsv"
    signs = _section_table(signs_path, ("ig_sum",))
    sanity = _section_table(sanity_path, ("positive", "negative"))
    runs: dict[Key, dict[str, Any]] = {}
    for (model, cell), rows in signs.groupby(["model", "cell"], sort=False):
        folder = root / "interpret" / model / cell
        runs[(model, cell)] = _matching_file(folder, "interpret.npz", read_interpret, _shows_run, rows, signs_path)
    gans: dict[Key, dict[str, Any]] = {}
    for (model, cell), rows in sanity.groupby(["model", "cell"], sort=False):
        folder = root / "interpret" / "gan" / model / cell
        gans[(model, cell)] = _matching_file(folder, "gan.npz", read_gan, _shows_gan, rows, sanity_path)
    return list(write_figures(figure_data(runs, gans), section_dir).values())
