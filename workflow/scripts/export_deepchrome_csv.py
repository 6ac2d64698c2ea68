"""Export one dataset in the DeepChrome CSV format (chromexpr.sources.processed)."""

from chromexpr.sources.processed import export_deepchrome_csv
from chromexpr.workflow import log_to

log_to(snakemake)
export_deepchrome_csv(snakemake.input[0], snakemake.output[0])
