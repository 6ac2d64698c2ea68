"""Build tss.tsv, windows.bed and splits.tsv (chromexpr.preprocess.reference)."""

from chromexpr.preprocess.geometry import BinGeometry
from chromexpr.preprocess.reference import prepare_reference
from chromexpr.workflow import log_to

log_to(snakemake)
ref = snakemake.params.reference
prepare_reference(
    snakemake.input.annotation, snakemake.input.chrom_sizes, snakemake.output.tss,
    snakemake.output.windows, snakemake.output.splits, out_summary=snakemake.output.summary,
    annotation_format=snakemake.params.annotation_format, expression=snakemake.input.expression,
    expression_duplicates=snakemake.params.duplicates, gene_types=ref["gene_types"],
    geometry=BinGeometry(**snakemake.params.bins), min_tss_distance=ref["min_tss_distance"],
    unknown_strand=ref["unknown_strand"], chromosomes=ref["chromosomes"], split=snakemake.params.split,
)
