"""The cross-cell groups of every target (All / Highly / Somewhat / Random x Inclusive / Exclusive)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log = log_to(snakemake)

import pandas as pd

from chromexpr.experiments.cross_cell.evaluate import cross_cell_groups
from chromexpr.io.atomic import atomic_path

g = snakemake.params.groups
groups = cross_cell_groups(
    pd.read_csv(snakemake.input.correlation, sep="\t", dtype={"cell_a": str, "cell_b": str}),
    snakemake.params.cells,
    snakemake.params.targets,
    highly=g["highly"],
    somewhat=g["somewhat"],
    random_size=g["random_size"],
    seed=g["random_seed"],
)
with atomic_path(snakemake.output.groups) as tmp:
    groups.to_csv(tmp, sep="\t", index=False)
empty = groups[groups["empty"]]
log.info("%d groups, %d empty (no job): %s", len(groups), len(empty), ", ".join(empty["run"] + "/" + empty["target"]))
