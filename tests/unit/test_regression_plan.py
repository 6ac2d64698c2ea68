"""The regression experiment's plan without torch (chromexpr.training.regression_plan): targets,
cell-type folds and run parts, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from chromexpr.errors import InputError
from chromexpr.training.regression_plan import assign_cell_folds, part_cells, regression_target


def test_targets_by_hand() -> None:
    v = np.array([0.0, 1.0, 3.0, 7.0])
    assert regression_target(v).tolist() == [0.0, 1.0, 2.0, 3.0]  # log2(v + 1)
    assert np.allclose(regression_target(v, "log1p"), np.log([1, 2, 4, 8]))
    assert regression_target(np.array([-2.5]), "none").tolist() == [-2.5]
    with pytest.raises(InputError, match="negative"):
        regression_target(np.array([-1.0]))
    with pytest.raises(InputError, match="NaN"):
        regression_target(np.array([np.nan]))
    with pytest.raises(InputError, match="unknown regression target"):
        regression_target(v, "log10")


def test_cell_folds_by_hand() -> None:
    cells = ["A", "B", "C", "D", "E", "F", "G"]
    folds = assign_cell_folds(cells, 3, seed=0)
    order = np.random.default_rng(0).permutation(7)  # dealt round-robin in this order
    assert folds == {cells[i]: pos % 3 for pos, i in enumerate(order)}
    assert list(folds) == cells
    assert sorted(np.bincount(list(folds.values())).tolist()) == [2, 2, 3]  # sizes differ by at most one
    assert assign_cell_folds(cells, 3, seed=0) == folds  # seeded
    assert assign_cell_folds(["A", "B", "C"], 3, seed=5).keys() == {"A", "B", "C"}
    assert sorted(assign_cell_folds(["A", "B", "C"], 3, seed=5).values()) == [0, 1, 2]
    with pytest.raises(InputError, match="need at least 3 training cells"):
        assign_cell_folds(["A", "B"], 3)
    with pytest.raises(InputError, match="twice"):
        assign_cell_folds(["A", "A", "B"], 2)


def test_parts() -> None:
    folds = {"A": 0, "B": 1, "C": 2, "D": 0}
    training = list(folds)
    assert part_cells("fold0", training, folds) == (["B", "C"], ["A", "D"])
    assert part_cells("fold2", training, folds) == (["A", "B", "D"], ["C"])
    assert part_cells("cell_B", training, folds) == (["B"], ["B"])
    assert part_cells("all", training, folds) == (training, training)
    with pytest.raises(InputError, match="unknown regression run part"):
        part_cells("cell_Z", training, folds)


def test_the_regression_module_re_exports_the_plan() -> None:
    """``chromexpr.training.regression`` trains with these same functions (one definition)."""
    import chromexpr.training.regression as regression

    assert regression.part_cells is part_cells and regression.assign_cell_folds is assign_cell_folds
    assert regression.regression_target is regression_target
