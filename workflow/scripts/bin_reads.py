"""Count reads (or bigWig signal) per bin for one cell and mark (chromexpr.preprocess.counting)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log_to(snakemake)

from chromexpr.preprocess.counting import bin_file
from chromexpr.preprocess.geometry import BinGeometry

b = snakemake.params.binning  # engine for reads; bigwig_stat and missing_chromosomes for bigWig
bin_file(
    snakemake.input.reads,
    snakemake.input.tss,
    snakemake.output.counts,
    snakemake.output.stats,
    geometry=BinGeometry(**snakemake.params.geometry),
    engine=b.get("engine", "native"),
    bigwig_stat=b.get("bigwig_stat", "mean"),
    missing_chromosomes=b.get("missing_chromosomes", "error"),
    chrom_sizes=snakemake.input.chrom_sizes,
)
