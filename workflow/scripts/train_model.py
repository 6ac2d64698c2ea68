"""Train one model on one cell with one seed (chromexpr.training.train_model)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log = log_to(snakemake)

from pathlib import Path

from chromexpr.training import train_model
from chromexpr.training.runtime import job_card, setup_torch

setup_torch(snakemake)
t = snakemake.params.train  # {} for scikit-learn cards, which take no epochs or device
train_model(
    job_card(snakemake),
    snakemake.input.dataset,
    Path(snakemake.output.metrics).parent,
    seed=int(snakemake.wildcards.seed),
    device=t.get("device", "cpu"),
    max_epochs=t.get("max_epochs"),
    patience=t.get("patience"),
    batch_size=t.get("batch_size"),
    log=log,
)
