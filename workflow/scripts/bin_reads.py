"""Count reads (or bigWig signal) per bin for one cell and mark (chromexpr.preprocess.counting)."""

from chromexpr.preprocess.counting import bin_file
from chromexpr.preprocess.geometry import BinGeometry
from chromexpr.workflow import log_to

log_to(snakemake)
bin_file(
    snakemake.input.reads, snakemake.input.tss, snakemake.output.counts, snakemake.output.stats,
    geometry=BinGeometry(**snakemake.params.bins), engine=snakemake.params.engine,
    bigwig_stat=snakemake.params.bigwig_stat, chrom_sizes=snakemake.input.chrom_sizes,
)
