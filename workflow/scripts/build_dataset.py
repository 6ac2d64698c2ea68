"""Assemble results/datasets/{cell}.npz (or a differential dataset) from the per-mark counts (chromexpr.dataset).

The dataset keeps the genes of its gene set (params.gene_set; input.splits is its manifest). The counts were
binned once, on every gene whose window fits (no TSS filter), at the widest window any experiment asks for (params.binned); each dataset
keeps the bins of its own window (params.geometry), cut out of them.
"""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log = log_to(snakemake)

from chromexpr.dataset import assemble_dataset
from chromexpr.preprocess.geometry import BinGeometry

p = snakemake.params
binned, wanted = BinGeometry(**p.binned), BinGeometry(**p.geometry)
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
    median_over=p.median_over,
    parameters={"geometry": p.geometry, "binned": p.binned, "normalize": {"log1p": p.log1p, "fit_on": p.fit_on}},
    crop=(binned, wanted) if binned != wanted else None,
    gene_set=p.gene_set,
)
log.info("%d genes, %d marks, %d bins, %d positive", *ds.counts.shape, int(ds.label.sum()))
