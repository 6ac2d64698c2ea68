"""The one run shell: a run spec in, the run's files out.

A run (:class:`RunSpec`) is an experiment, a task, a card, the data it reads (datasets by name) and the role each
part of it plays (which genes train, select, adapt and are scored), a seed, an output folder and the training
settings. :func:`run` trains or fits any run the same way:

1. the card is loaded and checked against the task (``Runner.check``), the data loaded once (``Runner.load``);
2. a scikit-learn card is fitted once (``Runner.fit_sklearn``); a torch card is trained by the one loop
   (``chromexpr.training.loop.fit_torch``) on the task's batches and loss (``Runner.task``), resumable from its
   checkpoint when the run's fingerprint (card, data, seed, settings) is unchanged; a runner with an optional
   ``assemble`` may instead build the model from finished runs (DeepDiff's AttentiveChrome baseline: two
   independently trained cell runs), training nothing;
3. the test genes are scored once, with the selected state (``Runner.score``): the only look at them;
4. the files are written, each atomically: ``model.pt`` (or ``model.skops``), ``predictions.tsv.gz``,
   ``history.tsv``, the task's own (``genes.tsv.gz``, ``attention.npz``), and ``metrics.json`` last (its presence
   means the run is done), with the keys of ``METRICS_KEYS[task]`` in that order, then the run's ``info``.

What differs between tasks is a runner (``RUNNERS``): ``classification`` and ``domain_adaptation``
(``chromexpr.training.classification``), ``differential`` (``chromexpr.training.differential``), ``regression``
(``chromexpr.training.regression``, with the cell-type classifier). The shell imports a runner's module only for
a run of its task, so a job's code hash covers the shell, its own task and its card's model family.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

import chromexpr
from chromexpr.errors import InputError
from chromexpr.io.jsonio import to_jsonable
from chromexpr.logs import LogTarget, log_sink
from chromexpr.training import outputs
from chromexpr.training.checkpoint import CHECKPOINT_NAME
from chromexpr.training.loop import FitResult, fit_torch
from chromexpr.training.runtime import resolve_card, sklearn_version, torch_threads, training_regime
from chromexpr.training.sklearn_file import SKLEARN_MODEL

logger = logging.getLogger("chromexpr.training")

# --- metrics.json: one definition of its keys -------------------------------------------------------------

#: where and how the model ran
_RUNTIME = ("framework", "device", "amp", "parameters")
#: how training went
_RECORD = (
    "best_epoch",
    "epochs_run",
    "stopped_early",
    "resumed_from_epoch",
    "wall_seconds",
    "train_seconds",
    "train_genes_per_second",
)
#: what produced it
_PROVENANCE = ("card", "input", "training", "torch_version", "sklearn_version", "chromexpr_version")

#: the end of every multi-cell run's keys (the regression ensemble's members and its cell-type classifier)
_MULTI_CELL = (
    "target",
    "target_label",
    "train_cells",
    "valid_cells",
    "test_cells",
    *_RECORD,
    "n_train",
    "n_valid",
    "n_test",
    "datasets",
    "dataset_sha256",
    "gene_set",
    *_PROVENANCE,
)

#: the keys of each task's ``metrics.json``, in the order written (the run's ``info`` keys follow)
METRICS_KEYS: dict[str, tuple[str, ...]] = {
    "classification": (
        "model",
        "cell",
        "seed",
        *_RUNTIME,
        "test_auroc",
        "test_auprc",
        "test_accuracy",
        "valid_auroc",
        "valid_auprc",
        "valid_accuracy",
        *_RECORD,
        "predict_genes_per_second",
        "n_train",
        "n_valid",
        "n_test",
        "dataset",
        "dataset_sha256",
        "labels",
        "gene_set",
        *_PROVENANCE,
    ),
    "differential": (
        "model",
        "pair",
        "cell_a",
        "cell_b",
        "seed",
        "task",
        *_RUNTIME,
        "test_pearson",
        "test_spearman",
        "test_mse",
        "test_r2",
        "valid_pearson",
        "valid_spearman",
        "valid_mse",
        *_RECORD,
        "n_train",
        "n_valid",
        "n_test",
        "n_test_differential",
        "selection",
        "datasets",
        "dataset_sha256",
        "gene_set",
        *_PROVENANCE,
    ),
    "regression": (
        "model",
        "seed",
        "task",
        *_RUNTIME,
        "test_mse",
        "test_pearson",
        "test_spearman",
        "test_r2",
        "test_seen_mse",
        "test_seen_pearson",
        "n_test_seen",
        "test_unseen_mse",
        "test_unseen_pearson",
        "n_test_unseen",
        "test_mse_per_cell",
        "valid_mse",
        "valid_pearson",
        "valid_spearman",
        "valid_r2",
        *_MULTI_CELL,
    ),
    "cell_type": (
        "model",
        "seed",
        "task",
        *_RUNTIME,
        "test_accuracy",
        "test_nll",
        "classes",
        "valid_loss",
        "valid_accuracy",
        *_MULTI_CELL,
    ),
}
METRICS_KEYS["domain_adaptation"] = METRICS_KEYS["classification"]

#: task -> the module and class of its runner (imported for a run of that task only)
RUNNERS = {
    "classification": ("chromexpr.training.classification", "ClassificationRunner"),
    "domain_adaptation": ("chromexpr.training.classification", "ClassificationRunner"),
    "differential": ("chromexpr.training.differential", "DifferentialRunner"),
    "regression": ("chromexpr.training.regression", "RegressionRunner"),
}
#: the ``training`` keys of every run's ``metrics.json`` (a runner adds its own)
TRAINING_KEYS = ("loss", "optimizer", "lr", "momentum", "weight_decay", "grad_clip", "scheduler")


@dataclass(frozen=True)
class Settings:
    """How a torch run trains; scikit-learn fits take none of it.

    Attributes:
        device: ``auto`` (CUDA if available, else CPU), ``cpu``, ``cuda`` or ``cuda:N``.
        max_epochs, patience, batch_size: override the card's ``training`` values (None: the card's); a cosine
            schedule then anneals over the new ``max_epochs``.
        resume: continue from the run folder's ``checkpoint.pt`` when it was written by this very run.
        amp: bf16 autocast; None = on for CUDA, off for CPU.
        threads: CPU threads torch may use (``torch.set_num_threads``); None leaves the process's setting (the
            workflow sets each job's from ``train.threads``). On a busy machine torch's default of one thread per
            core oversubscribes it: AttentiveChrome ran 10-20 times slower so on 2 cores.
    """

    device: str | torch.device = "auto"
    max_epochs: int | None = None
    patience: int | None = None
    batch_size: int | None = None
    resume: bool = True
    amp: bool | None = None
    threads: int | None = None


@dataclass
class RunSpec:
    """One run.

    Attributes:
        experiment: the experiment the run belongs to (``single_cell``, ``transfer``, ...).
        task: ``classification``, ``domain_adaptation``, ``differential`` or ``regression``.
        card: a card name, a card YAML path or a loaded card.
        data: the datasets the run reads, by name (a cell, ``a`` / ``b`` of a pair): ``.npz`` paths (or
            loaded ``Dataset`` objects for the classification tasks).
        roles: which genes of ``data`` play which part; what a role holds is the task's (classification:
            ``train``, ``valid``, ``adapt`` lists of ``GeneSet``, ``test`` one ``GeneSet``, ``probe`` two;
            differential: the split of each role; regression: the cells of each role).
        seed: seeds weights, dropout and batch order (torch) or ``random_state`` (scikit-learn).
        out_dir: the run folder (created).
        settings: how a torch card trains.
        options: the task's own options (a lambda schedule, a regression target, ...).
        info: keys added to ``metrics.json`` after ``METRICS_KEYS[task]`` (they may override ``model``).
    """

    experiment: str
    task: str
    card: str | Path | Mapping[str, Any]
    data: Mapping[str, Any]
    roles: Mapping[str, Any]
    seed: int
    out_dir: str | Path
    settings: Settings = field(default_factory=Settings)
    options: Mapping[str, Any] = field(default_factory=dict)
    info: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Fitted:
    """What a scikit-learn fit hands back: the fitted estimator, the record of the fit (``loop.sklearn_record``)
    and the task's extra ``metrics.json`` keys (e.g. the features a selection kept)."""

    estimator: Any
    record: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Scored:
    """The test genes scored once: ``predictions.tsv.gz``'s table, the test (and valid) metrics that go into
    ``metrics.json``, and the task's extra files (name -> writer taking the path)."""

    table: Any
    metrics: dict[str, Any]
    files: dict[str, Callable[[Path], Any]] = field(default_factory=dict)


