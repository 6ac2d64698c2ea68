"""Reports: assemble what evaluation/ computes and plotting/ draws into one folder and one HTML page.

``build_report`` writes the single-cell report (tables, figures, ``provenance.json``, ``index.html`` from
the Jinja2 templates in ``templates/``); ``draw_figures`` redraws its figures from the tables alone.
"""

from chromexpr.lazy import lazy_exports

# loaded on first access (chromexpr.lazy): the Snakefile imports reporting.manifest, not matplotlib
__getattr__, __dir__ = lazy_exports(
    __name__, {"draw_figures": "figures", "build_report": "single_cell", "report_files": "single_cell"}
)

__all__ = ["build_report", "draw_figures", "report_files"]
