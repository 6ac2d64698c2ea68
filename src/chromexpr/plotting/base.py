"""The plotting base every figure of the report is drawn with: writing a figure (``save_figure``: a 150-dpi
PNG and a vector PDF, atomically), the figure that says why there is nothing to draw, grids of panels, legend
widths, legend handles in a model's style, and the axes of grouped bars.

Figures are built with ``Figure()`` rather than pyplot, so nothing needs a display and no global figure state is
kept; each is at most ``PAGE_WIDTH_IN`` (8 in, 1200 px at 150 dpi) wide, so a ~1200 px page shows it at full
size. Each experiment's figures (``chromexpr.experiments.<name>.figures``) build on these.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.textpath import TextPath
from matplotlib.ticker import MaxNLocator

from chromexpr.io.atomic import atomic_path
from chromexpr.plotting.style import DPI, FORMATS, RC, ModelStyle

AUROC_LABEL = "test AUROC"
MAX_COLUMNS = 4
#: bar edges and hatches (a hatch takes the edge colour)
EDGE_COLOR = "#333333"


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


def axis_floor(values: np.ndarray) -> float:
    """A lower y limit for AUROC bars: at least 0.02 below the smallest value, on a 0.05 grid.

    Per-cell differences between models are a few hundredths; bars from 0 would hide them.
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.5
    return float(max(0.0, math.floor((finite.min() - 0.02) / 0.05) * 0.05))


def axis_ceiling(values: np.ndarray) -> float:
    """An upper y limit for AUROC bars: just above the largest value, on a 0.01 grid, at most 1."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 1.0
    return float(min(1.0, math.ceil((finite.max() + 0.005) / 0.01) * 0.01))


def text_width_in(text: str, fontsize: float, weight: str = "normal") -> float:
    """The width in inches of one line of ``text`` at ``fontsize`` points, in the report's font (measured on the
    glyph outlines, so no renderer is needed)."""
    if not text.strip():
        return 0.0
    prop = FontProperties(size=fontsize, weight=weight)
    return float(TextPath((0, 0), text, prop=prop).get_extents().width) / 72


def fit_title(text: str, width_in: float, fontsize: float | None = None, weight: str = "normal") -> str:
    """``text`` broken at spaces into lines no wider than ``width_in`` inches (less a small margin) at
    ``fontsize`` (default: the figure title's size) and ``weight``, so that a title is never cut at the figure's
    edges. Line breaks already in ``text`` are kept; a single word wider than the figure stays whole."""
    size = float(fontsize if fontsize is not None else RC["figure.titlesize"])
    room = max(0.5, width_in - 0.25)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        words = paragraph.split(" ")
        line = ""
        for word in words:
            candidate = f"{line} {word}" if line else word
            if line and text_width_in(candidate, size, weight) > room:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return "\n".join(lines)


def fitted_suptitle(fig: Figure, text: str, fontsize: float | None = None, **kw):
    """``fig.suptitle`` with ``text`` wrapped to the figure's width (``fit_title``)."""
    size = float(fontsize if fontsize is not None else RC["figure.titlesize"])
    width = float(fig.get_size_inches()[0])
    return fig.suptitle(fit_title(text, width, size), fontsize=size, **kw)


def message_figure(text: str, title: str | None = None) -> Figure:
    """A small figure that says why there is nothing to draw (instead of failing the report)."""
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(6, 2.2), layout="constrained")
        ax = fig.add_subplot()
        ax.axis("off")
        ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True)
        if title:
            ax.set_title(title)
    return fig


def grid(n_panels: int, max_columns: int = MAX_COLUMNS) -> tuple[int, int]:
    """(rows, columns) of a grid for ``n_panels`` panels, at most ``max_columns`` wide, balanced."""
    ncols = min(max_columns, max(1, n_panels))
    nrows = math.ceil(n_panels / ncols)
    ncols = math.ceil(n_panels / nrows)  # 5 panels: 3 + 2, not 4 + 1
    return nrows, ncols


def legend_columns(labels: Sequence[str], width_in: float, fontsize: float = 8.0) -> int:
    """How many legend columns of ``labels`` fit in ``width_in`` inches."""
    longest = max((len(s) for s in labels), default=1)
    entry_in = 0.45 + longest * fontsize * 0.55 / 72  # handle + text, ~0.55 em per character
    return int(max(1, min(len(labels), width_in // entry_in)))


def bar_handle(style: ModelStyle, label: str) -> Patch:
    """A legend entry for a bar of ``style``."""
    return Patch(
        facecolor=style.color,
        hatch=style.hatch or None,
        edgecolor=EDGE_COLOR if style.hatch else style.color,
        linewidth=0.4,
        label=label,
    )


def line_handle(style: ModelStyle, label: str, **kw) -> Line2D:
    """A legend entry for a curve or points of ``style``."""
    return Line2D(
        [], [], color=style.color, marker=style.marker, linestyle=style.linestyle, markersize=4, label=label, **kw
    )


def sd_bars(ax, x: np.ndarray, mean: np.ndarray, sd: np.ndarray, *, wide: bool, label: str) -> None:
    """Standard-deviation error bars on grouped bars (caps only when the bars are wide enough)."""
    ax.errorbar(
        x, mean, yerr=sd, fmt="none", ecolor="#222222", elinewidth=0.6, capsize=1.2 if wide else 0, label=f"sd {label}"
    )


def finish_bar_axis(
    ax, x: np.ndarray, labels: Sequence[str], *, rotate: bool, per_row: int, ylim: tuple[float, float]
) -> None:
    """The x labels (rotated when crowded), limits, y ticks and grid of one row of grouped bars."""
    ax.set_xticks(x)
    ax.set_xticklabels(
        labels,
        rotation=40 if rotate else 0,
        ha="right" if rotate else "center",
        rotation_mode="anchor" if rotate else "default",
    )
    ax.tick_params(axis="x", length=0)
    ax.set_xlim(-0.55, per_row - 0.45)
    ax.set_ylim(*ylim)
    ax.yaxis.set_major_locator(MaxNLocator(4))
    ax.yaxis.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)


def cell_colors(cells: Sequence[str]) -> dict[str, tuple]:
    """One colour per cell: tab10 for up to ten cells, else evenly spaced along viridis."""
    if len(cells) <= 10:
        return {c: colormaps["tab10"](i) for i, c in enumerate(cells)}
    cmap = colormaps["viridis"]
    return {c: cmap(i / max(1, len(cells) - 1) * 0.9) for i, c in enumerate(cells)}


def format_p(p: object) -> str:
    """A p-value as the report writes it everywhere, in tables and in figure titles alike: two
    significant digits from 0.001 up, else scientific (``0.19``, ``0.0625`` -> ``0.062``, ``3.2e-05``),
    ``n/a`` for a skipped test."""
    if p is None or p is pd.NA:
        return "n/a"
    p = float(p)
    if math.isnan(p):
        return "n/a"
    return f"{p:.2g}" if p >= 1e-3 else f"{p:.1e}"
