"""Copy one file shipped with chromexpr into resources/shipped/ (chromexpr.shipped)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log = log_to(snakemake)

from chromexpr.shipped import stage_shipped_file

stage_shipped_file(snakemake.wildcards.name, snakemake.output[0], sha256=snakemake.params.sha256)
log.info("staged %s (sha256 %s)", snakemake.wildcards.name, snakemake.params.sha256)
