"""Build tss.tsv and windows.bed of the genes the workflow bins (chromexpr.preprocess.reference.prepare_binned_genes)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log_to(snakemake)

from chromexpr.preprocess.geometry import BinGeometry
from chromexpr.preprocess.reference import prepare_binned_genes

p = snakemake.params
prepare_binned_genes(
    snakemake.input.annotation,
    snakemake.input.chrom_sizes,
    snakemake.output.tss,
    snakemake.output.windows,
    out_summary=snakemake.output.summary,
    annotation_format=p.annotation_format,
    expression=snakemake.input.expression,
    expression_duplicates=p.duplicates,
    gene_types=p.gene_types,
    geometry=BinGeometry(**p.geometry),
    unknown_strand=p.unknown_strand,
    chromosomes=p.chromosomes,
)
