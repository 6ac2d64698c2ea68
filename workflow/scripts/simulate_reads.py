"""Simulate one demo tagAlign.gz from real genes and expression (chromexpr.sources.demo)."""

from chromexpr.io.tables import read_chrom_sizes, read_expression, read_tss_table
from chromexpr.sources.demo import simulate_reads
from chromexpr.workflow import log_to

log = log_to(snakemake)
cell, mark = snakemake.wildcards.cell, snakemake.wildcards.mark
expression = read_expression(snakemake.input.expression, [cell])[cell]
stats = simulate_reads(
    read_tss_table(snakemake.input.genes),
    expression,
    read_chrom_sizes(snakemake.input.chrom_sizes),
    cell,
    mark,
    snakemake.output[0],
    seed=snakemake.params.seed,
    depth=snakemake.params.depth,
)
log.info("simulated %s", stats)
