"""The plotting base, which knows no experiment: one style (``style``: a model's colour, marker and hatch from
its card, the sizes and formats) and the shared figure helpers (``base``: ``save_figure``, grids, legends, the
figure that says why there is nothing to draw). Each experiment's figures are in its package
(``chromexpr.experiments.<name>.figures``).
"""

from chromexpr.lazy import lazy_exports

# loaded on first access (chromexpr.lazy): ``plotting.style`` needs no matplotlib, so code that only
# orders models or names figure files (the report files a plan lists) does not load it
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "save_figure": "base",
        "ModelStyle": "style",
        "assign_styles": "style",
        "delta_e": "style",
        "model_color": "style",
        "model_style": "style",
        "order_models": "style",
    },
)

__all__ = ["ModelStyle", "assign_styles", "delta_e", "model_color", "model_style", "order_models", "save_figure"]
