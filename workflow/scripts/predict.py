"""Apply one trained run to one sample (chromexpr.predict.predict_sample)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log = log_to(snakemake)

from chromexpr.predict import predict_sample, write_prediction
from chromexpr.preprocess.counting import is_bigwig
from chromexpr.training.runtime import setup_torch

setup_torch(snakemake)
files = {
    name.removeprefix("mark_"): ("bigwig" if is_bigwig(path) else "reads", path)
    for name, path in snakemake.input.items()
    if name.startswith("mark_")
}
result = predict_sample(
    snakemake.input.model,
    files,
    snakemake.input.tss,
    stat=snakemake.params.stat,
    depth=snakemake.params.depth,
    engine=snakemake.params.engine,
    chrom_sizes=snakemake.input.get("chrom_sizes"),
)
write_prediction(result, snakemake.output.table)
log.info(
    "%s: %d genes -> %s (%d without data left out: the sidecar lists them)",
    snakemake.wildcards.sample,
    len(result.table),
    snakemake.output.table,
    result.info["genes_left_out"],
)
