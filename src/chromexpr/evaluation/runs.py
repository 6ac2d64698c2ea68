"""The files of a finished run, read and checked: ``metrics.json``, ``history.tsv``, ``predictions.tsv.gz``.

A run folder (``results/runs/single_cell/{model}/{cell}/seed{n}/``) holds the three files written by
``chromexpr.training.outputs``. ``collect_metrics`` makes one row per run; ``run_diagnostics`` adds what
the history and predictions say about it (did it stop early or at ``max_epochs``, is its best validation
loss better than chance, the positive fraction of each split); ``training_curves`` and ``roc_curves`` are
the tidy tables behind the training-curve and ROC figures.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from chromexpr.dataset import describe_gene_set
from chromexpr.errors import InputError
from chromexpr.evaluation.statistics import chance_bce

METRIC_KEYS = (
    "model",
    "cell",
    "seed",
    "test_auroc",
    "test_auprc",
    "test_accuracy",
    "valid_auroc",
    "best_epoch",
    "epochs_run",
    "wall_seconds",
    "parameters",
    "device",
)
SPLITS = ("train", "valid", "test")
#: the test positive fraction may differ from the training one by this much before accuracy gets a caveat
ACCURACY_CAVEAT_GAP = 0.1
HISTORY_FILE = "history.tsv"
PREDICTIONS_FILE = "predictions.tsv.gz"
CURVE_COLUMNS = ("model", "cell", "seed", "epoch", "train_loss", "valid_loss", "valid_auroc")
ROC_COLUMNS = ("model", "cell", "seed", "fpr", "tpr")


# ---------------------------------------------------------------------------------------------------
# metrics.json


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def read_metrics_json(path: str | Path, required: Sequence[str], hint: str) -> dict[str, Any]:
    """A run's ``metrics.json`` as a dict holding ``required``; errors name the file (and line) and give
    ``hint`` (which step writes it). Every experiment's reader starts here."""
    path = Path(path)
    if not path.is_file():
        raise InputError("metrics file not found", path=path, hint=hint)
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise InputError(
            f"not valid JSON ({err.msg}, column {err.colno})", path=path, line=err.lineno, hint=hint
        ) from err
    except UnicodeDecodeError as err:
        raise InputError("not a text file", path=path, hint=hint) from err
    if not isinstance(record, dict):
        raise InputError(f"expected a JSON object, found {type(record).__name__}", path=path, hint=hint)
    missing = [k for k in required if k not in record]
    if missing:
        raise InputError(f"missing key(s) {', '.join(missing)}", path=path, hint=hint)
    return record


def _read_metrics(path: Path) -> dict[str, object]:
    hint = "metrics.json is written by the training step (train_model); re-run that run or remove it"
    record = read_metrics_json(path, METRIC_KEYS, hint)

    def bad(key: str, expected: str) -> InputError:
        return InputError(f"key '{key}' = {record[key]!r}: expected {expected}", path=path, hint=hint)

    for key in ("model", "cell"):
        if not isinstance(record[key], str) or not record[key]:
            raise bad(key, "a non-empty string")
    if not _is_int(record["seed"]):
        raise bad("seed", "an integer")
    auroc = record["test_auroc"]
    if not _is_number(auroc) or not (0.0 <= float(auroc) <= 1.0):
        raise bad("test_auroc", "a number in [0, 1]")
    for key in ("test_auprc", "test_accuracy", "valid_auroc", "wall_seconds"):
        if record[key] is not None and not _is_number(record[key]):
            raise bad(key, "a number or null")
    for key in ("best_epoch", "epochs_run", "parameters"):
        if record[key] is not None and not _is_int(record[key]):
            raise bad(key, "an integer or null")
    if record["device"] is not None and not isinstance(record["device"], str):
        raise bad("device", "a string or null")
    row = {k: record[k] for k in METRIC_KEYS}
    # keep further scalar keys (e.g. test set size): they cost nothing and help debugging
    row.update({k: v for k, v in record.items() if k not in row and (v is None or isinstance(v, (str, int, float)))})
    training = record.get("training") if isinstance(record.get("training"), dict) else {}
    for key in ("max_epochs", "patience"):
        value = training.get(key)
        row[key] = value if _is_int(value) else None
    labels = record.get("labels") if isinstance(record.get("labels"), dict) else {}
    row["label_median"] = labels.get("median") if _is_number(labels.get("median")) else None
    row["label_median_over"] = labels.get("median_over") if isinstance(labels.get("median_over"), str) else None
    row.update(gene_set_columns(record))
    row["path"] = str(path)
    return row


