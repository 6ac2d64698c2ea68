"""The regression experiment of Team Jamaica (Hastings & Stanojevic): the combined runs, the MSE and per-cell
tables and the data of Figs. 3-4 (``chromexpr.experiments.regression.report`` writes them into the section).

Runs, ``results/runs/regression/{model}/{part}/seed{n}/`` (``chromexpr.training.regression``): ``part`` is
``fold{k}`` (an ensemble sub-model), ``cell_{cell}`` (a cell-specific sub-model of the weighted variant) or
``all``. Each holds ``metrics.json`` (``test_mse``, ``test_pearson``, ``test_spearman``, ``test_r2`` over the
test-split genes of every cell, ``test_seen_*`` / ``test_unseen_*``, ``test_mse_per_cell``), ``predictions.tsv.gz``
(``cell``, ``gene_id``, ``seen``, ``target``, ``prediction``; the classifier: ``p_{cell}`` per training cell) and
``history.tsv``. Two combined runs are made from those files, never from the test labels directly:

- ``ensemble/all/seed{n}``: the mean of the fold sub-models' predictions (the paper's best model, MSE 3.26);
- ``weighted/all/seed{n}``: ``sum_c p(c | x) f_c(x)``, the cell-type classifier's probabilities weighting the
  cell-specific sub-models (the paper's learned-weighting ensemble, MSE 3.47).

``seen`` of a combined row: the cell is one of the experiment's training cells (some sub-model trained on it);
the held-out cells are ``unseen`` by every model.

The paper's MSEs come from the cards (``chromexpr.published``, ``published_mse``): a combined run's is the
``mse`` entry with its ``row`` (``ensemble`` on ``jamaica_cnn``, ``weighted`` on ``jamaica_celltype``), a
model's the ``mse`` entry of its own card without a ``row``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from chromexpr.errors import InputError
from chromexpr.evaluation.runs import read_metrics_json
from chromexpr.io.jsonio import to_jsonable
from chromexpr.published import card_published, published_value
from chromexpr.training import outputs
from chromexpr.training.regression import TARGETS, regression_scores

__all__ = [
    "COMBINED",
    "MSE_COLUMNS",
    "PER_CELL_COLUMNS",
    "PUBLISHED_CARDS",
    "collect_regression_metrics",
    "combine_runs",
    "ensemble_gradients",
    "ensemble_predictions",
    "loss_curves",
    "mse_table",
    "per_cell_table",
    "published_mse",
    "published_source",
    "read_regression_predictions",
    "weighted_predictions",
]

#: the cards whose ``published`` lists hold the paper's MSEs of the combined runs (``row: ensemble`` / ``weighted``)
PUBLISHED_CARDS = ("jamaica_cnn", "jamaica_celltype")
#: the data the paper's MSEs are measured on (Results), said beside their source
PUBLISHED_DATA = "56 cell types, ~800,000 gene x cell points"
COMBINED = ("ensemble", "weighted")
REQUIRED_KEYS = ("model", "part", "seed", "test_mse", "test_pearson", "test_spearman", "test_r2")
PREDICTION_COLUMNS = ("cell", "gene_id", "seen", "target", "prediction")
MSE_COLUMNS = [
    "model",
    "part",
    "role",
    "n_seeds",
    "test_mse",
    "test_mse_sd",
    "test_pearson",
    "test_spearman",
    "test_r2",
    "test_seen_mse",
    "test_unseen_mse",
    "test_unseen_pearson",
    "n_test",
    "epochs_run",
    "published_mse",
]
PER_CELL_COLUMNS = ["model", "part", "cell", "seen", "n_seeds", "test_mse"]
ROLES = {"fold": "ensemble sub-model", "cell_": "cell-specific sub-model"}


def _hint(kind: str) -> str:
    return f"{kind} is written by the regression training step; re-run that run or remove it"


def _role(model: str, part: str) -> str:
    if model == "ensemble":
        return "mean of the fold sub-models"
    if model == "weighted":
        return "classifier-weighted cell-specific sub-models"
    for prefix, role in ROLES.items():
        if part.startswith(prefix):
            return role
    return "baseline" if model != "jamaica_cnn" else "trained on every training cell"


def published_mse(model: str) -> float | None:
    """The paper's test MSE of ``model``, from the cards: for a combined run (``ensemble``, ``weighted``) the
    ``mse`` entry of ``PUBLISHED_CARDS`` with that ``row``; for a model its own card's ``mse`` entry without a
    ``row`` (an entry with a row is the number of a combination, not of the model alone); None where none is
    given."""
    if model in COMBINED:
        value = published_value(PUBLISHED_CARDS, "mse", row=model)
    else:
        value = next((e["value"] for e in card_published(model, "mse") if "row" not in e and "value" in e), None)
    return None if value is None else float(value)


def published_source() -> str:
    """Where the paper's MSEs are printed (the ensemble's card entry's ``source``), with the data they are
    measured on."""
    source = published_value(PUBLISHED_CARDS, "mse", "source", row="ensemble") or "Team Jamaica report"
    return f"{source} ({PUBLISHED_DATA})"


def read_regression_predictions(path: str | Path) -> pd.DataFrame:
    """A regression run's ``predictions.tsv.gz``, checked (``PREDICTION_COLUMNS``; the classifier's
    ``p_{cell}`` columns instead of ``prediction``)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("predictions file not found", path=path, hint=_hint("predictions.tsv.gz"))
    table = pd.read_csv(path, sep="\t", dtype={"cell": str, "gene_id": str})
    need = [c for c in PREDICTION_COLUMNS if c != "prediction"]
    if not any(c.startswith("p_") for c in table.columns):
        need.append("prediction")
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", path=path, line=1, hint=_hint("predictions"))
    table["seen"] = table["seen"].astype(str).str.lower().isin(("true", "1"))
    return table


