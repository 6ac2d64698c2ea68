"""The training loop, written once for every task.

``fit_torch`` seeds, builds the card's model, its optimizer and schedule, then runs epochs: the task
draws the batches and computes the loss; after every epoch the task scores the validation genes, the
epoch with the best ``task.selection_metric`` is kept (ties: the later epoch, as the reference code's
``>=``; a task with ``selection_lower`` keeps the smallest value, e.g. a loss), training stops after
``patience`` epochs without improvement, and a checkpoint written after every epoch lets a killed run continue to the result an uninterrupted run would have given. The loop
never sees test genes: the caller scores them once, with the returned (selected) model.

Deterministic on CPU: one seed sets the weights and dropout; batch order comes from its own
generator; ``torch.use_deterministic_algorithms`` is on while training. bf16 autocast on CUDA.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from chromexpr.models import build_model, count_parameters
from chromexpr.progress import around_bars, progress_bar
from chromexpr.training.checkpoint import (
    CHECKPOINT_NAME,
    CheckpointRefused,
    capture_rng,
    load_checkpoint,
    restore_rng,
    save_checkpoint,
    state_to_cpu,
)
from chromexpr.training.optim import make_optimizer, make_scheduler
from chromexpr.training.runtime import (
    TrainingError,
    deterministic,
    fmt,
    improved,
    resolve_amp,
    resolve_device,
    seed_everything,
    shuffle_generator,
)
from chromexpr.training.tasks import Task


@dataclass
class FitResult:
    """What the loop hands back: the model holding the kept epoch's weights, and the record of it."""

    model: torch.nn.Module
    device: torch.device
    amp: bool
    parameters: int
    best_state: dict[str, torch.Tensor]
    best_epoch: int
    epochs_run: int
    stopped_early: bool
    resumed_from_epoch: int | None
    history: list[dict[str, Any]]
    train_seconds: float
    elapsed_before: float
    n_train: int
    valid: dict[str, float] = field(default_factory=dict)

    @property
    def train_genes_per_second(self) -> float:
        """Labelled training genes per second of training passes."""
        return self.n_train * self.epochs_run / max(self.train_seconds, 1e-9)

    def record(self) -> dict[str, Any]:
        """The run facts every entry point writes into ``metrics.json`` (see ``sklearn_record``)."""
        return {
            "device": str(self.device),
            "amp": self.amp,
            "parameters": self.parameters,
            "valid": self.valid,
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            "stopped_early": self.stopped_early,
            "resumed_from_epoch": self.resumed_from_epoch,
            "history": self.history,
            "train_seconds": self.train_seconds,
            "train_genes_per_second": self.train_genes_per_second,
            "elapsed_before": self.elapsed_before,
        }


def sklearn_record(
    *, valid: Mapping[str, Any], history: list[dict[str, Any]], train_seconds: float, n_train: int
) -> dict[str, Any]:
    """``FitResult.record`` for a scikit-learn fit: one pass on the CPU, nothing resumed."""
    return {
        "device": "cpu",
        "amp": False,
        "parameters": None,
        "valid": dict(valid),
        "best_epoch": 1,
        "epochs_run": 1,
        "stopped_early": False,
        "resumed_from_epoch": None,
        "history": history,
        "train_seconds": train_seconds,
        "train_genes_per_second": n_train / max(train_seconds, 1e-9),
        "elapsed_before": 0.0,
    }


def _resume(
    path: Path,
    fingerprint: dict[str, Any],
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None,
    shuffle: torch.Generator,
    state: dict[str, Any],
    say: Callable[[str], None],
) -> int | None:
    """Load ``path`` into the run if it is a checkpoint of this very run; return the epoch it was
    written after (None: nothing resumed)."""
    try:
        saved = load_checkpoint(path)  # on the CPU: RNG states must stay CPU tensors
    except CheckpointRefused as why:
        say(f"ignoring {path}: {why}; starting over")
        return None
    if saved is None:
        return None
    previous = saved.get("fingerprint") or {}
    if previous != fingerprint:
        changed = sorted(k for k in set(fingerprint) | set(previous) if previous.get(k) != fingerprint.get(k))
        say(f"ignoring {path}: it is from a run with other settings ({', '.join(changed)}); starting over")
        return None
    model.load_state_dict(saved["model"])  # copies onto the model's device
    optimizer.load_state_dict(saved["optimizer"])  # moves its state to the parameters' device
    if scheduler is not None:
        scheduler.load_state_dict(saved["scheduler"])
    restore_rng(saved["rng"], shuffle)
    state.update({k: saved[k] for k in state})
    say(f"resumed from {path} after epoch {state['epoch']}")
    return int(state["epoch"])