def gene_set_columns(record: Mapping[str, Any]) -> dict[str, str | None]:
    """``gene_set`` (its name) and ``gene_set_description`` (in words) of a run's ``metrics.json`` ``record``:
    the genes and split of its dataset (null for a source's own)."""
    gene_set = record.get("gene_set") if isinstance(record.get("gene_set"), dict) else None
    return {
        "gene_set": str(gene_set.get("name")) if gene_set else None,
        "gene_set_description": describe_gene_set(gene_set) if gene_set else None,
    }


def gene_set_descriptions(runs: pd.DataFrame) -> list[str]:
    """The gene sets of ``runs`` (``collect_metrics`` rows) in words, each once, in order of first use; a run
    without a gene set record (a processed source's own genes and split) gives none."""
    if "gene_set_description" not in runs.columns:
        return []
    return [str(d) for d in dict.fromkeys(runs["gene_set_description"].dropna())]


def collect_metrics(paths: Iterable[str | Path], *, keys: Sequence[str] = ("model", "cell", "seed")) -> pd.DataFrame:
    """One row per run from its ``metrics.json``; a missing or malformed file raises ``InputError`` naming it.

    Columns: the ``METRIC_KEYS`` (``test_auroc`` checked to lie in [0, 1]), any further scalar keys,
    ``max_epochs`` and ``patience`` (from the run's ``training`` record; null for scikit-learn fits),
    ``label_median`` and ``label_median_over`` (from its ``labels`` record: how its dataset was labelled; null
    where it has none), ``gene_set`` and ``gene_set_description`` (its dataset's genes and split, in words:
    ``chromexpr.experiments.gene_sets.describe``; null for a source's own) and ``path``. The same ``keys`` twice is an error too (default (model, cell, seed); cross-cell runs share
    those and differ by ``run``, so they pass ``keys=("run", "cell", "seed")``); a file without one of the
    ``keys`` is an error.
    """
    rows = [_read_metrics(Path(p)) for p in paths]
    if not rows:
        return pd.DataFrame(columns=[*METRIC_KEYS, "max_epochs", "patience", "path"])
    keys = list(keys)
    for row in rows:
        missing = [k for k in keys if row.get(k) is None]
        if missing:
            raise InputError(
                f"missing key(s) {', '.join(missing)}",
                path=row["path"],
                hint="metrics.json is written by the training step (train_model); re-run that run or remove it",
            )
    df = pd.DataFrame(rows)
    dup = df.duplicated(keys, keep=False)
    if dup.any():
        first = df[dup].iloc[0]
        same = (df[keys] == first[keys]).all(axis=1)
        others = df.loc[same, "path"]
        label = "/".join(f"seed{first[k]}" if k == "seed" else str(first[k]) for k in keys)
        raise InputError(
            f"run {label} appears more than once: {', '.join(others)}",
            path=first["path"],
            hint="pass each run's metrics.json once",
        )
    for key in ("test_auroc", "test_auprc", "test_accuracy", "valid_auroc", "wall_seconds"):
        df[key] = pd.to_numeric(df[key], errors="coerce").astype(float)
    for key in ("seed", "best_epoch", "epochs_run", "parameters", "max_epochs", "patience"):
        df[key] = pd.array(df[key].tolist(), dtype="Int64")
    return df


