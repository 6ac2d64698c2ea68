"""The differential experiment's files, read and checked while the DAG is built (``chromexpr.inputs.check_inputs``):
the pairs (a list or a table) and the raw RNA-seq counts of the targets, with a column for every paired cell.
No workflow script imports this module."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chromexpr.experiments.differential.plan import CONFIG_KEY, cells, pairs
from chromexpr.experiments.registry import config_block
from chromexpr.inputs import REMC_COUNTS, Paths, as_job_input, config_path


def read(config: Mapping[str, Any], cards: Mapping[str, Mapping[str, Any]], paths: Paths) -> dict[str, Any]:
    """The pairs (``pairs``: checked with the config) and the raw RNA-seq counts of the targets (``counts``: its
    path as a job's input: the configured table, a shipped one staged under ``resources/shipped/``, else the REMC
    source's download), with a column for every paired cell (read now when it is there; the download: once it
    is)."""
    from chromexpr.io.tables import read_expression

    pair_list = pairs(config, paths.resolve)
    key = f"{CONFIG_KEY}.counts"
    if config_block(config, key):
        local = config_path(config, key, paths.resolve)
        counts = as_job_input(config, key, local)
    else:
        local, counts = Path(REMC_COUNTS), REMC_COUNTS
    if local.exists():
        read_expression(local, cells(pair_list), duplicates=config["expression"]["duplicates"])
    return {"pairs": pair_list, "counts": counts}
