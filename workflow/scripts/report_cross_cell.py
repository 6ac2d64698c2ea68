"""Figs. 3, 5, 6, 7, 9 and the cross-cell section of the report (chromexpr.experiments.cross_cell.report)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log = log_to(snakemake)

from pathlib import Path

from chromexpr.experiments.cross_cell.report import build_cross_cell_section

correlations = {Path(p).stem.removeprefix("correlation_"): p for p in snakemake.input.correlation}
written = build_cross_cell_section(
    run_metrics=list(snakemake.input.runs),
    baseline_metrics=list(snakemake.input.baseline),
    groups=snakemake.input.groups,
    correlations=correlations,
    expression=snakemake.input.expression,
    test_on_rest=snakemake.input.test_on_rest,
    out_dir=Path(snakemake.output[0]).parent,
    model=snakemake.params.model,
    correlation_split=snakemake.params.correlation_split,
    thresholds=tuple(snakemake.params.thresholds),
    random_size=snakemake.params.random_size,
    random_seed=snakemake.params.random_seed,
    source_kind=snakemake.params.source_kind,
)
log.info(f"wrote {len(written)} files into {Path(snakemake.output[0]).parent}")
