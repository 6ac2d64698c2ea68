"""One cross-cell run: a group's cells train and select, the target's test genes are scored."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log = log_to(snakemake)

from pathlib import Path

from chromexpr.experiments.cross_cell.evaluate import read_groups
from chromexpr.training import train_cells
from chromexpr.training.runtime import job_card, setup_torch

setup_torch(snakemake)
wc, t = snakemake.wildcards, snakemake.params.train
groups = read_groups(snakemake.input.groups)
row = groups[(groups["run"] == wc.run) & (groups["target"] == wc.target)].iloc[0]
train_cells(
    job_card(snakemake, snakemake.params.model),
    list(snakemake.input.train),
    snakemake.input.target,
    Path(snakemake.output.metrics).parent,
    info={
        "experiment": "cross_cell",
        "run": wc.run,
        "group": row["group"],
        "mode": row["mode"],
        "target": wc.target,
        "train_cells": row["cells"],
        "n_train_cells": int(row["n_cells"]),
        "mean_correlation": float(row["mean_correlation"]),
    },
    seed=int(wc.seed),
    device=t.get("device", "auto"),
    max_epochs=t.get("max_epochs"),
    patience=t.get("patience"),
    batch_size=t.get("batch_size"),
    log=log,
)
