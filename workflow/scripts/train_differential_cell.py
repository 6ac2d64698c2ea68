"""Train one cell's run of a card that pair models are assembled from (DeepDiff's AttentiveChrome baseline: the
cell's own train genes, selected on its own validation genes, its test genes scored once), with one seed
(chromexpr.training.regression.train_regression)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log = log_to(snakemake)

from pathlib import Path

from chromexpr.training.regression import train_regression
from chromexpr.training.runtime import job_card, setup_torch

setup_torch(snakemake)
t = snakemake.params.train
cell = snakemake.wildcards.cell
train_regression(
    job_card(snakemake),
    {cell: snakemake.input.dataset},
    Path(snakemake.output.metrics).parent,
    train_cells=[cell],
    valid_cells=[cell],
    test_cells=[cell],
    seed=int(snakemake.wildcards.seed),
    device=t["device"],
    max_epochs=t["max_epochs"],
    patience=t["patience"],
    log=log,
    info={"part": f"cell_{cell}"},
)
