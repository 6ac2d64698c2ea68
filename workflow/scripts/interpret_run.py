"""Every interpretation of one single-cell run's test genes (chromexpr.experiments.interpret.evaluate.interpret_run)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log = log_to(snakemake)

from chromexpr.experiments.interpret.evaluate import interpret_run
from chromexpr.training.runtime import setup_torch

setup_torch(snakemake)
wc = snakemake.wildcards
out = interpret_run(
    snakemake.input.model.rsplit("/", 1)[0],
    snakemake.input.dataset,
    snakemake.output[0],
    cell=wc.cell,
    seed=int(wc.seed),
    ig_steps=snakemake.params.ig_steps,
    class_optimization=snakemake.params.class_optimization,
)
log.info(f"{wc.model} {wc.cell} seed {wc.seed} -> {out}")