class Runner(Protocol):
    """What a task contributes to the shell (``RUNNERS``); constructed with the task's name."""

    def check(self, card: Mapping[str, Any], spec: RunSpec) -> dict[str, Any]:
        """The card to build (the task's hyperparameter overrides applied); errors name the card key."""

    def load(self, card: Mapping[str, Any], spec: RunSpec) -> Any:
        """The run's data, loaded once."""

    def label(self, loaded: Any, spec: RunSpec) -> str:
        """The run's name in log lines and the progress bar, after the model's (a cell, a pair)."""

    def settings(self, card: Mapping[str, Any], spec: RunSpec) -> dict[str, Any]:
        """The task's ``training`` keys of ``metrics.json`` beyond ``TRAINING_KEYS``."""

    def fingerprint(self, loaded: Any, spec: RunSpec) -> dict[str, Any]:
        """What shapes a torch run besides card, seed and settings (its data): a checkpoint of another
        fingerprint is not resumed."""

    def task(self, loaded: Any, card: Mapping[str, Any], spec: RunSpec, settings: dict[str, Any]) -> Any:
        """The loop's task (batches, loss, validation); may add to ``settings`` (or fix the budget there)."""

    def fit_sklearn(self, card: Mapping[str, Any], loaded: Any, spec: RunSpec, say: Callable[[str], None]) -> Fitted:
        """Fit a scikit-learn card once on the training genes (saving ``model.skops``); score the validation
        genes."""

    def score(self, model: Any, loaded: Any, spec: RunSpec, result: FitResult | None) -> Scored:
        """Score the test genes once (the selected torch model of ``result``, or the fitted estimator)."""

    def model_meta(self, card: Mapping[str, Any], loaded: Any, spec: RunSpec) -> dict[str, Any]:
        """``model.pt``'s metadata (``chromexpr.training.model_file``)."""

    def metrics_task(self, loaded: Any) -> str:
        """The key set of ``METRICS_KEYS`` the run writes (the regression runner's classifier: ``cell_type``)."""

    def facts(self, loaded: Any, spec: RunSpec) -> dict[str, Any]:
        """The run's own ``metrics.json`` values: identity (cell, pair, cells), sizes, data provenance."""

    def extra_metrics(self, loaded: Any, spec: RunSpec, record: Mapping[str, Any]) -> dict[str, Any]:
        """Keys added after ``METRICS_KEYS`` unless the spec's ``info`` sets them."""

    def history_columns(self, record: Mapping[str, Any], task: Any) -> dict[str, Any]:
        """``write_history``'s column arguments (``extra_columns`` or ``columns``)."""

    def summary(self, metrics: Mapping[str, Any], record: Mapping[str, Any], loaded: Any) -> str:
        """The run's last log line."""


