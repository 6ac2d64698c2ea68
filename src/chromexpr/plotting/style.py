"""One look for every figure: model order, one colour per model, font sizes, output formats."""

from __future__ import annotations

import zlib
from collections.abc import Iterable

# Models in the order they appear in tables and figures (others follow, alphabetically).
MODEL_ORDER = (
    "deepchrome",
    "deepchrome_avgpool",
    "deepchrome_strided",
    "attentivechrome",
    "convchrome",
    "transferchrome",
    "transferchrome_alpha",
    "transferchrome_beta",
    "transferchrome_1",
    "transferchrome_2",
    "transferchrome_3",
    "linear12",
    "logreg",
    "random_forest",
)

# Fixed colours (Okabe-Ito and Paul Tol, colour-blind safe) so a model looks the same in every figure.
MODEL_COLORS = {
    "deepchrome": "#0072B2",
    "deepchrome_avgpool": "#56B4E9",
    "deepchrome_strided": "#332288",
    "attentivechrome": "#E69F00",
    "convchrome": "#009E73",
    "transferchrome": "#D55E00",
    "linear12": "#999999",
    "logreg": "#CC79A7",
    "random_forest": "#997700",
    # the TransferChrome ablations: Paul Tol's muted scheme, distinct from each other and from the rest
    "transferchrome_alpha": "#CC6677",
    "transferchrome_beta": "#882255",
    "transferchrome_1": "#117733",
    "transferchrome_2": "#88CCEE",
    "transferchrome_3": "#DDCC77",
}
# Models without a fixed colour get one of these, picked from a hash of the name (stable across runs).
FALLBACK_COLORS = ("#44AA99", "#999933", "#AA4499", "#6699CC", "#EE8866", "#BBCC33", "#222255", "#AAAA00")

PUBLISHED_MARKER_COLOR = "#222222"

DPI = 150
FORMATS = ("png", "pdf")

# Applied while a figure is built and saved (matplotlib.rc_context), never globally.
RC = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "pdf.fonttype": 42,  # TrueType in PDFs: text stays editable
    "svg.fonttype": "none",
}


def order_models(models: Iterable[str]) -> list[str]:
    """Unique model names, known models first in ``MODEL_ORDER``, then the rest alphabetically."""
    unique = set(models)
    known = [m for m in MODEL_ORDER if m in unique]
    return known + sorted(unique - set(known))


def model_color(model: str) -> str:
    """The colour of ``model``: fixed for known models, a stable hashed pick for others."""
    if model in MODEL_COLORS:
        return MODEL_COLORS[model]
    return FALLBACK_COLORS[zlib.crc32(model.encode()) % len(FALLBACK_COLORS)]
