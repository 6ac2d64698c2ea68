"""Reports: assemble what evaluation/ computes and plotting/ draws into one folder and one HTML page.

``build_report`` writes the single-cell report (tables, figures, ``provenance.json``, ``index.html`` from
the Jinja2 templates in ``templates/``); ``draw_figures`` redraws its figures from the tables alone.
"""

from chromexpr.reporting.figures import draw_figures
from chromexpr.reporting.single_cell import build_report, report_files

__all__ = ["build_report", "draw_figures", "report_files"]
