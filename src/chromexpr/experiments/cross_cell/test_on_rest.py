"""DeepChrome 2.0 Test-on-Rest: every single-cell model scored on every other cell's test genes.

Inference only: each finished single-cell run's selected model (``model.pt`` / ``model.skops``) predicts
the test genes of every other cell; ``own_auroc`` is the test cell's own single-cell run (same seed)
on the same genes, so ``delta_auroc`` is the change from using another cell's model (the paper's Fig. 7).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from chromexpr.dataset import load_dataset
from chromexpr.errors import InputError
from chromexpr.evaluation.metrics import auroc
from chromexpr.experiments.cross_cell.evaluate import test_on_rest_table
from chromexpr.io.jsonio import read_json
from chromexpr.models import load_card
from chromexpr.training import load_trained, model_inputs, predict_probability


def test_on_rest_scores(
    model: str | Mapping[str, Any],
    run_dirs: Sequence[str | Path],
    datasets: Mapping[str, str | Path],
    correlation: pd.DataFrame,
) -> pd.DataFrame:
    """Score every run on every other cell's test genes.

    Args:
        model: the card of the runs (a name, or a loaded card: the workflow's, built on the configured marks under
            ``train.input_marks: config``).
        run_dirs: single-cell run folders of ``model`` (each with ``metrics.json`` and its model file).
        datasets: cell -> dataset ``.npz``.
        correlation: one split's correlation table (``cell_a``, ``cell_b``, ``normalized``).

    Returns:
        ``train_cell test_cell correlation auroc own_auroc delta_auroc`` then ``model``, ``seed``, ``n_test``;
        one row per run and other cell.
    """
    card = load_card(model)
    runs = []
    for run_dir in run_dirs:
        metrics = read_json(Path(run_dir) / "metrics.json")
        if metrics.get("model") != card["name"]:
            raise InputError(
                f"a run of {metrics.get('model')}, not {card['name']}", path=Path(run_dir) / "metrics.json"
            )
        runs.append((str(metrics["cell"]), int(metrics["seed"]), float(metrics["test_auroc"]), Path(run_dir)))
    tests = {}
    for cell, path in datasets.items():
        data = model_inputs(load_dataset(path), card, source=path)
        rows = data.mask("test")
        tests[cell] = (data.x[rows], data.y[rows])
    tables = []
    for seed in sorted({r[1] for r in runs}):
        own = {cell: value for cell, s, value, _ in runs if s == seed}
        scores = []
        for train_cell, s, _, run_dir in runs:
            if s != seed:
                continue
            trained = load_trained(card, run_dir)
            for test_cell, (x, y) in tests.items():
                if test_cell == train_cell or test_cell not in own:
                    continue
                probability = predict_probability(card, trained, x)
                scores.append(
                    {
                        "train_cell": train_cell,
                        "test_cell": test_cell,
                        "auroc": auroc(y, probability),
                        "model": card["name"],
                        "seed": seed,
                        "n_test": int(np.asarray(y).shape[0]),
                    }
                )
        if scores:
            tables.append(test_on_rest_table(pd.DataFrame(scores), own, correlation))
    if not tables:
        return pd.DataFrame(columns=["train_cell", "test_cell", "correlation", "auroc", "own_auroc", "delta_auroc"])
    return pd.concat(tables, ignore_index=True)
