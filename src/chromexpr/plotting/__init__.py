"""Figures for the reports: one style, one colour + marker per model, PNG (150 dpi) + PDF, no display needed."""

from chromexpr.lazy import lazy_exports

# loaded on first access (chromexpr.lazy): ``plotting.style`` needs no matplotlib, so code that only
# orders models or names figure files (the report manifest the Snakefile reads) does not load it
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "auroc_distribution_figure": "figures",
        "paired_scatter_figure": "figures",
        "per_cell_auroc_figure": "figures",
        "roc_curves_figure": "figures",
        "save_figure": "figures",
        "training_curves_figure": "figures",
        "ModelStyle": "style",
        "assign_styles": "style",
        "delta_e": "style",
        "model_color": "style",
        "model_style": "style",
        "order_models": "style",
    },
)

__all__ = [
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
