"""One look for every figure: model order, one colour + marker + hatch per model, sizes, formats.

Every model has a ``ModelStyle``: a colour from ``PALETTE`` (24 colours from matplotlib's tab10,
tab20, tab20b and tab20c, ordered so that each next colour is the farthest, in CIELAB, from all the
ones before it), a marker (scatter plots, curves) and a hatch (bars). A card's ``display.color`` fixes
its model's colour, and its ``display.order`` the model's place (``chromexpr.models.display``). A model
without one gets a style picked from a hash of its name, so it is the same in every run;
``assign_styles`` resolves the rare clash between such picks within one figure (first the colours no
model uses yet, then the same colour with another marker and hatch), deterministically, so the models
of a figure never share a colour + marker.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from chromexpr.models.display import model_color as model_color_of_card
from chromexpr.models.display import order_models

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#637939",
    "#ff9896",
    "#aec7e8",
    "#fdae6b",
    "#393b79",
    "#74c476",
    "#8c6d31",
    "#7b4173",
    "#bd9e39",
    "#9c9ede",
    "#b5cf6b",
    "#c49c94",
    "#ad494a",
    "#de9ed6",
)
_PALETTE_INDEX = {color.lower(): slot for slot, color in enumerate(PALETTE)}
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h", "p", "d")
#: variant 0 (every known model) is unhatched; further variants of a colour get a hatch
HATCHES = ("", "////", "\\\\\\\\", "....", "||||", "----")
NOT_CONVERGED_HATCH = "xxxx"
#: smallest CIELAB distance between the colours of neighbouring models (in display order) in a figure
MIN_NEIGHBOUR_DELTA_E = 15.0

PUBLISHED_MARKER_COLOR = "#222222"

DPI = 150
FORMATS = ("png", "pdf")
#: a figure fits a ~1200 px wide HTML page at DPI without scaling down
PAGE_WIDTH_IN = 8.0

# Applied while a figure is built and saved (matplotlib.rc_context), never globally.
RC = {
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8,
    "figure.titlesize": 11,
    "figure.labelsize": 9,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "hatch.linewidth": 0.6,
    "pdf.fonttype": 42,  # TrueType in PDFs: text stays editable
    "svg.fonttype": "none",
}


@dataclass(frozen=True)
class ModelStyle:
    """How one model is drawn: ``color`` (hex), ``marker`` (scatter, curves), ``hatch`` (bars)."""

    color: str
    marker: str
    hatch: str
    slot: int  # palette index
    variant: int  # 0 for the first use of a colour, 1, 2, ... for the same colour with other marks

    @property
    def linestyle(self) -> str:
        return ("-", "--", "-.", ":")[self.variant % 4]


def _style(slot: int, variant: int) -> ModelStyle:
    slot %= len(PALETTE)
    variant %= len(MARKERS)
    return ModelStyle(
        color=PALETTE[slot],
        marker=MARKERS[(slot + variant) % len(MARKERS)],
        hatch=HATCHES[variant % len(HATCHES)],
        slot=slot,
        variant=variant,
    )


def _hashed(model: str) -> tuple[int, int]:
    h = zlib.crc32(model.encode())
    return h % len(PALETTE), (h // len(PALETTE)) % 3


def _fixed(model: str) -> ModelStyle | None:
    """The style a card's ``display.color`` fixes (its palette slot, or that colour with a hashed marker)."""
    color = model_color_of_card(model)
    if color is None:
        return None
    if color.lower() in _PALETTE_INDEX:
        return _style(_PALETTE_INDEX[color.lower()], 0)
    return replace(_style(*_hashed(model)), color=color)


def model_style(model: str) -> ModelStyle:
    """The style of ``model`` on its own: its card's colour where it has one, a stable hashed pick otherwise."""
    return _fixed(model) or _style(*_hashed(model))


def model_color(model: str) -> str:
    """The colour of ``model`` (see ``model_style``)."""
    return model_style(model).color


def srgb_to_lab(color: str) -> np.ndarray:
    """CIELAB (D65) coordinates of a ``#rrggbb`` colour."""
    rgb = np.array([int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ lin / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e(a: str, b: str) -> float:
    """CIE76 colour difference of two ``#rrggbb`` colours (about 2.3 is just noticeable)."""
    return float(np.linalg.norm(srgb_to_lab(a) - srgb_to_lab(b)))


def assign_styles(models: Iterable[str]) -> dict[str, ModelStyle]:
    """Styles for the models of one figure, in ``order_models`` order, no two the same.

    Models whose card fixes a colour keep it. Each other model starts at its hashed pick and takes the
    first free one from there: a colour no model of the figure uses yet (while there are such),
    else a used colour with a new marker and hatch; always at least ``MIN_NEIGHBOUR_DELTA_E`` from
    the colour of the model before it.
    """
    ordered = order_models(models)
    styles: dict[str, ModelStyle] = {m: style for m in ordered if (style := _fixed(m)) is not None}
    used = {(s.slot, s.variant) for s in styles.values()}
    n = len(PALETTE)
    previous: str | None = None
    for model in ordered:
        if model not in styles:
            slot0, variant0 = _hashed(model)
            used_slots = {s for s, _ in used}
            candidates = [(slot0 + k) % n for k in range(n)]
            fresh = [(s, 0) for s in candidates if s not in used_slots]
            reused = [(s, (variant0 + v) % len(MARKERS)) for v in range(1, len(MARKERS)) for s in candidates]
            for slot, variant in fresh + reused:
                if (slot, variant) in used:
                    continue
                if previous is not None and delta_e(PALETTE[slot], styles[previous].color) < MIN_NEIGHBOUR_DELTA_E:
                    continue
                styles[model] = _style(slot, variant)
                used.add((slot, variant))
                break
            else:  # more models than styles: repeat, deterministically
                styles[model] = _style(slot0, variant0)
        previous = model
    return {m: styles[m] for m in ordered}
