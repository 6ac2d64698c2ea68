"""Figures for the reports: one style, one colour + marker per model, PNG (150 dpi) + PDF, no display needed."""

from chromexpr.plotting.figures import (
    auroc_distribution_figure,
    paired_scatter_figure,
    per_cell_auroc_figure,
    roc_curves_figure,
    save_figure,
    training_curves_figure,
)
from chromexpr.plotting.style import (
    MODEL_COLORS,
    MODEL_ORDER,
    ModelStyle,
    assign_styles,
    delta_e,
    model_color,
    model_style,
    order_models,
)

__all__ = [
    "MODEL_COLORS",
    "MODEL_ORDER",
    "ModelStyle",
    "assign_styles",
    "auroc_distribution_figure",
    "delta_e",
    "model_color",
    "model_style",
    "order_models",
    "paired_scatter_figure",
    "per_cell_auroc_figure",
    "roc_curves_figure",
    "save_figure",
    "training_curves_figure",
]
