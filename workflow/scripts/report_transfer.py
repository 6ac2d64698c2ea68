"""Table 3, Fig. 4 and the transfer section of the report (chromexpr.experiments.transfer.report)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log = log_to(snakemake)

from pathlib import Path

from chromexpr.experiments.transfer.report import build_transfer_section

written = build_transfer_section(
    transfer_metrics=snakemake.input.transfer,
    origin_metrics=snakemake.input.origin,
    out_dir=Path(snakemake.output[0]).parent,
    source=snakemake.params.source,
    protocol=snakemake.params.protocol,
    published=snakemake.input.published,
    source_kind=snakemake.params.source_kind,
)
log.info(f"wrote {len(written)} files into {Path(snakemake.output[0]).parent}")
