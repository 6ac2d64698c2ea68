"""The regression task's targets and selections, without torch: the config checks read them while the DAG is
built (``chromexpr.experiments.regression.plan``, which also defines the runs: cell-type folds and parts), and
``chromexpr.training.regression`` trains with them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from chromexpr.errors import InputError

__all__ = ["SELECTIONS", "TARGETS", "regression_target"]

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
