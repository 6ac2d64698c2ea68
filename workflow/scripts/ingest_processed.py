"""Ingest a released processed dataset (DeepChrome or DeepDiff CSVs) (chromexpr.sources.processed)."""

from chromexpr.sources.processed import ingest_processed
from chromexpr.workflow import log_to

log_to(snakemake)
ingest_processed(
    snakemake.params.fmt,
    {s: snakemake.input[s] for s in ("train", "valid", "test")},
    snakemake.wildcards.cell,
    snakemake.output[0],
    expression=snakemake.input.expression or None,
    log1p=snakemake.params.log1p,
    fit_on=snakemake.params.fit_on,
    window_bp=snakemake.params.window_bp,
    expression_duplicates=snakemake.params.duplicates,
)
