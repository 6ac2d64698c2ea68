"""Ingest a released processed dataset (DeepChrome or DeepDiff CSVs) (chromexpr.sources.processed)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log_to(snakemake)

from chromexpr.sources.processed import ingest_processed

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
    median_over=snakemake.params.median_over,
)