def _aligned(tables: Sequence[pd.DataFrame], names: Sequence[str]) -> pd.DataFrame:
    """The first table's ``cell``, ``gene_id``, ``target``; every other table must hold the same rows."""
    base = tables[0][["cell", "gene_id", "target"]].reset_index(drop=True)
    for table, name in zip(tables[1:], names[1:], strict=True):
        same = (
            len(table) == len(base)
            and (table["cell"].to_numpy() == base["cell"].to_numpy()).all()
            and (table["gene_id"].to_numpy() == base["gene_id"].to_numpy()).all()
            and np.allclose(table["target"].to_numpy(), base["target"].to_numpy(), rtol=0, atol=1e-9)
        )
        if not same:
            raise InputError(
                f"{name} scored other test rows than {names[0]} (cells, genes or targets differ)",
                hint="train every sub-model of the experiment from the same datasets and config",
            )
    return base


def ensemble_predictions(
    tables: Sequence[pd.DataFrame], training_cells: Sequence[str], names: Sequence[str] | None = None
) -> pd.DataFrame:
    """The ensemble's test predictions: the mean of the sub-models' ``prediction`` row by row.

    Args:
        tables: the sub-models' predictions (same rows, same order).
        training_cells: the experiment's training cells (``seen``).
        names: the sub-models' names, for errors.
    """
    if not tables:
        raise InputError("an ensemble needs at least one sub-model", key="experiments.regression.folds")
    names = list(names or [f"sub-model {i}" for i in range(len(tables))])
    out = _aligned(tables, names)
    out["seen"] = out["cell"].isin(list(training_cells))
    out["prediction"] = np.mean([t["prediction"].to_numpy(dtype=np.float64) for t in tables], axis=0)
    return out[list(PREDICTION_COLUMNS)]


def weighted_predictions(
    probabilities: pd.DataFrame, cell_tables: Mapping[str, pd.DataFrame], training_cells: Sequence[str]
) -> pd.DataFrame:
    """The learned-weighting ensemble: ``sum_c p_c(x) * f_c(x)`` over the classifier's classes ``c``.

    Args:
        probabilities: the classifier's predictions (``p_{cell}`` per class; rows sum to 1).
        cell_tables: class cell -> that cell's sub-model predictions (same rows as ``probabilities``).
        training_cells: the experiment's training cells (``seen``).
    """
    classes = [c[2:] for c in probabilities.columns if c.startswith("p_")]
    missing = [c for c in classes if c not in cell_tables]
    if missing:
        raise InputError(
            f"no cell-specific sub-model for class(es) {', '.join(missing)}",
            key="experiments.regression.weighted",
            hint="the classifier and the cell-specific sub-models must be trained on the same cells",
        )
    names = ["jamaica_celltype", *(f"cell_{c}" for c in classes)]
    out = _aligned([probabilities, *(cell_tables[c] for c in classes)], names)
    p = probabilities[[f"p_{c}" for c in classes]].to_numpy(dtype=np.float64)  # (rows, classes)
    f = np.stack([cell_tables[c]["prediction"].to_numpy(dtype=np.float64) for c in classes], axis=1)
    out["seen"] = out["cell"].isin(list(training_cells))
    out["prediction"] = (p * f).sum(axis=1)
    return out[list(PREDICTION_COLUMNS)]


