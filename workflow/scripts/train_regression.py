"""Train one regression run (a fold or cell-specific sub-model, the classifier, or a baseline) with one seed
(chromexpr.training.regression.train_regression)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log = log_to(snakemake)

from pathlib import Path

from chromexpr.training.regression import train_regression
from chromexpr.training.runtime import job_card, setup_torch

setup_torch(snakemake)
p = snakemake.params.run
w = snakemake.wildcards
train_regression(
    job_card(snakemake),
    dict(snakemake.input),
    Path(snakemake.output.metrics).parent,
    train_cells=p["train_cells"],
    valid_cells=p["valid_cells"],
    test_cells=p["test_cells"],
    target=p["target"],
    selection=p["selection"],
    trainval=p["trainval"],
    seed=int(w.seed),
    device=p["device"] if snakemake.params.torch else "cpu",
    max_epochs=p["max_epochs"] if snakemake.params.torch else None,
    patience=p["patience"] if snakemake.params.torch else None,
    log=log,
    info={"part": w.part},
)
