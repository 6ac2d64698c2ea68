"""Train one differential model on one pair of cells with one seed (chromexpr.training.train_differential)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log = log_to(snakemake)

from pathlib import Path

from chromexpr.training.differential import train_differential
from chromexpr.training.runtime import job_card, setup_torch

setup_torch(snakemake)
t = snakemake.params.train  # {} for scikit-learn baselines, which take no epochs or device
# a model assembled from two cell runs (DeepDiff's AttentiveChrome baseline) gets their folders
cells = [f for f in getattr(snakemake.input, "cell_runs", []) if f.endswith("/metrics.json")]
train_differential(
    job_card(snakemake),
    snakemake.input.a,
    snakemake.input.b,
    Path(snakemake.output.metrics).parent,
    seed=int(snakemake.wildcards.seed),
    device=t.get("device", "cpu"),
    max_epochs=t.get("max_epochs"),
    patience=t.get("patience"),
    log=log,
    cell_runs=dict(zip("ab", (Path(f).parent for f in cells), strict=True)) if cells else None,
)
