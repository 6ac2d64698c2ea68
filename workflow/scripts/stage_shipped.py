"""Copy one file shipped with chromexpr into resources/shipped/ (chromexpr.shipped)."""

from chromexpr.shipped import stage_shipped_file
from chromexpr.workflow import log_to

log = log_to(snakemake)
stage_shipped_file(snakemake.wildcards.name, snakemake.output[0], sha256=snakemake.params.sha256)
log.info("staged %s (sha256 %s)", snakemake.wildcards.name, snakemake.params.sha256)
