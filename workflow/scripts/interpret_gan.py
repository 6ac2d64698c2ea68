"""DeepChrome 2.0's GAN Monte-Carlo of one run (chromexpr.experiments.interpret.evaluate.gan_run)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log = log_to(snakemake)

from chromexpr.experiments.interpret.evaluate import gan_run
from chromexpr.training.runtime import setup_torch

setup_torch(snakemake)
wc, gan = snakemake.wildcards, snakemake.params.gan
out = gan_run(
    snakemake.input.model.rsplit("/", 1)[0],
    snakemake.input.dataset,
    snakemake.output[0],
    cell=wc.cell,
    seed=int(wc.seed),
    epochs=gan["epochs"],
    n_samples=gan["n_samples"],
    top_k=gan["top_k"],
    sanity_n=gan["sanity_n"],
)
log.info(f"GAN of {wc.model} {wc.cell} seed {wc.seed}: {gan['n_samples']:,} samples -> {out}")