def _train_epoch(
    task: Task,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    *,
    epoch: int,
    max_epochs: int,
    batch_size: int,
    shuffle: torch.Generator,
    grad_clip: float | None,
    amp: bool,
) -> dict[str, float]:
    """One pass over the task's training batches; returns the task's epoch record."""
    model.train()
    n_batches = max(task.n_batches(batch_size), 1)
    sums: dict[str, torch.Tensor] = {}
    for i, batch in enumerate(task.batches(shuffle, batch_size)):
        progress = ((epoch - 1) * n_batches + i) / (max_epochs * n_batches)
        loss, stats = task.step(model, batch, progress=progress, amp=amp)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), float(grad_clip))
        optimizer.step()
        for key, value in stats.items():
            # Each statistic is summed where it lives: a loss on the GPU stays there (no host sync
            # per batch) and a count made on the host stays there (no host-to-device copy per batch).
            sums[key] = sums[key] + value if key in sums else value
    return {k: float(v) for k, v in task.epoch_record({k: v.item() for k, v in sums.items()}).items()}


def fit_torch(
    card: Mapping[str, Any],
    task: Task,
    out_dir: Path,
    *,
    seed: int,
    device: str | torch.device,
    amp: bool | None,
    max_epochs: int,
    patience: int | None,
    batch_size: int,
    rescale_schedule: bool,
    resume: bool,
    fingerprint: dict[str, Any],
    say: Callable[[str], None],
    callback: Callable[[dict[str, Any]], Any] | None,
    started: float,
    desc: str,
) -> FitResult:
    """Train ``card``'s model on ``task``; return it holding the selected epoch's weights.

    Args:
        card: a loaded card (its ``training`` section: optimizer, lr, momentum, weight decay,
            ``grad_clip``, ``scheduler``).
        task: batches, loss and validation (``chromexpr.training.tasks``).
        out_dir: where ``checkpoint.pt`` is written after every epoch.
        seed: seeds weights, dropout and (through its own stream) batch order.
        device, amp: ``auto`` / ``cpu`` / ``cuda[:N]``; bf16 autocast (None: on for CUDA).
        max_epochs, patience, batch_size: the resolved training settings (patience None: no early stop).
        rescale_schedule: ``max_epochs`` was overridden, so a cosine schedule anneals over it.
        resume: continue from a checkpoint with the same ``fingerprint``.
        fingerprint: the settings that shape the run (checked on resume).
        say: log sink; callback: called after every epoch with its history record.
        started: ``time.perf_counter()`` at the start of the run (for the elapsed time in checkpoints).
        desc: the run's name in the progress bar and log lines.
    """
    training = card["training"]
    dev = resolve_device(device)
    use_amp = resolve_amp(dev, amp)
    fingerprint = {**fingerprint, "device": dev.type, "amp": use_amp, "task": task.name}
    checkpoint_path = out_dir / CHECKPOINT_NAME
    for stale in out_dir.glob(f".{CHECKPOINT_NAME}.*"):  # atomic_path temporaries of a killed run
        stale.unlink(missing_ok=True)
    metric = task.selection_metric

    with deterministic(dev):
        seed_everything(seed)
        shuffle = shuffle_generator(seed)
        model = build_model(card).to(dev)
        n_parameters = count_parameters(model)
        optimizer = make_optimizer(model.parameters(), training)
        scheduler = make_scheduler(optimizer, training, max_epochs, rescale=rescale_schedule)
        task.to(dev)

        state: dict[str, Any] = {
            "epoch": 0,
            "history": [],
            "best_state": None,
            "best_metric": None,
            "best_epoch": None,
            "bad_epochs": 0,
            "stopped": False,
            "train_seconds": 0.0,
            "elapsed_seconds": 0.0,
        }
        resumed_from = None
        if resume:
            resumed_from = _resume(checkpoint_path, fingerprint, model, optimizer, scheduler, shuffle, state, say)
        gpu = f" ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda" else ""
        say(
            f"training {desc} (seed {seed}, task {task.name}): {n_parameters:,} parameters, device {dev}{gpu}, "
            f"amp {'bf16' if use_amp else 'off'}, {task.describe()}, batch {batch_size}, "
            f"max {max_epochs} epochs, patience {patience}, selection on {metric}"
        )
        bar = progress_bar(desc=desc, total=max_epochs, initial=state["epoch"], unit=" epochs")  # a TTY only
        while not state["stopped"] and state["epoch"] < max_epochs:
            epoch = state["epoch"] + 1
            lr = float(optimizer.param_groups[0]["lr"])
            t_epoch = time.perf_counter()
            train = _train_epoch(
                task,
                model,
                optimizer,
                epoch=epoch,
                max_epochs=max_epochs,
                batch_size=batch_size,
                shuffle=shuffle,
                grad_clip=training.get("grad_clip"),
                amp=use_amp,
            )
            train_seconds = time.perf_counter() - t_epoch
            if not all(math.isfinite(v) for v in train.values()):
                raise TrainingError(f"{desc}: the training loss became {train} in epoch {epoch}")
            valid = task.validate(model, amp=use_amp)
            if scheduler is not None:
                scheduler.step()
            seconds = time.perf_counter() - t_epoch
            record = {
                "epoch": epoch,
                "train_loss": train["train_loss"],
                **valid,
                "lr": lr,
                "seconds": seconds,
                "train_seconds": train_seconds,
                **{k: train[k] for k in task.history_columns},
            }
            state["history"].append(record)
            if improved(record[metric], state["best_metric"], lower=task.selection_lower):
                state.update(
                    best_state=state_to_cpu(model.state_dict()),
                    best_metric=record[metric],
                    best_epoch=epoch,
                    bad_epochs=0,
                )
            else:
                state["bad_epochs"] += 1
            state["stopped"] = patience is not None and state["bad_epochs"] >= patience
            state["epoch"] = epoch
            state["train_seconds"] += train_seconds
            save_checkpoint(
                checkpoint_path,
                {
                    "fingerprint": fingerprint,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": None if scheduler is None else scheduler.state_dict(),
                    "rng": capture_rng(shuffle),
                    **state,
                    "elapsed_seconds": state["elapsed_seconds"] + time.perf_counter() - started,
                },
            )
            bar.update(1)
            bar.set_postfix_str(f"{metric} {fmt(record[metric])}", refresh=False)
            extra = "".join(f"  {k} {fmt(train[k])}" for k in task.history_columns)
            with around_bars():
                say(
                    f"epoch {epoch}/{max_epochs}  train_loss {train['train_loss']:.4f}{extra}  "
                    f"valid_loss {valid['valid_loss']:.4f}  {metric} {fmt(record[metric])}  "
                    f"best {fmt(state['best_metric'])} (epoch {state['best_epoch']})  lr {lr:.3g}  "
                    f"{seconds:.1f} s  {task.n_train / max(train_seconds, 1e-9):,.0f} genes/s"
                )
            if callback is not None:
                callback(dict(record, best_epoch=state["best_epoch"], best_metric=state["best_metric"]))
        bar.close()
        if state["stopped"]:
            say(f"early stop after epoch {state['epoch']}: no better {metric} in {patience} epochs")
        model.load_state_dict(state["best_state"])

    best = next(r for r in state["history"] if r["epoch"] == state["best_epoch"])
    return FitResult(
        model=model,
        device=dev,
        amp=use_amp,
        parameters=n_parameters,
        best_state=state_to_cpu(state["best_state"]),
        best_epoch=int(state["best_epoch"]),
        epochs_run=int(state["epoch"]),
        stopped_early=bool(state["stopped"]),
        resumed_from_epoch=resumed_from,
        history=state["history"],
        train_seconds=float(state["train_seconds"]),
        elapsed_before=float(state["elapsed_seconds"]) if resumed_from is not None else 0.0,
        n_train=task.n_train,
        valid={k.removeprefix("valid_"): v for k, v in best.items() if k.startswith("valid_")},
    )
