"""Entry points: a run = a card, the genes it trains, selects and is tested on, and its files.

===================== ================================================================================
function              what it trains
===================== ================================================================================
``train_model``       one cell: train split trains, valid selects, test is scored (single-cell, Table 2)
``train_cells``       several cells' genes train and select; one target cell's test genes are scored
                      (DeepChrome 2.0 cross-cell groups)
``train_transfer``    a source cell -> a target cell: ``uncross`` (source only) or ``cross`` (domain
                      adaptation on unlabelled target genes), under protocol ``honest`` or ``paper``
``score_run``         no training: a finished run's model scored on another cell's genes (``inference``)
===================== ================================================================================

All of them go through :func:`train_run`, which builds the task, calls the one loop
(``chromexpr.training.loop.fit_torch``) or the scikit-learn fit, scores the test genes once with the
selected state and writes ``model.pt`` / ``model.pkl``, ``metrics.json`` (``METRICS_KEYS`` then the
run's own keys), ``predictions.tsv.gz``, ``history.tsv`` and, for runs over several cells or roles,
``genes.tsv.gz`` (every gene the run used: ``cell``, ``gene_id``, ``role`` train / valid / adapt / test).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

import chromexpr
from chromexpr.dataset import Dataset, load_dataset
from chromexpr.errors import InputError
from chromexpr.evaluation.metrics import classification_metrics
from chromexpr.io.jsonio import to_jsonable
from chromexpr.logs import LogTarget, log_sink
from chromexpr.models import load_card
from chromexpr.training import outputs
from chromexpr.training.checkpoint import CHECKPOINT_NAME
from chromexpr.training.genes import GeneSet, RunData, probe_accuracy, transfer_gene_sets
from chromexpr.training.loop import fit_torch, sklearn_record
from chromexpr.training.runtime import fmt, resolve_card, sklearn_version, training_regime
from chromexpr.training.sklearn_fit import fit_sklearn, predict_sklearn
from chromexpr.training.tasks import (
    ClassificationTask,
    DomainAdaptationTask,
    Examples,
    lambda_schedule,
    predict_logits,
)

#: keys of ``metrics.json``, in the order written (a run's own keys follow)
METRICS_KEYS = (
    "model",
    "cell",
    "seed",
    "framework",
    "device",
    "amp",
    "parameters",
    "test_auroc",
    "test_auprc",
    "test_accuracy",
    "valid_auroc",
    "valid_auprc",
    "valid_accuracy",
    "best_epoch",
    "epochs_run",
    "stopped_early",
    "resumed_from_epoch",
    "wall_seconds",
    "train_seconds",
    "train_genes_per_second",
    "predict_genes_per_second",
    "n_train",
    "n_valid",
    "n_test",
    "dataset",
    "dataset_sha256",
    "card",
    "input",
    "training",
    "torch_version",
    "sklearn_version",
    "chromexpr_version",
)
logger = logging.getLogger("chromexpr.training")
TASKS = ("classification", "domain_adaptation")
VARIANTS = ("uncross", "cross")


def _write_genes(path: Path, roles: Sequence[tuple[str, Examples]]) -> None:
    import pandas as pd

    table = pd.concat(
        [pd.DataFrame({"cell": e.cells, "gene_id": e.gene_ids, "role": role}) for role, e in roles],
        ignore_index=True,
    )
    outputs.write_table_gz(path, table)


def train_run(
    card: str | Path | Mapping[str, Any],
    out_dir: str | Path,
    *,
    train: Sequence[GeneSet],
    valid: Sequence[GeneSet],
    test: GeneSet,
    adapt: Sequence[GeneSet] = (),
    task: str = "classification",
    schedule: Mapping[str, Any] | None = None,
    info: Mapping[str, Any] | None = None,
    predict_all: bool = False,
    probe: tuple[GeneSet, GeneSet] | None = None,
    seed: int = 0,
    device: str | torch.device = "auto",
    max_epochs: int | None = None,
    patience: int | None = None,
    batch_size: int | None = None,
    resume: bool = True,
    log: LogTarget = None,
    amp: bool | None = None,
    callback: Callable[[dict[str, Any]], Any] | None = None,
) -> dict[str, Any]:
    """Train one run of any task and write its files to ``out_dir``.

    Args:
        card: a card name, a card YAML path or a loaded card dict.
        out_dir: the run folder (created).
        train, valid: labelled gene sets that train and select (several cells are concatenated).
        test: the gene set scored once, at the end, with the selected state (its dataset's cell is
            the run's ``cell``).
        adapt: unlabelled gene sets for ``domain_adaptation`` (their labels are never read).
        task: ``classification`` or ``domain_adaptation`` (the card's ``domain_adaptation.override``
            is applied to its hyperparameters).
        schedule: gradient-reversal lambda schedule (``tasks.lambda_schedule``; None: the card's).
        info: keys added to ``metrics.json`` after ``METRICS_KEYS`` (they may override ``model``).
        predict_all: write predictions for every gene of the test dataset (single-cell runs) instead of
            the test genes only, and no ``genes.tsv.gz``.
        probe: two unlabelled gene sets (source, target) whose features a fresh classifier tries to tell
            apart after training (``domain_probe_accuracy`` in ``metrics.json``; models with ``features``).
        seed, device, max_epochs, patience, batch_size, resume, log, amp, callback: as ``train_model``.

    Returns:
        The ``metrics.json`` content.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    card_data, card_ref = resolve_card(card)
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}", key="task", hint=f"use one of {', '.join(TASKS)}")
    if card_data["task"] != "classification":
        raise InputError(
            f"'{card_data['name']}' is a {card_data['task']} card; these runs train classification cards",
            key="task",
        )
    training = card_data["training"]
    if training.get("loss") not in (None, "bce_with_logits"):
        raise InputError(
            f"classification trains with bce_with_logits, the card asks for {training.get('loss')!r}",
            key="training.loss",
        )
    if training.get("selection_metric") not in (None, "valid_auroc"):
        raise InputError(
            f"selection metric {training['selection_metric']!r} is not supported",
            key="training.selection_metric",
            hint="use valid_auroc",
        )
    model_card = dict(card_data)
    if task == "domain_adaptation":
        spec = card_data.get("domain_adaptation")
        if not spec:
            raise InputError(
                f"card '{card_data['name']}' has no domain_adaptation section: it has no domain head",
                key="domain_adaptation",
                hint="domain adaptation (transfer variant cross) needs TransferChrome",
            )
        if card_data["framework"] != "torch":
            raise InputError("domain adaptation needs a torch card", key="framework")
        model_card["hyperparameters"] = {**card_data["hyperparameters"], **spec.get("override", {})}
        model_card["expected_parameters"] = spec.get("expected_parameters")

    loaded = RunData(card_data)
    train_ex = loaded.examples(train)
    valid_ex = loaded.examples(valid)
    adapt_ex = loaded.examples(adapt, labelled=False) if adapt else None
    test_data, test_path, test_sha, cell = loaded.get(test.dataset)
    test_mask = loaded.mask(test)
    if not test_mask.any():
        raise InputError(f"no test genes in {cell}", path=test_path, hint="check the split manifest")
    if task == "domain_adaptation" and adapt_ex is None:
        raise InputError("domain adaptation needs unlabelled target genes (adapt)")
    used = (
        loaded.describe(train, "train")
        + loaded.describe(valid, "valid")
        + loaded.describe(adapt, "adapt")
        + loaded.describe([test], "test")
    )
    framework = card_data["framework"]
    settings: dict[str, Any] = {
        k: training.get(k)
        for k in ("loss", "optimizer", "lr", "momentum", "weight_decay", "grad_clip", "scheduler", "selection_metric")
    }
    extra = dict(info or {})
    desc = f"{extra.get('model', card_data['name'])} {cell}"

    with log_sink(log, logger) as say:
        if framework == "sklearn":
            if device not in ("auto", "cpu"):
                say(f"device {device!r} ignored: scikit-learn models run on the CPU")
            settings.update(batch_size=None, max_epochs=None, patience=None)
            fit = fit_sklearn(card_data, train_ex, valid_ex, out_dir, seed=seed, say=say)
            t_predict = time.perf_counter()
            x_scored = test_data.x if predict_all else test_data.x[test_mask]
            probability = predict_sklearn(fit["estimator"], x_scored)
            predict_seconds = time.perf_counter() - t_predict
            record = sklearn_record(
                valid=fit["valid"],
                history=fit["history"],
                train_seconds=fit["train_seconds"],
                n_train=len(train_ex),
            )
            history_columns: tuple[str, ...] = ()
        else:
            epochs, stop, batch = training_regime(
                training, max_epochs=max_epochs, patience=patience, batch_size=batch_size
            )
            settings.update(batch_size=batch, max_epochs=epochs, patience=stop)
            if task == "domain_adaptation":
                the_task = DomainAdaptationTask(
                    train_ex, valid_ex, adapt_ex, lambda_schedule(schedule, card_data["domain_adaptation"])
                )
                settings["lambda_schedule"] = dict(schedule or {}) or {
                    k: card_data["domain_adaptation"].get(k) for k in ("lambda_schedule", "lambda_max", "gamma")
                }
            else:
                the_task = ClassificationTask(train_ex, valid_ex)
            fingerprint = {
                "card_sha256": card_ref["sha256"],
                "dataset_sha256": test_sha,
                "cell": cell,
                "seed": int(seed),
                "genes": used,
                "info": to_jsonable(extra),
                **to_jsonable(settings),
            }
            result = fit_torch(
                model_card,
                the_task,
                out_dir,
                seed=int(seed),
                device=device,
                amp=amp,
                max_epochs=epochs,
                patience=stop,
                batch_size=batch,
                rescale_schedule=max_epochs is not None,
                resume=resume,
                fingerprint=fingerprint,
                say=say,
                callback=callback,
                started=started,
                desc=desc,
            )
            # the kept epoch's weights score the test genes once: the only look at them
            t_predict = time.perf_counter()
            with torch.no_grad():
                x = torch.from_numpy(test_data.x if predict_all else test_data.x[test_mask]).to(result.device)
                probability = 1.0 / (1.0 + np.exp(-predict_logits(result.model, x, amp=result.amp).astype(np.float64)))
            predict_seconds = time.perf_counter() - t_predict
            if probe is not None:
                extra.setdefault(
                    "domain_probe_accuracy", probe_accuracy(loaded, probe, result.model, result.device, seed)
                )
            outputs.save_torch_model(
                out_dir / "model.pt", result.best_state, loaded.training_meta(model_card, train, task)
            )
            record = result.record()
            history_columns = the_task.history_columns

        p_test = probability[test_mask] if predict_all else probability
        test_metrics = classification_metrics(test_data.y[test_mask], p_test)
        metrics = {
            "model": card_data["name"],
            "cell": cell,
            "seed": int(seed),
            "framework": framework,
            "device": record["device"],
            "amp": record["amp"],
            "parameters": record["parameters"],
            "test_auroc": test_metrics["auroc"],
            "test_auprc": test_metrics["auprc"],
            "test_accuracy": test_metrics["accuracy"],
            "valid_auroc": record["valid"]["auroc"],
            "valid_auprc": record["valid"]["auprc"],
            "valid_accuracy": record["valid"]["accuracy"],
            "best_epoch": record["best_epoch"],
            "epochs_run": record["epochs_run"],
            "stopped_early": record["stopped_early"],
            "resumed_from_epoch": record["resumed_from_epoch"],
            "wall_seconds": record["elapsed_before"] + time.perf_counter() - started,
            "train_seconds": record["train_seconds"],
            "train_genes_per_second": record["train_genes_per_second"],
            "predict_genes_per_second": len(probability) / max(predict_seconds, 1e-9),
            "n_train": len(train_ex),
            "n_valid": len(valid_ex),
            "n_test": int(test_mask.sum()),
            "dataset": test_path,
            "dataset_sha256": test_sha,
            "card": card_ref,
            "input": {k: card_data["input"][k] for k in ("values", "transform", "marks", "bins")},
            "training": settings,
            "torch_version": torch.__version__,
            "sklearn_version": sklearn_version(),
            "chromexpr_version": chromexpr.__version__,
        }
        if adapt_ex is not None:
            extra.setdefault("n_adapt", len(adapt_ex))
        if not predict_all:
            extra.setdefault("task", task)
            extra.setdefault("datasets", used)
        metrics.update(extra)
        if predict_all:
            outputs.write_predictions(
                out_dir / "predictions.tsv.gz", test_data.gene_ids, test_data.split, test_data.y, probability
            )
        else:
            n = int(test_mask.sum())
            outputs.write_predictions(
                out_dir / "predictions.tsv.gz",
                test_data.gene_ids[test_mask],
                np.full(n, "test"),
                test_data.y[test_mask],
                probability,
            )
            roles = [("train", train_ex), ("valid", valid_ex)]
            if adapt_ex is not None:
                roles.append(("adapt", adapt_ex))
            roles.append(("test", loaded.examples([test], labelled=False)))
            _write_genes(out_dir / "genes.tsv.gz", roles)
        outputs.write_history(out_dir / "history.tsv", record["history"], extra_columns=history_columns)
        outputs.write_metrics(out_dir / "metrics.json", metrics)  # last: its presence means done
        (out_dir / CHECKPOINT_NAME).unlink(missing_ok=True)
        say(
            f"{metrics['model']} on {cell}: test AUROC {fmt(test_metrics['auroc'])}, AUPRC "
            f"{fmt(test_metrics['auprc'])}, accuracy {fmt(test_metrics['accuracy'])} on {metrics['n_test']} genes "
            f"(best epoch {record['best_epoch']}, valid AUROC {fmt(record['valid']['auroc'])}); "
            f"{metrics['wall_seconds']:.1f} s"
        )
    return to_jsonable(metrics)


def train_model(
    card: str | Path | Mapping[str, Any],
    dataset: str | Path | Dataset,
    out_dir: str | Path,
    *,
    seed: int = 0,
    device: str | torch.device = "auto",
    max_epochs: int | None = None,
    patience: int | None = None,
    batch_size: int | None = None,
    resume: bool = True,
    log: LogTarget = None,
    amp: bool | None = None,
    callback: Callable[[dict[str, Any]], Any] | None = None,
) -> dict[str, Any]:
    """Train one model on one cell's dataset and write its results to ``out_dir``.

    The train split trains, the valid split selects the epoch (best AUROC, ties: the later), the
    test split is scored once with the kept weights; ``predictions.tsv.gz`` holds every gene.

    Args:
        card: a card name (``"deepchrome"``), a card YAML path or a loaded card dict.
        dataset: a dataset ``.npz`` (``results/datasets/<cell>.npz``); a loaded ``Dataset`` works
            too (then ``dataset_sha256`` is null).
        out_dir: directory for ``model.pt`` / ``model.pkl``, ``metrics.json``,
            ``predictions.tsv.gz``, ``history.tsv`` (and ``checkpoint.pt`` while running).
        seed: seeds weights, dropout and batch order (torch) or ``random_state`` (scikit-learn).
        device: ``auto`` (CUDA if available, else CPU), ``cpu``, ``cuda`` or ``cuda:N``.
        max_epochs, patience, batch_size: override the card's ``training`` values (torch only).
            A cosine schedule then anneals over the new ``max_epochs``.
        resume: continue from ``out_dir/checkpoint.pt`` when it exists and was written by a run
            with the same card, dataset, seed and settings; the result equals an uninterrupted
            run's (same device type). ``False`` starts over.
        log: where the per-epoch lines go: a ``logging.Logger``, a callable taking a string, or a
            file path (appended); ``None`` logs to the ``chromexpr.training`` logger at INFO.
        amp: bf16 autocast; ``None`` = on for CUDA, off for CPU.
        callback: called after every epoch (after its checkpoint is written) with that epoch's
            history record and ``best_epoch``, ``best_metric``.

    Returns:
        The ``metrics.json`` content as a dict (keys ``METRICS_KEYS``).

    Raises:
        InputError: a bad card, dataset, device or setting (the message says which and where).
        TrainingError: the loss became NaN or infinite.
    """
    return train_run(
        card,
        out_dir,
        train=[GeneSet(dataset, ("train",))],
        valid=[GeneSet(dataset, ("valid",))],
        test=GeneSet(dataset, ("test",)),
        predict_all=True,
        seed=seed,
        device=device,
        max_epochs=max_epochs,
        patience=patience,
        batch_size=batch_size,
        resume=resume,
        log=log,
        amp=amp,
        callback=callback,
    )


def train_cells(
    card: str | Path | Mapping[str, Any],
    train_datasets: Sequence[str | Path | Dataset],
    target: str | Path | Dataset,
    out_dir: str | Path,
    *,
    info: Mapping[str, Any] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Train on the train genes of several cells, select on their valid genes, score the target's
    test genes (DeepChrome 2.0's cross-cell groups). The target may or may not be among the training
    cells (Inclusive / Exclusive); under the one split manifest no test gene is ever trained on.

    ``options`` are those of :func:`train_model`; ``info`` adds keys to ``metrics.json``.
    """
    if not train_datasets:
        raise InputError("no training cells", hint="an empty group has no run")
    return train_run(
        card,
        out_dir,
        train=[GeneSet(d, ("train",)) for d in train_datasets],
        valid=[GeneSet(d, ("valid",)) for d in train_datasets],
        test=GeneSet(target, ("test",)),
        info=info,
        **options,
    )


def _cell_and_size(dataset: str | Path | Dataset) -> tuple[str, int]:
    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    return str(ds.meta.get("cell")), ds.n_genes


def train_transfer(
    card: str | Path | Mapping[str, Any],
    source: str | Path | Dataset,
    target: str | Path | Dataset,
    out_dir: str | Path,
    *,
    variant: str = "cross",
    protocol: str = "honest",
    schedule: Mapping[str, Any] | None = None,
    seed: int = 0,
    **options: Any,
) -> dict[str, Any]:
    """TransferChrome's cross-cell training, source -> target (Table 3).

    ``uncross``: classification on the source genes only. ``cross``: domain adaptation, the label loss
    on labelled source genes and the domain loss (through gradient reversal, lambda by ``schedule``)
    on source (1) and unlabelled target (0) genes. Model selection uses source validation genes only;
    the target's labels are read once, for the test genes, after training. ``metrics.json`` adds
    ``experiment``, ``base_model``, ``variant``, ``protocol``, ``source``, ``target``, ``n_adapt``.
    ``options`` are those of :func:`train_model`.
    """
    if variant not in VARIANTS:
        raise InputError(f"unknown variant {variant!r}", hint="use uncross or cross")
    name = load_card(card)["name"] if not isinstance(card, Mapping) else card["name"]
    source_cell, _ = _cell_and_size(source)
    target_cell, n_target = _cell_and_size(target)
    if source_cell == target_cell:
        raise InputError(f"source and target are the same cell ({source_cell})", key="experiments.transfer.targets")
    sets = transfer_gene_sets(source, target, protocol=protocol, seed=seed, target_cell=target_cell, n_target=n_target)
    info = {
        "model": f"{name}_{variant}",
        "experiment": "transfer",
        "base_model": name,
        "variant": variant,
        "protocol": protocol,
        "source": source_cell,
        "target": target_cell,
        "n_adapt": 0,
    }
    if variant == "cross":
        del info["n_adapt"]  # counted by train_run
    return train_run(
        card,
        out_dir,
        train=sets["train"],
        valid=sets["valid"],
        adapt=sets["adapt"] if variant == "cross" else (),
        test=sets["test"],
        task="domain_adaptation" if variant == "cross" else "classification",
        schedule=schedule,
        info=info,
        probe=sets["probe"],
        seed=seed,
        **options,
    )
