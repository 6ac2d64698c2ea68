"""The cross-cell experiment's runs, read while the DAG is built: the expression correlation, the groups per
target (a checkpoint: membership depends on the data), one run per non-empty group and target, and Test-on-Rest
(every single-cell run of the model scored on every other cell)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chromexpr.errors import InputError
from chromexpr.experiments.registry import SINGLE_CELL_RUN, block_enabled, config_block
from chromexpr.reporting.manifest import figure_files

TITLE = "Cross-cell groups (DeepChrome 2.0)"
CONFIG_KEY = "experiments.cross_cell"
SECTION = "cross_cell"
RUN = "results/runs/cross_cell/{run}/{target}/seed{seed}"
CORRELATION_SPLITS = ("train", "valid", "test")


def _block(config: Mapping[str, Any]) -> Mapping[str, Any]:
    return config_block(config, CONFIG_KEY)


def enabled(config: Mapping[str, Any]) -> bool:
    return block_enabled(config, CONFIG_KEY)


def models(config: Mapping[str, Any]) -> list[str]:
    """The model of every cross-cell run (none when the experiment is off)."""
    return [_block(config)["model"]] if enabled(config) else []


def single_cell_models(config: Mapping[str, Any]) -> list[str]:
    """Its baseline (each target's own run) and Test-on-Rest are the model's single-cell runs."""
    return models(config)


def targets(config: Mapping[str, Any]) -> list[str]:
    """Target cells: ``targets``, or every cell."""
    listed = _block(config)["targets"]
    return list(listed) if listed else list(config["cells"])


def check(config: Mapping[str, Any], cards: Mapping[str, Mapping[str, Any]], resolve: Callable[[str], Any]) -> None:
    """Two cells at least, targets that exist, a torch model, thresholds in order."""
    block = _block(config)
    cells = list(config["cells"])
    key = "experiments.cross_cell"
    if len(cells) < 2:
        raise InputError(
            "the cross-cell experiment needs at least two cells",
            key=key,
            hint="add cells, or switch it off: experiments: {cross_cell: {enabled: false}}",
        )
    unknown = [t for t in targets(config) if t not in cells]
    if unknown:
        raise InputError(f"target cell(s) {', '.join(unknown)} not in 'cells'", key=f"{key}.targets")
    if cards[block["model"]]["framework"] != "torch":
        raise InputError(
            f"'{block['model']}' is a scikit-learn card; the cross-cell runs train torch models",
            key=f"{key}.model",
            hint="the paper: deepchrome_avgpool",
        )
    if block["somewhat"] > block["highly"]:
        raise InputError(
            f"somewhat ({block['somewhat']}) is above highly ({block['highly']})",
            key=f"{key}.somewhat",
            hint="the paper: highly 0.75, somewhat 0.5",
        )


def run_inputs(groups: Any, groups_file: str, run: str, target: str) -> dict[str, Any]:
    """A group run's inputs, from the groups table (``evaluate.read_groups`` of the checkpoint's
    ``groups_file``): that table, the training cells' datasets, the target's.

    Raises:
        InputError: the group is empty (it has no run).
    """
    row = groups[(groups["run"] == run) & (groups["target"] == target)].iloc[0]
    if row["empty"]:
        raise InputError(
            f"group {run} of {target} is empty: no run",
            path=groups_file,
            hint="empty groups have no job; ask for the report, not for this run",
        )
    return {
        "groups": groups_file,
        "train": [f"results/datasets/{c}.npz" for c in row["cells"].split(",")],
        "target": f"results/datasets/{target}.npz",
    }


def run_files(groups: Any, seeds: list[int], name: str) -> list[str]:
    """``name`` of every non-empty group's run, every seed (from the groups table)."""
    return [
        RUN.format(run=r.run, target=r.target, seed=seed) + f"/{name}"
        for r in groups[~groups["empty"]].itertuples()
        for seed in seeds
    ]


def single_cell_files(config: Mapping[str, Any], cells: list[str], name: str) -> list[str]:
    """``name`` of the model's single-cell runs on ``cells``, every seed (its baseline, Test-on-Rest)."""
    return [
        SINGLE_CELL_RUN.format(model=m, cell=c, seed=s) + f"/{name}"
        for m in models(config)
        for c in cells
        for s in config["train"]["seeds"]
    ]


CROSS_CELL_FIGURE_STEMS = (
    "fig3_correlation",
    "fig5_experiments",
    "fig6a_by_correlation",
    "fig6b_by_training_size",
    "fig7_test_on_rest",
    "fig9_probability_difference",
)
CROSS_CELL_TABLE_FILES = (
    "experiments.tsv",
    "experiments.md",
    "experiment_summary.tsv",
    "test_on_rest_trend.tsv",
    "probability_difference.tsv",
)


def report_files(config: Mapping[str, Any] | None = None) -> list[str]:
    """Every file name ``build_cross_cell_section`` writes, relative to the section folder."""
    return [*CROSS_CELL_TABLE_FILES, "section.html", *figure_files(CROSS_CELL_FIGURE_STEMS)]
