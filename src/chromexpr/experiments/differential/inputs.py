"""The differential experiment's files, read and checked while the DAG is built (``chromexpr.inputs.check_inputs``):
the pairs (a list or a table) and the raw RNA-seq counts of the targets, with a column for every paired cell.
No workflow script imports this module."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chromexpr.experiments.differential.plan import CONFIG_KEY, cells, pairs
from chromexpr.experiments.registry import config_block
from chromexpr.inputs import REMC_COUNTS, Paths, config_path, job_input


def counts_file(config: Mapping[str, Any], paths: Paths) -> str:
    """The raw RNA-seq read counts of the targets: ``counts`` (a shipped file staged under
    ``resources/shipped/``), else the REMC source's download."""
    if not config_block(config, CONFIG_KEY)["counts"]:
        return REMC_COUNTS
    return job_input(config, f"{CONFIG_KEY}.counts", paths.resolve)


def read(config: Mapping[str, Any], cards: Mapping[str, Mapping[str, Any]], paths: Paths) -> dict[str, Any]:
    """The pairs (``pairs``: checked with the config) and the counts table (``counts``: its path as a job's input),
    with a column for every paired cell (read now when it is there; the REMC download: once it is)."""
    from chromexpr.io.tables import read_expression

    pair_list = pairs(config, paths.resolve)
    counts = counts_file(config, paths)
    local = (
        config_path(config, f"{CONFIG_KEY}.counts", paths.resolve)
        if config_block(config, CONFIG_KEY)["counts"]
        else Path(counts)
    )
    if local.exists():
        read_expression(local, cells(pair_list), duplicates=config["expression"]["duplicates"])
    return {"pairs": pair_list, "counts": counts}