def combine_runs(
    kind: str,
    members: Mapping[str, str | Path],
    out_dir: str | Path,
    *,
    training_cells: Sequence[str],
    seed: int,
    classifier: str | Path | None = None,
) -> dict[str, Any]:
    """Write the combined run ``kind`` (``ensemble`` / ``weighted``): ``predictions.tsv.gz`` and
    ``metrics.json`` (the same keys as a trained run's, plus ``members``).

    Args:
        kind: ``ensemble`` (``members``: part -> a fold sub-model's run folder) or ``weighted`` (``members``:
            cell -> that cell's sub-model run folder, ``classifier``: the cell-type classifier's run folder).
        out_dir: the combined run's folder.
        training_cells: the experiment's training cells.
        seed: the members' seed.
    """
    if kind not in COMBINED:
        raise InputError(f"unknown combination {kind!r}", hint=f"use {' or '.join(COMBINED)}")
    runs = {name: Path(d) for name, d in members.items()}
    records = {
        name: read_metrics_json(d / "metrics.json", REQUIRED_KEYS, _hint("metrics.json")) for name, d in runs.items()
    }
    tables = {name: read_regression_predictions(d / "predictions.tsv.gz") for name, d in runs.items()}
    if kind == "ensemble":
        table = ensemble_predictions(list(tables.values()), training_cells, list(tables))
    else:
        if classifier is None:
            raise InputError("the weighted ensemble needs the cell-type classifier's run")
        probabilities = read_regression_predictions(Path(classifier) / "predictions.tsv.gz")
        table = weighted_predictions(probabilities, tables, training_cells)
    first = next(iter(records.values()))
    targets = {r.get("target") for r in records.values()}
    if len(targets) > 1:
        raise InputError(f"the members were trained on different targets ({', '.join(map(str, targets))})")
    metrics = {
        "model": kind,
        "part": "all",
        "seed": int(seed),
        "task": "regression",
        "framework": "ensemble",
        **regression_scores(table),
        "target": first.get("target"),
        "target_label": TARGETS.get(str(first.get("target")), ("?",))[0],
        "train_cells": list(training_cells),
        "test_cells": list(dict.fromkeys(table["cell"])),
        "members": {name: str(d) for name, d in runs.items()},
        "epochs_run": first.get("epochs_run"),
        "n_test": int(len(table)),
        "published_mse": published_mse(kind),
    }
    if classifier is not None:
        metrics["classifier"] = str(classifier)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs.write_table_gz(out_dir / "predictions.tsv.gz", table)
    outputs.write_metrics(out_dir / "metrics.json", to_jsonable(metrics))  # last: its presence means done
    return metrics


def collect_regression_metrics(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Every run's ``metrics.json`` (regression runs and the two combined ones; the classifier is skipped:
    it predicts no expression)."""
    rows = []
    for path in paths:
        record = read_metrics_json(path, ("model", "part", "seed"), _hint("metrics.json"))
        if record.get("task") == "cell_type":
            continue
        missing = [k for k in REQUIRED_KEYS if k not in record]
        if missing:
            raise InputError(f"missing key(s) {', '.join(missing)}", path=path, hint=_hint("metrics.json"))
        rows.append({**record, "path": str(path)})
    return rows


def _mean(values: Sequence[Any]) -> float | None:
    numbers = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(np.mean(numbers)) if numbers else None


def _order(model: str, part: str) -> tuple[int, str]:
    rank = {"ensemble": 0, "weighted": 1, "jamaica_cnn": 2, "linear_regression": 4}
    return (rank.get(model, 5) + (1 if part.startswith("cell_") else 0), f"{model} {part}")


def mse_table(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """``mse.tsv``: one row per model and part (ensemble, weighted, each sub-model, the baselines), means over
    seeds, the published MSE beside where the paper gives one."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in records:
        groups.setdefault((str(r["model"]), str(r["part"])), []).append(r)
    rows = []
    for (model, part), runs in sorted(groups.items(), key=lambda kv: _order(*kv[0])):
        mses = [float(r["test_mse"]) for r in runs]
        rows.append(
            {
                "model": model,
                "part": part,
                "role": _role(model, part),
                "n_seeds": len(runs),
                "test_mse": float(np.mean(mses)),
                "test_mse_sd": float(np.std(mses, ddof=1)) if len(mses) > 1 else None,
                **{k: _mean([r.get(k) for r in runs]) for k in MSE_COLUMNS[6:12]},
                "n_test": int(runs[0].get("n_test") or 0),
                "epochs_run": _mean([r.get("epochs_run") for r in runs]),
                "published_mse": published_mse(model) if part == "all" else None,
            }
        )
    return pd.DataFrame(rows, columns=MSE_COLUMNS)


