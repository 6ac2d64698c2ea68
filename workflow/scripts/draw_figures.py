"""Redraw every report figure from the tables in results/report/ (no training, no run files)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log = log_to(snakemake)

from pathlib import Path

from chromexpr.reporting import draw_figures
from chromexpr.reporting.cross_cell import draw_cross_cell_figures
from chromexpr.reporting.differential import draw_differential_figures
from chromexpr.reporting.transfer import draw_transfer_figures

tables = Path(snakemake.params.tables)
sections = [
    tables / "transfer" / "per_target.tsv",
    tables / "cross_cell" / "experiments.tsv",
    tables / "differential" / "per_pair.tsv",
]
if (tables / "per_cell_auroc.tsv").is_file() or not any(p.is_file() for p in sections):
    draw_figures(tables)  # says what to do when there is no report yet
if (tables / "transfer" / "per_target.tsv").is_file():
    draw_transfer_figures(tables / "transfer")
if (tables / "cross_cell" / "experiments.tsv").is_file():
    draw_cross_cell_figures(tables / "cross_cell", snakemake.params.correlations)
if (tables / "differential" / "per_pair.tsv").is_file():
    draw_differential_figures(tables / "differential")
log.info("figures redrawn under %s", tables)
