"""The regression experiment's runs, read while the DAG is built.

=================  ==================================================================================
part               train cells / valid cells
=================  ==================================================================================
``fold{k}``        the training cells outside cell-type fold k / the cells of fold k (the paper's
                   ensemble sub-models: each trains on two thirds of the cell types)
``cell_{cell}``    one cell / the same cell (the weighted variant's cell-specific sub-models)
``all``            every training cell / every training cell (the cell-type classifier, the baselines)
=================  ==================================================================================

Every run is tested on the test-split genes of every cell of the experiment, held-out cells included; the
ensemble (mean of the fold sub-models) and the weighted variant are combined from the runs' files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from chromexpr.errors import InputError
from chromexpr.experiments.registry import block_enabled, config_block, duplicates
from chromexpr.reporting.manifest import figure_files
from chromexpr.training.regression_plan import SELECTIONS, TARGETS

TITLE = "Regression across cell types (Team Jamaica)"
CONFIG_KEY = "experiments.regression"
SECTION = "regression"
RUN = "results/runs/regression/{model}/{part}/seed{seed}"


def _block(config: Mapping[str, Any]) -> Mapping[str, Any]:
    return config_block(config, CONFIG_KEY)


def enabled(config: Mapping[str, Any]) -> bool:
    return block_enabled(config, CONFIG_KEY)


def models(config: Mapping[str, Any]) -> list[str]:
    """Every card the experiment trains (none when it is off)."""
    if not enabled(config):
        return []
    block = _block(config)
    return list(dict.fromkeys([block["ensemble_model"], block["classifier_model"], *block["baselines"]]))


def assign_cell_folds(cells: Sequence[str], k: int = 3, seed: int = 0) -> dict[str, int]:
    """Cell-type folds: a seeded permutation of ``cells`` dealt round-robin into ``k`` folds, so fold
    sizes differ by at most one. Returns cell -> fold (0-based), in the order of ``cells``."""
    cells = list(cells)
    if len(set(cells)) != len(cells):
        raise InputError("a cell is listed twice", key="experiments.regression.cells")
    if k < 2 or k > len(cells):
        raise InputError(
            f"{k} cell-type folds need at least {k} training cells, there are {len(cells)}",
            key="experiments.regression.folds",
            hint="lower folds, or hold out fewer cells",
        )
    order = np.random.default_rng(seed).permutation(len(cells))
    fold = {cells[i]: position % k for position, i in enumerate(order)}
    return {c: fold[c] for c in cells}


def part_cells(part: str, training_cells: Sequence[str], folds: Mapping[str, int]) -> tuple[list[str], list[str]]:
    """``(train_cells, valid_cells)`` of a run part (``fold{k}``, ``cell_{cell}``, ``all``; module docstring)."""
    training_cells = list(training_cells)
    if part == "all":
        return training_cells, training_cells
    if part.startswith("fold") and part[4:].isdigit():
        k = int(part[4:])
        valid = [c for c in training_cells if folds[c] == k]
        if not valid:
            raise InputError(f"cell-type fold {k} holds no cell", key="experiments.regression.folds")
        return [c for c in training_cells if folds[c] != k], valid
    if part.startswith("cell_") and part[5:] in training_cells:
        return [part[5:]], [part[5:]]
    raise InputError(f"unknown regression run part {part!r}", hint="use fold<k>, cell_<training cell> or all")


def plan(config: Mapping[str, Any], cards: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The experiment's runs (nothing when it is off), checked.

    Returns ``cells`` (every cell tested), ``training`` (cells some model trains on), ``heldout`` (test-only
    cells), ``folds`` (training cell -> cell-type fold), ``runs`` (``(model, part)`` of every trained run:
    the ensemble model on ``fold{k}``, the classifier and the cell-specific sub-models when ``weighted``, the
    baselines on ``all``), ``combined`` (``ensemble``, ``weighted``) and ``figure_cells`` (Figs. 1, 2, 4).
    """
    reg = _block(config)
    key = "experiments.regression"
    empty = {"cells": [], "training": [], "heldout": [], "folds": {}, "runs": [], "combined": [], "figure_cells": []}
    if not reg["enabled"]:
        return empty
    configured = list(config["cells"])
    cells = list(reg["cells"] or configured)
    heldout = list(reg["heldout_cells"] or [])
    for name, listed in (("cells", cells), ("heldout_cells", heldout), ("figure_cells", reg["figure_cells"] or [])):
        unknown = [c for c in listed if c not in configured]
        if unknown:
            raise InputError(
                f"{', '.join(unknown)} not in 'cells' ({', '.join(configured)})",
                key=f"{key}.{name}",
                hint="list configured cells, or switch the experiment off: experiments: {regression: {enabled: false}}",
            )
        dup = duplicates(listed)
        if dup:
            raise InputError(f"{', '.join(dup)} listed more than once", key=f"{key}.{name}")
    outside = [c for c in heldout if c not in cells]
    if outside:
        raise InputError(
            f"held-out cell(s) {', '.join(outside)} are not among the experiment's cells", key=f"{key}.heldout_cells"
        )
    training = [c for c in cells if c not in heldout]
    folds = assign_cell_folds(training, int(reg["folds"]), int(reg["fold_seed"]))
    if reg["target"] not in TARGETS:
        raise InputError(
            f"unknown target {reg['target']!r}", key=f"{key}.target", hint=f"use one of {', '.join(TARGETS)}"
        )
    if reg["selection"] is not None and reg["selection"] not in SELECTIONS:
        raise InputError(f"unknown selection {reg['selection']!r}", key=f"{key}.selection")
    baselines = list(reg["baselines"])
    dup = duplicates(baselines + [reg["ensemble_model"]])
    if dup:
        raise InputError(f"{', '.join(dup)} listed more than once", key=f"{key}.baselines")
    for model in baselines + [reg["ensemble_model"], reg["classifier_model"]]:
        card = cards[model]
        if card["task"] != "regression":
            raise InputError(
                f"'{model}' is a {card['task']} card; the regression experiment trains regression cards",
                key=f"{key}.baselines",
                hint="use jamaica_cnn, linear_regression, random_forest_regression, random_forest_correlated",
            )
    if "cell_logits" not in cards[reg["classifier_model"]]["outputs"]:
        raise InputError(
            f"'{reg['classifier_model']}' is not a cell-type classifier (no cell_logits output)",
            key=f"{key}.classifier_model",
            hint="use jamaica_celltype",
        )
    if "prediction" not in cards[reg["ensemble_model"]]["outputs"]:
        raise InputError(f"'{reg['ensemble_model']}' predicts no expression", key=f"{key}.ensemble_model")
    ensemble = reg["ensemble_model"]
    runs = [(ensemble, f"fold{k}") for k in range(int(reg["folds"]))]
    combined = ["ensemble"]
    if reg["weighted"]:
        if len(training) < 2:
            raise InputError("the weighted variant needs at least 2 training cells", key=f"{key}.weighted")
        runs.append((reg["classifier_model"], "all"))
        runs += [(ensemble, f"cell_{c}") for c in training]
        combined.append("weighted")
    runs += [(m, "all") for m in baselines]
    figure_cells = list(reg["figure_cells"] or (heldout[:1] + training)[:3])
    return {
        "cells": cells,
        "training": training,
        "heldout": heldout,
        "folds": folds,
        "runs": runs,
        "combined": combined,
        "figure_cells": figure_cells,
    }


