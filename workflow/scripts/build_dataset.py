"""Assemble results/datasets/{cell}.npz from the per-mark counts (chromexpr.dataset)."""

from chromexpr.dataset import assemble_dataset
from chromexpr.workflow import log_to

log = log_to(snakemake)
p = snakemake.params
ds = assemble_dataset(
    {m: snakemake.input[m] for m in p.marks},
    snakemake.input.tss,
    snakemake.input.splits,
    snakemake.input.expression,
    snakemake.output[0],
    cell=snakemake.wildcards.cell,
    log1p=p.log1p,
    fit_on=p.fit_on,
    expression_duplicates=p.duplicates,
    parameters={"geometry": p.geometry, "normalize": {"log1p": p.log1p, "fit_on": p.fit_on}},
)
log.info("%d genes, %d marks, %d bins, %d positive", *ds.counts.shape, int(ds.label.sum()))