# ---------------------------------------------------------------------------------------------------
# history.tsv and predictions.tsv.gz


def _read_run_table(path: Path, what: str, columns: tuple[str, ...], **read_csv: Any) -> pd.DataFrame:
    """One of a run's TSV files, which must exist and have ``columns``; errors name the file and say
    that the training step writes it."""
    hint = f"{path.name} is written by the training step (train_model); re-run that run"
    if not path.is_file():
        raise InputError(f"{what} file not found", path=path, hint=hint)
    table = pd.read_csv(path, sep="\t", **read_csv)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", path=path, line=1, hint=hint)
    return table


def read_history(path: str | Path) -> pd.DataFrame:
    """A run's ``history.tsv`` (one row per epoch: epoch, train_loss, valid_loss, valid_auroc, ...)."""
    table = _read_run_table(Path(path), "history", ("epoch", "train_loss", "valid_loss"))
    for c in table.columns:
        table[c] = pd.to_numeric(table[c], errors="coerce")
    return table


def read_predictions(path: str | Path) -> pd.DataFrame:
    """A run's ``predictions.tsv.gz`` (gene_id, split, label, probability), checked."""
    path = Path(path)
    table = _read_run_table(
        path, "predictions", ("split", "label", "probability"), dtype={"gene_id": str, "split": str}
    )
    bad = sorted(set(table["split"]) - set(SPLITS))
    if bad:
        raise InputError(f"unknown split(s) {', '.join(bad)}", path=path, hint="splits are train, valid, test")
    return table


def _run_file(metrics_path: object, name: str) -> Path:
    return Path(str(metrics_path)).parent / name


def stop_reason(stopped_early: object, epochs_run: object, max_epochs: object) -> str:
    """``"early stop"``, ``"max_epochs"`` (ran the whole budget) or ``"single fit"`` (no epochs: scikit-learn)."""
    if max_epochs is None or max_epochs is pd.NA or epochs_run is None or epochs_run is pd.NA:
        return "single fit"
    if isinstance(stopped_early, bool):
        return "early stop" if stopped_early else "max_epochs"
    return "early stop" if int(epochs_run) < int(max_epochs) else "max_epochs"


