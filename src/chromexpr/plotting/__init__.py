"""Figures for the reports: one style, one colour per model, PNG (150 dpi) + PDF, no display needed."""

from chromexpr.plotting.figures import (
    auroc_distribution_figure,
    paired_scatter_figure,
    per_cell_auroc_figure,
    save_figure,
)
from chromexpr.plotting.style import MODEL_COLORS, MODEL_ORDER, model_color, order_models

__all__ = [
    "MODEL_COLORS",
    "MODEL_ORDER",
    "auroc_distribution_figure",
    "model_color",
    "order_models",
    "paired_scatter_figure",
    "per_cell_auroc_figure",
    "save_figure",
]