def per_cell_table(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """``per_cell_mse.tsv``: the test MSE of every model and part in every test cell (mean over seeds), with
    ``seen`` (the model, or for a combined run some sub-model, trained on that cell)."""
    acc: dict[tuple[str, str, str], list[float]] = {}
    seen: dict[tuple[str, str, str], bool] = {}
    for r in records:
        train = set(r.get("train_cells") or [])
        for cell, mse in (r.get("test_mse_per_cell") or {}).items():
            key = (str(r["model"]), str(r["part"]), str(cell))
            acc.setdefault(key, []).append(float(mse))
            seen[key] = cell in train
    rows = [
        {"model": m, "part": p, "cell": c, "seen": seen[(m, p, c)], "n_seeds": len(v), "test_mse": float(np.mean(v))}
        for (m, p, c), v in sorted(acc.items(), key=lambda kv: (*_order(kv[0][0], kv[0][1]), kv[0][2]))
    ]
    return pd.DataFrame(rows, columns=PER_CELL_COLUMNS)


def loss_curves(histories: Mapping[tuple[str, int], str | Path]) -> pd.DataFrame:
    """Fig. 3's table from the fold sub-models' ``history.tsv``: ``submodel``, ``seed``, ``epoch``,
    ``train_loss``, ``valid_mse`` (eval), ``trainval_mse`` (the training rows in eval mode)."""
    parts = []
    for (part, seed), path in histories.items():
        path = Path(path)
        if not path.is_file():
            raise InputError("history file not found", path=path, hint=_hint("history.tsv"))
        table = pd.read_csv(path, sep="\t")
        missing = [c for c in ("epoch", "train_loss", "valid_mse") if c not in table.columns]
        if missing:
            raise InputError(f"missing column(s) {', '.join(missing)}", path=path, line=1, hint=_hint("history.tsv"))
        if "trainval_mse" not in table.columns:
            table["trainval_mse"] = np.nan
        table = table[["epoch", "train_loss", "valid_mse", "trainval_mse"]].apply(pd.to_numeric, errors="coerce")
        table.insert(0, "seed", int(seed))
        table.insert(0, "submodel", part)
        parts.append(table)
    columns = ["submodel", "seed", "epoch", "train_loss", "valid_mse", "trainval_mse"]
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)


def ensemble_gradients(
    card: str | Mapping[str, Any],
    runs: Sequence[str | Path],
    datasets: Mapping[str, str | Path],
    out: str | Path | None = None,
) -> pd.DataFrame:
    """Fig. 4: the mean signed input gradient of the ensemble's prediction over each cell's test-split genes.

    Args:
        card: the sub-models' card (``jamaica_cnn``).
        runs: the fold sub-models' run folders (each with ``model.pt``).
        datasets: cell -> dataset ``.npz``.
        out: where to write the table (``gradients.tsv``), when given.

    Returns:
        ``cell``, ``mark``, ``bin`` (0-based), ``gradient``: the gradient of the mean of the sub-models (the mean
        of their gradients), averaged over the cell's test genes.
    """
    from chromexpr.dataset import load_dataset
    from chromexpr.evaluation.attribution import mean_input_gradients
    from chromexpr.models import build_model, load_card
    from chromexpr.training.data import model_inputs
    from chromexpr.training.model_file import load_model_file

    card_data = load_card(card)
    models = []
    for run in runs:
        path = Path(run) / "model.pt"
        if not path.is_file():
            raise InputError("model file not found", path=path, hint=_hint("model.pt"))
        model = build_model(card_data)
        model.load_state_dict(load_model_file(path).state_dict)
        models.append(model)
    rows = []
    for cell, dataset in datasets.items():
        data = model_inputs(load_dataset(dataset), card_data, source=dataset)
        x = data.x[data.mask("test")]  # (test genes, marks, bins)
        grad = mean_input_gradients(models, x)  # (marks, bins)
        for m, mark in enumerate(data.marks):
            rows += [{"cell": cell, "mark": mark, "bin": b, "gradient": float(g)} for b, g in enumerate(grad[m])]
    table = pd.DataFrame(rows, columns=["cell", "mark", "bin", "gradient"])
    if out is not None:
        from chromexpr.io.atomic import atomic_path

        with atomic_path(Path(out)) as tmp:
            table.to_csv(tmp, sep="\t", index=False, float_format="%.8g")
    return table
