"""Table 3, Fig. 4 and the transfer section of the report (chromexpr.reporting.transfer)."""

from pathlib import Path

from chromexpr.reporting.transfer import build_transfer_section
from chromexpr.workflow import log_to

log = log_to(snakemake)
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