def run_diagnostics(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run of ``collect_metrics``: how it stopped, whether it learned, the splits' balance.

    Columns: ``model``, ``cell``, ``seed``, ``device``, ``epochs_run``, ``max_epochs``, ``patience``,
    ``best_epoch``, ``stop`` (``stop_reason``), ``train_positive`` / ``valid_positive`` / ``test_positive``
    (fraction of label 1 per split, from ``predictions.tsv.gz``), ``n_train`` / ``n_valid`` / ``n_test``,
    ``best_valid_loss`` (lowest ``valid_loss`` of ``history.tsv``), ``chance_loss`` (binary cross-entropy
    of the best constant prediction on the validation genes, their positive fraction q:
    ``chance_bce(valid_positive)``, log 2 = 0.693 for balanced labels), ``converged``
    (False when ``best_valid_loss >= chance_loss``: the run never beat a constant; True otherwise, also
    when the loss is unknown) and ``accuracy_caveat`` (the test positive fraction differs from the
    training one by more than ``ACCURACY_CAVEAT_GAP``, so accuracy is not comparable across splits).
    A missing history or predictions file leaves its columns empty (NaN).
    """
    rows = []
    for run in runs.itertuples(index=False):
        row: dict[str, object] = {
            "model": run.model,
            "cell": run.cell,
            "seed": run.seed,
            "device": run.device,
            "epochs_run": run.epochs_run,
            "max_epochs": getattr(run, "max_epochs", pd.NA),
            "patience": getattr(run, "patience", pd.NA),
            "best_epoch": run.best_epoch,
            "stop": stop_reason(getattr(run, "stopped_early", None), run.epochs_run, getattr(run, "max_epochs", None)),
        }
        for split in SPLITS:
            row[f"{split}_positive"] = math.nan
            row[f"n_{split}"] = 0
        predictions = _run_file(run.path, PREDICTIONS_FILE)
        if predictions.is_file():
            pred = read_predictions(predictions)
            for split in SPLITS:
                labels = pred.loc[pred["split"] == split, "label"].astype(float)
                row[f"{split}_positive"] = float(labels.mean()) if len(labels) else math.nan
                row[f"n_{split}"] = len(labels)
        row["best_valid_loss"] = math.nan
        history = _run_file(run.path, HISTORY_FILE)
        if history.is_file():
            losses = read_history(history)["valid_loss"].dropna()
            row["best_valid_loss"] = float(losses.min()) if len(losses) else math.nan
        row["chance_loss"] = chance_bce(row["valid_positive"])
        best, chance = row["best_valid_loss"], row["chance_loss"]
        row["converged"] = not (not math.isnan(best) and not math.isnan(chance) and best >= chance)
        gap = abs(row["test_positive"] - row["train_positive"])
        row["accuracy_caveat"] = bool(not math.isnan(gap) and gap > ACCURACY_CAVEAT_GAP)
        rows.append(row)
    columns = [
        "model",
        "cell",
        "seed",
        "device",
        "epochs_run",
        "max_epochs",
        "patience",
        "best_epoch",
        "stop",
        *(f"{s}_positive" for s in SPLITS),
        *(f"n_{s}" for s in SPLITS),
        "best_valid_loss",
        "chance_loss",
        "converged",
        "accuracy_caveat",
    ]
    out = pd.DataFrame(rows, columns=columns)
    for key in ("seed", "epochs_run", "max_epochs", "patience", "best_epoch"):
        out[key] = pd.array(out[key].tolist(), dtype="Int64")
    out["converged"] = out["converged"].astype(bool)
    out["accuracy_caveat"] = out["accuracy_caveat"].astype(bool)
    return out


def training_curves(runs: pd.DataFrame) -> pd.DataFrame:
    """Tidy per-epoch curves of every run with a ``history.tsv``: ``CURVE_COLUMNS``."""
    parts = []
    for run in runs.itertuples(index=False):
        path = _run_file(run.path, HISTORY_FILE)
        if not path.is_file():
            continue
        history = read_history(path)
        part = pd.DataFrame({"model": run.model, "cell": run.cell, "seed": run.seed}, index=history.index)
        for c in CURVE_COLUMNS[3:]:
            part[c] = history[c] if c in history.columns else math.nan
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=list(CURVE_COLUMNS))
    out = pd.concat(parts, ignore_index=True)[list(CURVE_COLUMNS)]
    out["seed"] = out["seed"].astype(int)
    out["epoch"] = out["epoch"].astype(int)
    return out


def roc_curves(runs: pd.DataFrame) -> pd.DataFrame:
    """Test-split ROC curves of every run with predictions (``sklearn.metrics.roc_curve``): ``ROC_COLUMNS``.

    A run whose test genes are all of one class has no curve (and no row).
    """
    from sklearn.metrics import roc_curve

    parts = []
    for run in runs.itertuples(index=False):
        path = _run_file(run.path, PREDICTIONS_FILE)
        if not path.is_file():
            continue
        pred = read_predictions(path)
        test = pred[pred["split"] == "test"]
        labels = test["label"].astype(int).to_numpy()
        if len(np.unique(labels)) < 2:
            continue
        fpr, tpr, _ = roc_curve(labels, test["probability"].astype(float).to_numpy())
        parts.append(
            pd.DataFrame({"model": run.model, "cell": run.cell, "seed": int(run.seed), "fpr": fpr, "tpr": tpr})
        )
    if not parts:
        return pd.DataFrame(columns=list(ROC_COLUMNS))
    return pd.concat(parts, ignore_index=True)[list(ROC_COLUMNS)]
