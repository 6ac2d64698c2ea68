"""Test-on-Rest: every single-cell run of the model scored on every other cell's test genes (no training)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log = log_to(snakemake)

from pathlib import Path

import pandas as pd

from chromexpr.experiments.cross_cell.test_on_rest import test_on_rest_scores
from chromexpr.io.atomic import atomic_path
from chromexpr.training.runtime import job_card, setup_torch

setup_torch(snakemake)
table = test_on_rest_scores(
    job_card(snakemake, snakemake.params.model),
    run_dirs=[Path(p).parent for p in snakemake.input.metrics],
    datasets=dict(zip(snakemake.params.cells, snakemake.input.datasets, strict=True)),
    correlation=pd.read_csv(snakemake.input.correlation, sep="\t", dtype={"cell_a": str, "cell_b": str}),
)
with atomic_path(snakemake.output.table) as tmp:
    table.to_csv(tmp, sep="\t", index=False)
log.info("Test-on-Rest: %d model x cell pairs", len(table))
