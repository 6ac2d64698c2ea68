"""One row per cell: genes, label balance, mean signal, per-mark-mean baseline AUROC."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log_to(snakemake)

from chromexpr.evaluation.summary import summarize_datasets

summarize_datasets(list(snakemake.input), snakemake.output[0])