def runner(task: str) -> Runner:
    """The runner of ``task`` (its module imported now)."""
    if task not in RUNNERS:
        raise InputError(f"unknown task {task!r}", key="task", hint=f"use one of {', '.join(RUNNERS)}")
    module, name = RUNNERS[task]
    return getattr(importlib.import_module(module), name)(task)


def run(spec: RunSpec, *, log: LogTarget = None, callback: Callable[[dict[str, Any]], Any] | None = None) -> dict:
    """Train or fit the run ``spec`` and write its files (module docstring).

    Args:
        spec: the run.
        log: where the log lines go: a ``logging.Logger``, a callable taking a string, or a file path (appended);
            ``None`` logs to the ``chromexpr.training`` logger at INFO.
        callback: called after every epoch of a torch run (after its checkpoint is written) with that epoch's
            history record and ``best_epoch``, ``best_metric``.

    Returns:
        The ``metrics.json`` content.

    Raises:
        InputError: a bad card, dataset, device or setting (the message says which and where).
        TrainingError: the loss became NaN or infinite.
    """
    started = time.perf_counter()
    out_dir = Path(spec.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    the_runner = runner(spec.task)
    card, card_ref = resolve_card(spec.card)
    model_card = the_runner.check(card, spec)
    loaded = the_runner.load(card, spec)
    training = card["training"]
    settings: dict[str, Any] = {k: training.get(k) for k in TRAINING_KEYS}
    settings.update(the_runner.settings(card, spec))
    extra = dict(spec.info)
    framework = card["framework"]
    if spec.settings.threads is not None and int(spec.settings.threads) < 1:
        raise InputError(f"threads {spec.settings.threads} must be 1 or more", key="threads")
    with torch_threads(spec.settings.threads), log_sink(log, logger) as say:
        if framework == "sklearn":
            if spec.settings.device not in ("auto", "cpu"):
                say(f"device {spec.settings.device!r} ignored: scikit-learn models run on the CPU")
            settings.update(batch_size=None, max_epochs=None, patience=None)
            fitted = the_runner.fit_sklearn(card, loaded, spec, say)
            outputs.save_sklearn_model(out_dir / SKLEARN_MODEL, fitted.estimator)
            record = fitted.record
            for key, value in fitted.extra.items():
                extra.setdefault(key, value)
            scored = the_runner.score(fitted.estimator, loaded, spec, None)
            task = None
        else:
            s = spec.settings
            epochs, stop, batch = training_regime(
                training, max_epochs=s.max_epochs, patience=s.patience, batch_size=s.batch_size
            )
            settings.update(batch_size=batch, max_epochs=epochs, patience=stop)
            # a model assembled from finished runs (e.g. DeepDiff's AttentiveChrome baseline from two cell runs)
            # trains nothing here: the runner hands back its model and the record of the runs it came from
            assemble = getattr(the_runner, "assemble", None)
            result = assemble(model_card, loaded, spec, say) if assemble is not None else None
            task = None
            if result is None:
                task = the_runner.task(loaded, model_card, spec, settings)
                epochs, stop = settings["max_epochs"], settings["patience"]  # a task may fix its budget
                fingerprint = {
                    "card_sha256": card_ref["sha256"],
                    **the_runner.fingerprint(loaded, spec),
                    "seed": int(spec.seed),
                    "info": to_jsonable(extra),
                    **to_jsonable(settings),
                }
                result = fit_torch(
                    model_card,
                    task,
                    out_dir,
                    seed=int(spec.seed),
                    device=s.device,
                    amp=s.amp,
                    max_epochs=epochs,
                    patience=stop,
                    batch_size=batch,
                    rescale_schedule=s.max_epochs is not None,
                    resume=s.resume,
                    fingerprint=fingerprint,
                    say=say,
                    callback=callback,
                    started=started,
                    desc=f"{extra.get('model', card['name'])} {the_runner.label(loaded, spec)}".strip(),
                )
            # the kept epoch's weights score the test genes once: the only look at them
            scored = the_runner.score(result.model, loaded, spec, result)
            outputs.save_torch_model(
                out_dir / "model.pt", result.best_state, the_runner.model_meta(model_card, loaded, spec)
            )
            record = result.record()

        values: dict[str, Any] = {
            "model": card["name"],
            "seed": int(spec.seed),
            "task": the_runner.metrics_task(loaded),
            "framework": framework,
            "device": record["device"],
            "amp": record["amp"],
            "parameters": record["parameters"],
            **scored.metrics,
            "best_epoch": record["best_epoch"],
            "epochs_run": record["epochs_run"],
            "stopped_early": record["stopped_early"],
            "resumed_from_epoch": record["resumed_from_epoch"],
            "wall_seconds": record["elapsed_before"] + time.perf_counter() - started,
            "train_seconds": record["train_seconds"],
            "train_genes_per_second": record["train_genes_per_second"],
            **the_runner.facts(loaded, spec),
            "card": card_ref,
            "input": {k: card["input"][k] for k in ("values", "transform", "marks", "bins")},
            "training": settings,
            "torch_version": torch.__version__,
            "sklearn_version": sklearn_version(),
            "chromexpr_version": chromexpr.__version__,
        }
        keys = METRICS_KEYS[values["task"]]
        metrics = {k: values[k] for k in keys}
        for key, value in the_runner.extra_metrics(loaded, spec, record).items():
            extra.setdefault(key, value)
        metrics.update(extra)
        outputs.write_table_gz(out_dir / "predictions.tsv.gz", scored.table)
        outputs.write_history(out_dir / "history.tsv", record["history"], **the_runner.history_columns(record, task))
        for name, write in scored.files.items():
            write(out_dir / name)
        outputs.write_metrics(out_dir / "metrics.json", metrics)  # last: its presence means done
        (out_dir / CHECKPOINT_NAME).unlink(missing_ok=True)
        say(the_runner.summary(metrics, record, loaded))
    return to_jsonable(metrics)