def datasets(the_plan: Mapping[str, Any]) -> dict[str, str]:
    """The single-cell datasets of every cell of the experiment, by cell (of ``plan``'s result)."""
    return {cell: f"results/datasets/{cell}.npz" for cell in the_plan["cells"]}


def run_params(config: Mapping[str, Any], the_plan: Mapping[str, Any], part: str) -> dict[str, Any]:
    """A run's cells and settings: the train / valid cells of its part, every cell tested."""
    block = _block(config)
    train_cells, valid_cells = part_cells(part, the_plan["training"], the_plan["folds"])
    return {
        "train_cells": train_cells,
        "valid_cells": valid_cells,
        "test_cells": the_plan["cells"],
        "target": block["target"],
        "selection": block["selection"],
        "trainval": block["trainval"],
        "device": config["train"]["device"],
        "patience": config["train"]["patience"],
        "max_epochs": block["max_epochs"],
    }


def run_files(
    config: Mapping[str, Any], the_plan: Mapping[str, Any], name: str, kinds: Sequence[str] = ("trained", "combined")
) -> list[str]:
    """``name`` of every run: the trained (model, part) runs and the combined ones, every seed."""
    seeds = config["train"]["seeds"]
    out = []
    if "trained" in kinds:
        out += [RUN.format(model=m, part=p, seed=s) + f"/{name}" for m, p in the_plan["runs"] for s in seeds]
    if "combined" in kinds:
        out += [RUN.format(model=k, part="all", seed=s) + f"/{name}" for k in the_plan["combined"] for s in seeds]
    return out


def member_files(config: Mapping[str, Any], the_plan: Mapping[str, Any], kind: str, seed: int | str) -> list[str]:
    """The member runs' ``metrics.json`` and predictions a combined run (``ensemble``, ``weighted``) reads: the
    fold sub-models, or the cell-specific sub-models and the classifier."""
    block = _block(config)
    model = block["ensemble_model"]
    if kind == "ensemble":
        folders = [(model, f"fold{k}") for k in range(block["folds"])]
    else:
        folders = [(model, f"cell_{c}") for c in the_plan["training"]] + [(block["classifier_model"], "all")]
    return [
        RUN.format(model=m, part=p, seed=seed) + f"/{name}"
        for m, p in folders
        for name in ("metrics.json", "predictions.tsv.gz")
    ]


def fold_files(config: Mapping[str, Any], name: str, seeds: Sequence[int | str] | None = None) -> list[str]:
    """``name`` of every fold sub-model run (Figs. 3, 4), of ``seeds`` (default: every seed)."""
    block = _block(config)
    return [
        RUN.format(model=block["ensemble_model"], part=f"fold{k}", seed=s) + f"/{name}"
        for k in range(block["folds"])
        for s in (config["train"]["seeds"] if seeds is None else seeds)
    ]


def check(config: Mapping[str, Any], cards: Mapping[str, Mapping[str, Any]], resolve: Callable[[str], Any]) -> None:
    """The checks of ``plan``."""
    plan(config, cards)


REGRESSION_FIGURE_STEMS = ("fig1_inputs", "fig2_expression", "fig3_loss", "fig4_gradients")
REGRESSION_TABLE_FILES = (
    "mse.tsv",
    "mse.md",
    "per_cell_mse.tsv",
    "loss_curves.tsv",
    "gradients.tsv",
    "expression_histograms.tsv",
    "fig1_inputs.npz",
    "section.html",
)


def report_files(config: Mapping[str, Any] | None = None) -> list[str]:
    """Every file ``build_regression_section`` writes, named relative to its folder."""
    return [*REGRESSION_TABLE_FILES, *figure_files(REGRESSION_FIGURE_STEMS)]
