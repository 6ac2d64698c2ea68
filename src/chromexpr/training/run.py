"""The classification runs' entry points: each builds a run spec for the one run shell
(``chromexpr.training.shell.run``) and runs it.

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

The shell writes ``model.pt`` / ``model.skops``, ``metrics.json`` (``shell.METRICS_KEYS["classification"]`` then
the run's own keys), ``predictions.tsv.gz``, ``history.tsv`` and, for runs over several cells or roles,
``genes.tsv.gz`` (every gene the run used: ``cell``, ``gene_id``, ``role`` train / valid / adapt / test).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from chromexpr.dataset import Dataset, load_dataset
from chromexpr.errors import InputError
from chromexpr.logs import LogTarget
from chromexpr.models import load_card
from chromexpr.training.genes import GeneSet, transfer_gene_sets
from chromexpr.training.shell import METRICS_KEYS as _KEYS
from chromexpr.training.shell import RunSpec, Settings, run

#: keys of a classification run's ``metrics.json``, in the order written (a run's own keys follow)
METRICS_KEYS = _KEYS["classification"]
logger = logging.getLogger("chromexpr.training")
VARIANTS = ("uncross", "cross")


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
    threads: int | None = None,
) -> dict[str, Any]:
    """Train one model on one cell's dataset and write its results to ``out_dir``.

    The train split trains, the valid split selects the epoch (best AUROC, ties: the later), the
    test split is scored once with the kept weights; ``predictions.tsv.gz`` holds every gene.

    Args:
        card: a card name (``"deepchrome"``), a card YAML path or a loaded card dict.
        dataset: a dataset ``.npz`` (``results/datasets/<cell>.npz``); a loaded ``Dataset`` works
            too (then ``dataset_sha256`` is null).
        out_dir: directory for ``model.pt`` / ``model.skops``, ``metrics.json``,
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
        threads: CPU threads for torch (``Settings.threads``; None: the process's setting).

    Returns:
        The ``metrics.json`` content as a dict (keys ``METRICS_KEYS``).

    Raises:
        InputError: a bad card, dataset, device or setting (the message says which and where).
        TrainingError: the loss became NaN or infinite.
    """
    spec = RunSpec(
        experiment="single_cell",
        task="classification",
        card=card,
        data={"dataset": dataset},
        roles={
            "train": [GeneSet(dataset, ("train",))],
            "valid": [GeneSet(dataset, ("valid",))],
            "test": GeneSet(dataset, ("test",)),
        },
        seed=seed,
        out_dir=out_dir,
        settings=Settings(device, max_epochs, patience, batch_size, resume, amp, threads),
        options={"predict_all": True},
    )
    return run(spec, log=log, callback=callback)


def _settings(options: Mapping[str, Any]) -> tuple[Settings, LogTarget, Any]:
    """``train_model``'s keyword options as the shell's settings, log target and callback."""
    known = ("device", "max_epochs", "patience", "batch_size", "resume", "amp", "log", "callback")
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise TypeError(f"unexpected keyword argument(s) {', '.join(unknown)}")
    fields = {k: options[k] for k in known[:6] if k in options}
    return Settings(**fields), options.get("log"), options.get("callback")


def train_cells(
    card: str | Path | Mapping[str, Any],
    train_datasets: Sequence[str | Path | Dataset],
    target: str | Path | Dataset,
    out_dir: str | Path,
    *,
    info: Mapping[str, Any] | None = None,
    seed: int = 0,
    **options: Any,
) -> dict[str, Any]:
    """Train on the train genes of several cells, select on their valid genes, score the target's
    test genes (DeepChrome 2.0's cross-cell groups). The target may or may not be among the training
    cells (Inclusive / Exclusive); under the one split manifest no test gene is ever trained on.

    ``options`` are those of :func:`train_model`; ``info`` adds keys to ``metrics.json``.
    """
    if not train_datasets:
        raise InputError("no training cells", hint="an empty group has no run")
    settings, log, callback = _settings(options)
    spec = RunSpec(
        experiment="cross_cell",
        task="classification",
        card=card,
        data={"train": list(train_datasets), "target": target},
        roles={
            "train": [GeneSet(d, ("train",)) for d in train_datasets],
            "valid": [GeneSet(d, ("valid",)) for d in train_datasets],
            "test": GeneSet(target, ("test",)),
        },
        seed=seed,
        out_dir=out_dir,
        settings=settings,
        info=dict(info or {}),
    )
    return run(spec, log=log, callback=callback)


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
        del info["n_adapt"]  # counted by the runner
    settings, log, callback = _settings(options)
    spec = RunSpec(
        experiment="transfer",
        task="domain_adaptation" if variant == "cross" else "classification",
        card=card,
        data={"source": source, "target": target},
        roles={
            "train": sets["train"],
            "valid": sets["valid"],
            "adapt": sets["adapt"] if variant == "cross" else [],
            "test": sets["test"],
            "probe": sets["probe"],
        },
        seed=seed,
        out_dir=out_dir,
        settings=settings,
        options={"schedule": schedule},
        info=info,
    )
    return run(spec, log=log, callback=callback)
