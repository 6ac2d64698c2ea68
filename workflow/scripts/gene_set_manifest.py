"""One gene set's split manifest among the binned genes (chromexpr.preprocess.reference.prepare_gene_set)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log_to(snakemake)

from chromexpr.preprocess.geometry import BinGeometry
from chromexpr.preprocess.reference import prepare_gene_set

p = snakemake.params
gene_set = p.gene_set
prepare_gene_set(
    snakemake.input.annotation,
    snakemake.input.chrom_sizes,
    snakemake.input.tss,
    snakemake.output.manifest,
    name=gene_set["name"],
    out_summary=snakemake.output.summary,
    annotation_format=p.annotation_format,
    expression=snakemake.input.expression,
    expression_duplicates=p.duplicates,
    gene_types=p.gene_types,
    geometry=BinGeometry(**p.geometry),
    min_tss_distance=gene_set["min_tss_distance"],
    unknown_strand=p.unknown_strand,
    chromosomes=gene_set["chromosomes"] or None,
    split=gene_set["split"],
)
