"""Train one model on one cell with one seed (chromexpr.training.train_model)."""

from pathlib import Path

import torch

from chromexpr.training import train_model
from chromexpr.workflow import log_to

log = log_to(snakemake)
torch.set_num_threads(snakemake.threads)
t = snakemake.params.train
train_model(
    snakemake.input.card, snakemake.input.dataset, Path(snakemake.output.metrics).parent,
    seed=int(snakemake.wildcards.seed), device=t["device"], max_epochs=t["max_epochs"],
    patience=t["patience"], batch_size=t["batch_size"], log=log,
)
