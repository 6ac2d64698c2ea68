"""Redraw every report figure from the tables in results/report/ (no training, no run files)."""

from chromexpr.reporting import draw_figures
from chromexpr.workflow import log_to

log_to(snakemake)
draw_figures(snakemake.params.tables)
