"""Export one dataset in the DeepChrome CSV format (chromexpr.sources.processed)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log_to(snakemake)

from chromexpr.sources.processed import export_deepchrome_csv

export_deepchrome_csv(snakemake.input[0], snakemake.output[0])
