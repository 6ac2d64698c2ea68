"""What the regression experiment's runs are, without torch: the targets, the selections, the
cell-type folds and each run part's train and validation cells.

The Snakefile plans the runs with these (``chromexpr.dag.regression_plan``) while it builds the DAG;
``chromexpr.training.regression`` trains them. The run parts are described there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from chromexpr.errors import InputError

__all__ = ["SELECTIONS", "TARGETS", "assign_cell_folds", "part_cells", "regression_target"]

#: target name -> (what the report calls it, the transform of the expression value)
TARGETS: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {
    "log2p1": ("log2(expression + 1)", lambda v: np.log2(v + 1.0)),
    "log1p": ("ln(expression + 1)", np.log1p),
    "none": ("expression", lambda v: v),
}
SELECTIONS = ("fixed", "valid_mse")


def regression_target(expression: np.ndarray, kind: str = "log2p1", *, source: str | Path | None = None) -> np.ndarray:
    """The regression target ``(genes,)`` float64 of expression values: ``TARGETS[kind]``.

    Raises:
        InputError: an unknown ``kind``; NaN or infinite values; negative values under a log.
    """
    if kind not in TARGETS:
        raise InputError(
            f"unknown regression target {kind!r}",
            key="experiments.regression.target",
            hint=f"use one of {', '.join(TARGETS)}",
        )
    values = np.asarray(expression, dtype=np.float64)
    if not np.isfinite(values).all():
        raise InputError("expression holds NaN or infinite values", path=source, hint="rebuild the dataset")
    if kind != "none" and (values < 0).any():
        raise InputError(
            f"target {kind} takes log(expression + 1) but the expression has negative values",
            path=source,
            key="experiments.regression.target",
            hint="use target: none for values that are already on a log scale",
        )
    return TARGETS[kind][1](values)


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
