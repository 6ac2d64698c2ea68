"""Build tss.tsv, windows.bed, splits.tsv and each other gene set's manifest (chromexpr.preprocess.reference)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log_to(snakemake)

from chromexpr.preprocess.geometry import BinGeometry
from chromexpr.preprocess.reference import prepare_reference

p = snakemake.params
prepare_reference(
    snakemake.input.annotation,
    snakemake.input.chrom_sizes,
    snakemake.output.tss,
    snakemake.output.windows,
    snakemake.output.splits,
    out_summary=snakemake.output.summary,
    annotation_format=p.annotation_format,
    expression=snakemake.input.expression,
    expression_duplicates=p.duplicates,
    gene_types=p.gene_types,
    geometry=BinGeometry(**p.geometry),
    min_tss_distance=p.min_tss_distance,
    unknown_strand=p.unknown_strand,
    chromosomes=p.chromosomes,
    split=p.split,
    gene_sets=p.gene_sets,
    out_gene_sets=dict(zip(p.gene_sets, snakemake.output.gene_sets, strict=True)),
)
