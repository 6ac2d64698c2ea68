"""Regression across cell types (Team Jamaica): continuous expression from marks, genes x cells pooled.

One run trains one model on the train-split genes of ``train_cells``, validates on the valid-split genes
of ``valid_cells`` and scores the test-split genes of every cell in ``test_cells`` once, with the kept
state. The experiment (``rules/regression.smk``) makes three kinds of run from it:

=================  ==================================================================================
part               train cells / valid cells
=================  ==================================================================================
``fold{k}``        the training cells outside cell-type fold k / the cells of fold k (the paper's
                   ensemble sub-models: each trains on two thirds of the cell types)
``cell_{cell}``    one cell / the same cell (the weighted variant's cell-specific sub-models)
``all``            every training cell / every training cell (the cell-type classifier, the baselines)
=================  ==================================================================================

Targets (``regression_target``): ``log2p1`` = log2(expression + 1) (default: with RPKM its MSEs are of
the paper's order), ``log1p`` = ln(expression + 1), ``none`` = the value itself. The task
``regression`` trains on MSE; ``cell_type`` (the classifier of the weighted variant) on the cross-entropy
of the row's cell among the training cells. Selection: ``fixed`` keeps the last epoch (the paper: a
fixed budget, no early stopping, because its validation cells differ from its training cells), or
``valid_mse`` keeps the epoch of least validation MSE (with the card's patience).
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F  # noqa: N812 - torch convention

from chromexpr.errors import InputError
from chromexpr.evaluation.metrics import regression_metrics
from chromexpr.logs import LogTarget
from chromexpr.models import build_model, resolve_hyperparameters
from chromexpr.training.genes import GeneSet, RunData
from chromexpr.training.loop import FitResult, sklearn_record
from chromexpr.training.regression_plan import SELECTIONS, TARGETS, regression_target
from chromexpr.training.runtime import fmt
from chromexpr.training.shell import Fitted, RunSpec, Scored, Settings, run
from chromexpr.training.sklearn_fit import flat
from chromexpr.training.tasks import Examples, Task, autocast, predict_output

__all__ = [
    "HISTORY_COLUMNS",
    "SELECTIONS",
    "TARGETS",
    "CellTypeTask",
    "RegressionData",
    "RegressionRunner",
    "RegressionTask",
    "regression_examples",
    "regression_scores",
    "regression_target",
    "train_regression",
]

logger = logging.getLogger("chromexpr.training.regression")

HISTORY_COLUMNS = (
    "epoch",
    "train_loss",
    "valid_loss",
    "valid_mse",
    "valid_pearson",
    "valid_spearman",
    "valid_r2",
    "trainval_mse",
    "lr",
    "seconds",
    "train_seconds",
)
CELL_TYPE_HISTORY_COLUMNS = ("epoch", "train_loss", "valid_loss", "valid_accuracy", "lr", "seconds", "train_seconds")


def regression_examples(
    loaded: RunData, gene_sets: Sequence[GeneSet], target: str, *, classes: Sequence[str] | None = None
) -> Examples:
    """Genes of ``gene_sets`` pooled, with ``y`` the float32 regression target (``classes`` given: the
    int64 index of each row's cell among them, for the cell-type classifier)."""
    parts = []
    for gene_set in gene_sets:
        data, path, _, cell = loaded.get(gene_set.dataset)
        rows = loaded.mask(gene_set)
        if classes is not None:
            y = np.full(int(rows.sum()), list(classes).index(cell), dtype=np.int64)
        else:
            y = regression_target(data.expression[rows], target, source=path).astype(np.float32)
        parts.append(Examples(x=data.x[rows], y=y, gene_ids=data.gene_ids[rows], cells=np.full(y.shape[0], cell)))
    return Examples.concat(parts)


def _metrics(y: np.ndarray, prediction: np.ndarray) -> dict[str, float | int]:
    """Regression metrics; NaN correlations (a constant prediction) without a warning per epoch."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return regression_metrics(np.asarray(y, dtype=np.float64), np.asarray(prediction, dtype=np.float64))


class _Rows(Task):
    """Shared by both tasks: shuffled row batches over the pooled training genes."""

    def __init__(self, train: Examples, valid: Examples, *, selection: str) -> None:
        if selection not in SELECTIONS:
            raise InputError(
                f"unknown selection {selection!r}",
                key="experiments.regression.selection",
                hint=f"use one of {', '.join(SELECTIONS)}",
            )
        for what, examples in (("training", train), ("validation", valid)):
            if len(examples) < 2:
                raise InputError(f"there are {len(examples)} {what} genes; at least 2 are needed")
        self.train, self.valid = train, valid
        self.selection = selection
        self.device = torch.device("cpu")

    def to(self, device: torch.device) -> None:
        self.device = device
        self.x_train = torch.from_numpy(np.ascontiguousarray(self.train.x)).to(device)  # (n_train, marks, bins)
        self.x_valid = torch.from_numpy(np.ascontiguousarray(self.valid.x)).to(device)  # (n_valid, marks, bins)
        self.y_train = torch.from_numpy(self.train.y).to(device)  # (n_train,)

    def batches(self, shuffle: torch.Generator, batch_size: int) -> Iterator[torch.Tensor]:
        order = torch.randperm(self.n_train, generator=shuffle).to(self.device)
        for start in range(0, self.n_train, batch_size):
            yield order[start : start + batch_size]

    def epoch_record(self, sums):
        return {"train_loss": sums["loss_sum"] / sums["n"]}

    def describe(self) -> str:
        def cells(ex: Examples) -> str:
            return ", ".join(dict.fromkeys(ex.cells.tolist()))

        return (
            f"train {len(self.train)} gene x cell rows ({cells(self.train)}), valid {len(self.valid)} "
            f"({cells(self.valid)}), selection {self.selection}"
        )


class RegressionTask(_Rows):
    """MSE on the model's ``prediction``; validation MSE, Pearson, Spearman, R², and (``trainval``) the MSE
    on the training rows in eval mode, the paper's "trainval" curve."""

    name = "regression"

    def __init__(self, train: Examples, valid: Examples, *, selection: str = "fixed", trainval: bool = True) -> None:
        super().__init__(train, valid, selection=selection)
        for what, examples in (("training", train), ("validation", valid)):
            if examples.y is None or not np.isfinite(examples.y).all():
                raise InputError(f"the {what} targets are missing or not finite")
        if np.ptp(train.y) == 0:
            raise InputError("every training row has the same target; nothing to learn")
        self.trainval = trainval
        self.selection_metric = "epoch" if selection == "fixed" else "valid_mse"
        self.selection_lower = selection == "valid_mse"

    def step(self, model, batch, *, progress, amp):
        xb, yb = self.x_train[batch], self.y_train[batch]  # (batch, marks, bins), (batch,)
        with autocast(self.device, amp):
            prediction = model(xb)["prediction"]  # (batch,)
        loss = F.mse_loss(prediction.float(), yb)
        n = torch.tensor(float(batch.numel()), dtype=torch.float64)
        return loss, {"loss_sum": loss.detach().double() * n, "n": n}

    def validate(self, model: torch.nn.Module, *, amp: bool) -> dict[str, float]:
        m = _metrics(self.valid.y, predict_output(model, self.x_valid, key="prediction", amp=amp))
        record = {
            "valid_loss": m["mse"],
            "valid_mse": m["mse"],
            "valid_pearson": m["pearson"],
            "valid_spearman": m["spearman"],
            "valid_r2": m["r2"],
            "trainval_mse": math.nan,
        }
        if self.trainval:
            fitted = predict_output(model, self.x_train, key="prediction", amp=amp)
            record["trainval_mse"] = float(np.mean((fitted.astype(np.float64) - self.train.y) ** 2))
        return record


class CellTypeTask(_Rows):
    """Cross-entropy of each row's cell among the training cells, on the model's ``cell_logits``."""

    name = "cell_type"

    def __init__(self, train: Examples, valid: Examples, *, n_classes: int, selection: str = "fixed") -> None:
        super().__init__(train, valid, selection=selection)
        if n_classes < 2:
            raise InputError("a cell-type classifier needs at least 2 training cells")
        self.n_classes = n_classes
        self.selection_metric = "epoch" if selection == "fixed" else "valid_loss"
        self.selection_lower = selection != "fixed"

    def step(self, model, batch, *, progress, amp):
        xb, yb = self.x_train[batch], self.y_train[batch]  # (batch, marks, bins), (batch,) int64
        with autocast(self.device, amp):
            logits = model(xb)["cell_logits"]  # (batch, classes)
        loss = F.cross_entropy(logits.float(), yb)
        n = torch.tensor(float(batch.numel()), dtype=torch.float64)
        return loss, {"loss_sum": loss.detach().double() * n, "n": n}

    def validate(self, model: torch.nn.Module, *, amp: bool) -> dict[str, float]:
        logits = torch.from_numpy(predict_output(model, self.x_valid, key="cell_logits", amp=amp)).double()
        y = torch.from_numpy(self.valid.y)
        return {
            "valid_loss": float(F.cross_entropy(logits, y)),
            "valid_accuracy": float((logits.argmax(1) == y).double().mean()),
        }


def _check_card(card: Mapping[str, Any]) -> str:
    """``regression`` or ``cell_type``: what the card trains for; errors name the card key."""
    if card["task"] != "regression":
        raise InputError(
            f"'{card['name']}' is a {card['task']} card; a regression run needs a regression card",
            key="task",
            hint="use jamaica_cnn, jamaica_celltype, linear_regression, random_forest_regression or "
            "random_forest_correlated",
        )
    kind = "cell_type" if "cell_logits" in card["outputs"] else "regression"
    if card["framework"] == "sklearn" and kind == "cell_type":
        raise InputError("a cell-type classifier must be a torch card", key="framework")
    if card["training"].get("selection_metric") not in (None, *SELECTIONS):
        raise InputError(
            f"selection metric {card['training']['selection_metric']!r} is not supported for regression runs",
            key="training.selection_metric",
            hint=f"use one of {', '.join(SELECTIONS)}",
        )
    return kind


def regression_scores(table: pd.DataFrame, column: str = "prediction") -> dict[str, Any]:
    """Test metrics of a predictions table (``cell``, ``seen``, ``target``, ``column``): ``test_mse``,
    ``test_pearson``, ``test_spearman``, ``test_r2`` over all rows; ``test_seen_*`` / ``test_unseen_*`` (MSE,
    Pearson; None under 2 rows) over the cells the model trained on and the others; ``test_mse_per_cell``."""
    out: dict[str, Any] = {}
    m = _metrics(table["target"], table[column])
    out.update({f"test_{k}": m[k] for k in ("mse", "pearson", "spearman", "r2")})
    for name, rows in (("seen", table["seen"]), ("unseen", ~table["seen"])):
        part = table[rows]
        m = _metrics(part["target"], part[column]) if len(part) >= 2 else {}
        out[f"test_{name}_mse"] = m.get("mse")
        out[f"test_{name}_pearson"] = m.get("pearson")
        out[f"n_test_{name}"] = int(len(part))
    out["test_mse_per_cell"] = {
        str(cell): float(np.mean((part[column] - part["target"]) ** 2))
        for cell, part in table.groupby("cell", sort=False)
    }
    return out


@dataclass
class RegressionData:
    """A regression run's data: the kind of model (``regression`` or ``cell_type``), the cells of each role, the
    pooled examples of each and the datasets' checksums."""

    kind: str
    loaded: RunData
    datasets: dict[str, str]
    train_cells: list[str]
    valid_cells: list[str]
    test_cells: list[str]
    train: Examples
    valid: Examples
    test: Examples
    sha: dict[str, str]


class RegressionRunner:
    """The run shell's runner of the ``regression`` task: ``spec.data`` maps each cell to its dataset (one
    reference); ``spec.roles`` names the ``train``, ``valid`` and ``test`` cells (their train, valid and test
    splits); ``spec.options`` the ``target``, ``selection`` (None: the card's) and ``trainval``. A card with
    ``cell_logits`` is the cell-type classifier (``metrics.json`` of ``METRICS_KEYS["cell_type"]``)."""

    def __init__(self, task: str) -> None:
        self.name = task
        self.record: dict[str, Any] = {}

    def _options(self, card: Mapping[str, Any], spec: RunSpec) -> tuple[str, str]:
        target = spec.options.get("target", "log2p1")
        selection = spec.options.get("selection") or card["training"].get("selection_metric") or "fixed"
        return target, selection

    def check(self, card: Mapping[str, Any], spec: RunSpec) -> dict[str, Any]:
        kind = _check_card(card)
        model_card = dict(card)
        if kind == "cell_type":
            train_cells = list(spec.roles["train"])
            model_card["hyperparameters"] = {**card["hyperparameters"], "n_outputs": len(train_cells)}
            model_card["expected_parameters"] = None  # the card's count is for its own n_outputs
        return model_card

    def load(self, card: Mapping[str, Any], spec: RunSpec) -> RegressionData:
        kind = _check_card(card)
        target, _ = self._options(card, spec)
        datasets = {str(c): str(p) for c, p in spec.data.items()}
        train_cells, valid_cells = list(spec.roles["train"]), list(spec.roles["valid"])
        test_cells = list(datasets) if spec.roles.get("test") is None else list(spec.roles["test"])
        used = list(dict.fromkeys(train_cells + valid_cells + test_cells))
        missing = [c for c in used if c not in datasets]
        if missing:
            raise InputError(f"no dataset given for cell(s) {', '.join(missing)}", key="experiments.regression.cells")
        if not train_cells or not test_cells:
            raise InputError("a regression run needs training and test cells", key="experiments.regression.cells")
        loaded = RunData(card)
        for cell in used:
            found = loaded.get(datasets[cell])[3]
            if found != cell:
                raise InputError(f"the dataset of {cell} is a dataset of {found}", path=datasets[cell])
        classes = train_cells if kind == "cell_type" else None

        def examples(cells: list[str], split: str, labels: list[str] | None) -> Examples:
            return regression_examples(loaded, [GeneSet(datasets[c], (split,)) for c in cells], target, classes=labels)

        test = examples(test_cells, "test", None)
        if len(test) == 0:
            raise InputError("there are no test genes", hint="check the split manifest")
        return RegressionData(
            kind=kind,
            loaded=loaded,
            datasets=datasets,
            train_cells=train_cells,
            valid_cells=valid_cells,
            test_cells=test_cells,
            train=examples(train_cells, "train", classes),
            valid=examples(valid_cells, "valid", classes),
            test=test,
            sha={c: loaded.get(datasets[c])[2] for c in used},
        )

    def label(self, data: RegressionData, spec: RunSpec) -> str:
        return str(spec.info.get("part", ""))

    def settings(self, card: Mapping[str, Any], spec: RunSpec) -> dict[str, Any]:
        target, selection = self._options(card, spec)
        return {"selection": selection, "target": target}

    def fingerprint(self, data: RegressionData, spec: RunSpec) -> dict[str, Any]:
        return {"dataset_sha256": data.sha, "train_cells": data.train_cells, "valid_cells": data.valid_cells}

    def task(self, data: RegressionData, card: Mapping[str, Any], spec: RunSpec, settings: dict[str, Any]) -> Task:
        selection = settings["selection"]
        if selection == "fixed":
            settings["patience"] = None  # a fixed budget: every epoch runs, the last is kept
        if data.kind == "cell_type":
            return CellTypeTask(data.train, data.valid, n_classes=len(data.train_cells), selection=selection)
        return RegressionTask(data.train, data.valid, selection=selection, trainval=spec.options.get("trainval", True))

    def fit_sklearn(
        self, card: Mapping[str, Any], data: RegressionData, spec: RunSpec, say: Callable[[str], None]
    ) -> Fitted:
        train, valid = data.train, data.valid
        overrides = {"random_state": int(spec.seed)} if "random_state" in resolve_hyperparameters(card) else None
        estimator = build_model(card, overrides=overrides)
        desc = f"{spec.info.get('model', card['name'])} {self.label(data, spec)}".strip()
        say(f"fitting {desc} (seed {spec.seed}): train {len(train)} gene x cell rows, valid {len(valid)}")
        t0 = time.perf_counter()
        estimator.fit(flat(train.x), train.y.astype(np.float64))
        train_seconds = time.perf_counter() - t0
        train_m = _metrics(train.y, estimator.predict(flat(train.x)))
        valid_m = _metrics(valid.y, estimator.predict(flat(valid.x)))
        row = {"epoch": 1, "train_loss": train_m["mse"], "valid_loss": valid_m["mse"], "trainval_mse": train_m["mse"]}
        row.update({f"valid_{k}": valid_m[k] for k in ("mse", "pearson", "spearman", "r2")})
        row.update(lr=None, seconds=train_seconds, train_seconds=train_seconds)
        self.record = sklearn_record(
            valid={k: valid_m[k] for k in ("mse", "pearson", "spearman", "r2")},
            history=[row],
            train_seconds=train_seconds,
            n_train=len(train),
        )
        extra = {}
        selected = getattr(estimator, "selected_features_", None)
        if selected is not None:
            extra["selected_features"] = [int(i) for i in selected]
        return Fitted(estimator, self.record, extra)

    def score(self, model: Any, data: RegressionData, spec: RunSpec, result: FitResult | None) -> Scored:
        test = data.test
        if result is None:
            prediction = np.asarray(model.predict(flat(test.x)), dtype=np.float64)
        else:
            self.record = result.record()
            x_test = torch.from_numpy(np.ascontiguousarray(test.x)).to(result.device)  # (n_test, marks, bins)
            key = "cell_logits" if data.kind == "cell_type" else "prediction"
            prediction = predict_output(result.model, x_test, key=key, amp=result.amp).astype(np.float64)
        table = pd.DataFrame(
            {
                "cell": test.cells,
                "gene_id": test.gene_ids,
                "seen": np.isin(test.cells, data.train_cells),
                "target": test.y.astype(np.float64),
            }
        )
        valid = self.record["valid"]
        if data.kind == "cell_type":
            return Scored(
                table,
                {
                    **_cell_type_scores(table, prediction, data.train_cells),
                    **{
                        "valid_loss": valid.get("loss"),
                        "valid_accuracy": valid.get("accuracy"),
                    },
                },
            )
        table["prediction"] = prediction
        scores = regression_scores(table)
        scores.update({f"valid_{k}": valid.get(k) for k in ("mse", "pearson", "spearman", "r2")})
        return Scored(table, scores)

    def model_meta(self, card: Mapping[str, Any], data: RegressionData, spec: RunSpec) -> dict[str, Any]:
        train_sets = [GeneSet(data.datasets[c], ("train",)) for c in data.train_cells]
        return data.loaded.training_meta(card, train_sets, data.kind)

    def metrics_task(self, data: RegressionData) -> str:
        return data.kind

    def facts(self, data: RegressionData, spec: RunSpec) -> dict[str, Any]:
        target = self._options({"training": {}}, spec)[0]
        return {
            "target": target,
            "target_label": TARGETS[target][0],
            "train_cells": data.train_cells,
            "valid_cells": data.valid_cells,
            "test_cells": data.test_cells,
            "n_train": len(data.train),
            "n_valid": len(data.valid),
            "n_test": len(data.test),
            "datasets": {c: data.datasets[c] for c in data.sha},
            "dataset_sha256": data.sha,
            # the genes and split of the datasets (one reference: every cell's the same)
            "gene_set": data.loaded.dataset(data.datasets[data.test_cells[0]]).meta.get("gene_set"),
        }

    def extra_metrics(self, data: RegressionData, spec: RunSpec, record: Mapping[str, Any]) -> dict[str, Any]:
        return {}

    def history_columns(self, record: Mapping[str, Any], task: Task | None) -> dict[str, Any]:
        return {"columns": list(CELL_TYPE_HISTORY_COLUMNS if isinstance(task, CellTypeTask) else HISTORY_COLUMNS)}

    def summary(self, metrics: Mapping[str, Any], record: Mapping[str, Any], data: RegressionData) -> str:
        desc = f"{metrics['model']} {metrics.get('part', '')}".strip()
        if data.kind == "cell_type":
            return (
                f"{desc}: test cell-type accuracy {fmt(metrics['test_accuracy'])} over {len(data.train_cells)} cells "
                f"({len(data.test)} test rows); {metrics['wall_seconds']:.1f} s"
            )
        return (
            f"{desc}: test MSE {fmt(metrics['test_mse'])}, Pearson r {fmt(metrics['test_pearson'])} on "
            f"{len(data.test)} gene x cell rows (unseen cells: MSE {fmt(metrics['test_unseen_mse'])}); "
            f"{record['epochs_run']} epochs, kept {record['best_epoch']}; {metrics['wall_seconds']:.1f} s"
        )


def _cell_type_scores(table: pd.DataFrame, logits_np: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """The classifier's test scores: ``p_{cell}`` columns added to ``table`` (the softmax of ``logits_np``,
    (n_test, classes)); accuracy and NLL over the rows of the cells it was trained on."""
    logits = torch.from_numpy(np.array(logits_np))  # (n_test, classes), a writable copy
    probability = torch.softmax(logits, dim=1).numpy()  # (n_test, classes)
    for i, cell in enumerate(classes):
        table[f"p_{cell}"] = probability[:, i]
    seen = table["seen"].to_numpy(dtype=bool, copy=True)  # (n_test,), writable: it indexes a tensor
    y_seen = torch.tensor([classes.index(c) for c in table.loc[seen, "cell"]], dtype=torch.int64)
    return {
        "test_accuracy": float((logits[seen].argmax(1) == y_seen).double().mean()) if seen.any() else None,
        "test_nll": float(F.cross_entropy(logits[seen], y_seen)) if seen.any() else None,
        "classes": classes,
    }


def train_regression(
    card: str | Path | Mapping[str, Any],
    datasets: Mapping[str, str | Path],
    out_dir: str | Path,
    *,
    train_cells: Sequence[str],
    valid_cells: Sequence[str],
    test_cells: Sequence[str] | None = None,
    target: str = "log2p1",
    selection: str | None = None,
    trainval: bool = True,
    seed: int = 0,
    device: str | torch.device = "auto",
    max_epochs: int | None = None,
    patience: int | None = None,
    batch_size: int | None = None,
    resume: bool = True,
    log: LogTarget = None,
    amp: bool | None = None,
    callback: Callable[[dict[str, Any]], Any] | None = None,
    info: Mapping[str, Any] | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """Train one regression run (or the cell-type classifier) and write its files to ``out_dir``: the run spec of
    ``RegressionRunner`` for the run shell (``chromexpr.training.shell.run``).

    Args:
        card: a regression card (name, path or dict): ``jamaica_cnn``, ``jamaica_celltype`` (its output
            size becomes ``len(train_cells)``) or a scikit-learn baseline.
        datasets: cell -> dataset ``.npz`` (one reference: the same genes and splits in every cell).
        out_dir: the run folder (created).
        train_cells: cells whose train-split genes train.
        valid_cells: cells whose valid-split genes select (``valid_mse``) and draw the eval curve.
        test_cells: cells whose test-split genes are scored once, at the end (None: every dataset).
        target: ``TARGETS`` key. selection: ``fixed`` / ``valid_mse`` (None: the card's).
        trainval: record the MSE on the training rows in eval mode every epoch (costs one forward pass).
        seed, device, max_epochs, patience, batch_size, resume, log, amp, callback: as
            ``chromexpr.training.run.train_model`` (torch cards; a baseline runs on the CPU).
        info: keys added to ``metrics.json``.
        threads: CPU threads for torch (``Settings.threads``; None: the process's setting).

    Returns:
        The ``metrics.json`` content: ``test_mse``, ``test_pearson``, ``test_spearman``, ``test_r2`` over the
        test genes of every test cell, the same for the ``seen`` (trained on) and ``unseen`` cells, and
        the MSE per cell; the classifier instead reports ``test_accuracy`` and ``test_nll`` on its cells.
    """
    spec = RunSpec(
        experiment="regression",
        task="regression",
        card=card,
        data={str(c): p for c, p in datasets.items()},
        roles={
            "train": list(train_cells),
            "valid": list(valid_cells),
            "test": None if test_cells is None else list(test_cells),
        },
        seed=seed,
        out_dir=out_dir,
        settings=Settings(device, max_epochs, patience, batch_size, resume, amp, threads),
        options={"target": target, "selection": selection, "trainval": trainval},
        info=dict(info or {}),
    )
    return run(spec, log=log, callback=callback)
