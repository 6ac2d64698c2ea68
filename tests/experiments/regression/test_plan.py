"""The regression experiment's plan (chromexpr.experiments.regression.plan): cell-type folds and run parts by
hand, and the task's targets (chromexpr.training.regression_plan), without torch."""

from __future__ import annotations

import numpy as np
import pytest

from chromexpr.errors import InputError
from chromexpr.experiments.regression.plan import assign_cell_folds, part_cells
from chromexpr.training.regression_plan import regression_target


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


def test_the_regression_module_trains_with_the_same_targets() -> None:
    """``chromexpr.training.regression`` trains with this same target function (one definition)."""
    import chromexpr.training.regression as regression

    assert regression.regression_target is regression_target


def test_the_demo_plan(demo_config, cards) -> None:
    from chromexpr.experiments.regression import plan

    got = plan.plan(demo_config, cards(demo_config))
    assert got["heldout"] == ["E123"] and got["training"] == ["E003", "E066", "E085", "E116"]
    assert got["combined"] == ["ensemble", "weighted"]
    # 3 folds, the classifier, 4 cell-specific sub-models, 3 baselines
    assert len(got["runs"]) == 3 + 1 + 4 + 3 and got["figure_cells"] == ["E123", "E003", "E066"]
    assert plan.models(demo_config) == [
        "jamaica_cnn",
        "jamaica_celltype",
        "linear_regression",
        "random_forest_regression",
        "random_forest_correlated",
    ]
