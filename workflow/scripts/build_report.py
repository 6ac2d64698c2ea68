"""Build results/report/ from every run's metrics.json (chromexpr.evaluation.report)."""

from pathlib import Path

from chromexpr.evaluation.report import build_report
from chromexpr.workflow import log_to

log_to(snakemake)
build_report(
    list(snakemake.input.metrics),
    Path(snakemake.output.html).parent,
    published=snakemake.input.published,
    reference_model=snakemake.params.reference_model,
    title=snakemake.params.title,
)
