"""One row per cell: genes, label balance, mean signal, per-mark-mean baseline AUROC."""

from chromexpr.evaluation.summary import summarize_datasets
from chromexpr.workflow import log_to

log_to(snakemake)
summarize_datasets(list(snakemake.input), snakemake.output[0])
