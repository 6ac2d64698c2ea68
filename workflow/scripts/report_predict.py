"""The report's predictions section (chromexpr.experiments.predict.report)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log = log_to(snakemake)

from pathlib import Path

from chromexpr.experiments.predict.report import build_predict_section

written = build_predict_section(
    list(snakemake.input.tables),
    Path(snakemake.output[0]).parent,
    source_kind=snakemake.params.source_kind,
)
log.info("predictions section: %d files", len(written))
