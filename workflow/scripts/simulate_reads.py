"""Simulate one demo tagAlign.gz from real genes and expression (chromexpr.sources.demo)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log = log_to(snakemake)

from chromexpr.io.tables import read_chrom_sizes, read_expression, read_tss_table
from chromexpr.sources.demo import simulate_reads

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
