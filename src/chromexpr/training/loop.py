"""``train_model``: the one training entry point, for every card (torch and scikit-learn).

From a workflow script::

    from chromexpr.training import train_model
    metrics = train_model(snakemake.wildcards.model, snakemake.input.dataset,
                          Path(snakemake.output.metrics).parent, seed=int(snakemake.wildcards.seed),
                          log=snakemake.log[0])

Torch cards: seeded and deterministic on CPU (one seed sets the weights, dropout and the shuffling
generator; ``torch.use_deterministic_algorithms`` is on while training); BCE-with-logits on the
model's ``logits``; optimizer, learning rate, momentum, weight decay, gradient-norm clipping and the
scheduler come from the card's ``training`` section. After every epoch the model is scored on the
valid split; the epoch with the best validation AUROC is kept (ties: the later epoch wins, as the
reference code's ``>=``), training stops after ``patience`` epochs without improvement, and the
test split is scored once, at the end, with the kept weights. A checkpoint written after every
epoch lets a killed run continue to the result an uninterrupted run would have given.

scikit-learn cards: fitted once on the train split (``random_state`` = the seed), scored on valid,
and once on test; the same files are written, the single fit counting as epoch 1.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - torch convention
import yaml
from scipy.special import expit

import chromexpr
from chromexpr.dataset import Dataset, load_dataset
from chromexpr.errors import ChromexprError, InputError
from chromexpr.evaluation.metrics import classification_metrics
from chromexpr.io.atomic import sha256sum
from chromexpr.io.jsonio import to_jsonable
from chromexpr.logs import LogTarget, log_sink
from chromexpr.models import (
    build_model,
    cards_dirs,
    count_parameters,
    load_card,
    resolve_hyperparameters,
)
from chromexpr.progress import around_bars, progress_bar
from chromexpr.training import outputs
from chromexpr.training.checkpoint import (
    CHECKPOINT_NAME,
    capture_rng,
    load_checkpoint,
    restore_rng,
    save_checkpoint,
    state_to_cpu,
)
from chromexpr.training.data import ModelData, model_inputs

logger = logging.getLogger("chromexpr.training")

#: keys of ``metrics.json``, in the order written
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

EVAL_BATCH = 1024  # genes per forward pass when predicting; fixed so predictions are reproducible


class TrainingError(ChromexprError, RuntimeError):
    """Training failed for a reason of the run itself (e.g. the loss became NaN)."""


# --- small helpers -------------------------------------------------------------------------------


def _card_path(card: str | Path) -> Path | None:
    """The YAML file ``load_card`` reads for a name or path (None when it cannot be found, in which
    case ``load_card`` raises its own error)."""
    path = Path(card)
    if path.suffix in (".yaml", ".yml") or len(path.parts) > 1:
        return path if path.is_file() else None
    for directory in cards_dirs():
        candidate = directory / f"{card}.yaml"
        if candidate.is_file():
            return candidate
    return None


def resolve_card(card: str | Path | Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Load a card; return it with its reference ``{name, path, sha256}`` (the SHA-256 of the YAML
    file's text, or of the canonical YAML dump of a card given as a dict)."""
    if isinstance(card, Mapping):
        data = load_card(card)
        text, path = yaml.safe_dump(data, sort_keys=True), None
    else:
        path = _card_path(card)
        data = load_card(path if path is not None else card)
        text = path.read_text(encoding="utf-8")
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return data, {"name": data["name"], "path": None if path is None else str(path), "sha256": sha}


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto``: CUDA when available, else CPU. Asking for CUDA where there is none is an error,
    never a silent fall-back."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise InputError(f"unknown device {device!r}", key="device", hint="use auto, cpu, cuda or cuda:N") from err
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(
                f"device {device!r} was asked for but CUDA is not available "
                f"(torch {torch.__version__}, built with CUDA {torch.version.cuda})",
                key="device",
                hint="use device 'auto' or 'cpu', or run where a GPU and a CUDA build of torch are",
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InputError(f"device {device!r}: only {torch.cuda.device_count()} GPU(s) visible", key="device")
    return dev


@contextlib.contextmanager
def deterministic(device: torch.device) -> Iterator[None]:
    """Deterministic kernels while training; the previous global settings are restored after."""
    previous = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.benchmark,
        torch.backends.cudnn.deterministic,
    )
    if device.type == "cuda":
        # cuBLAS reads this when its handle is made; with it, matmuls are reproducible on GPU
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    # warn_only: an op without a deterministic kernel (some CUDA backward passes) warns, not fails
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous[0], warn_only=previous[1])
        torch.backends.cudnn.benchmark = previous[2]
        torch.backends.cudnn.deterministic = previous[3]


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - seeds the global RNG for third-party code
    torch.manual_seed(seed)  # CPU and every CUDA device


def _shuffle_generator(seed: int) -> torch.Generator:
    """Its own stream for batch order, independent of the weight-init / dropout stream."""
    derived = int(np.random.SeedSequence([seed, 0x5F]).generate_state(1, dtype=np.uint64)[0] >> 1)
    return torch.Generator(device="cpu").manual_seed(derived)


def _positive_int(value: Any, key: str, *, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{key} must be a positive integer, got {value!r}", key=key)
    return int(value)


def _bce(prob: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(np.asarray(prob, dtype=np.float64), 1e-15, 1 - 1e-15)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def _improved(metric: float, best: float | None) -> bool:
    """Selection rule: the first epoch, then any epoch at least as good (ties: the later wins);
    NaN never beats a number."""
    if best is None or math.isnan(best):
        return True
    return not math.isnan(metric) and metric >= best


def _fmt(value: float | None) -> str:
    return "nan" if value is None or math.isnan(value) else f"{value:.4f}"


# --- torch ---------------------------------------------------------------------------------------


def make_optimizer(params, training: Mapping[str, Any]) -> torch.optim.Optimizer:
    """The card's optimizer: ``sgd``, ``adam``, ``adamw`` or ``rmsprop`` with its lr, momentum
    (SGD, RMSprop) and weight decay."""
    name = str(training.get("optimizer") or "").lower()
    lr = float(training["lr"])
    momentum = float(training.get("momentum") or 0.0)
    weight_decay = float(training.get("weight_decay") or 0.0)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise InputError(
        f"unknown optimizer {training.get('optimizer')!r}",
        key="training.optimizer",
        hint="use sgd, adam, adamw or rmsprop",
    )


def make_scheduler(
    optimizer: torch.optim.Optimizer, training: Mapping[str, Any], max_epochs: int, *, rescale: bool
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """``null`` / ``none``: constant lr. ``cosine`` (or ``{name: cosine, t_max, eta_min}``): cosine
    annealing, stepped once per epoch, to ``eta_min`` (1e-6) after ``t_max`` epochs (the card's
    value, else ``max_epochs``; ``rescale`` = max_epochs was overridden, so anneal over that)."""
    spec = training.get("scheduler")
    if spec is None or spec == "none":
        return None
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, Mapping) or spec.get("name") != "cosine":
        raise InputError(
            f"unknown scheduler {spec!r}",
            key="training.scheduler",
            hint="use null or {name: cosine, t_max: <epochs>, eta_min: 1.0e-6}",
        )
    t_max = max_epochs if rescale or spec.get("t_max") is None else int(spec["t_max"])
    eta_min = float(spec.get("eta_min", 1e-6))
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=t_max, eta_min=eta_min)


@torch.inference_mode()
def predict_logits(
    model: torch.nn.Module,
    x: torch.Tensor,
    index: torch.Tensor | None = None,
    *,
    amp: bool = False,
    batch_size: int = EVAL_BATCH,
) -> np.ndarray:
    """Logits ``(n,)`` float32 of ``x[index]`` (all rows when ``index`` is None), in eval mode.

    Args:
        model: a torch model (``forward(x)["logits"]``).
        x: ``(genes, marks, bins)`` on the model's device.
        index: rows to predict, on the same device.
        amp: bf16 autocast (CUDA).
        batch_size: genes per forward pass.
    """
    model.eval()
    n = x.shape[0] if index is None else index.numel()
    pieces = []
    for start in range(0, n, batch_size):
        rows = slice(start, start + batch_size)
        xb = x[rows] if index is None else x[index[rows]]
        with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=amp):
            pieces.append(model(xb)["logits"].float())
    if not pieces:
        return np.zeros(0, dtype=np.float32)
    return torch.cat(pieces).cpu().numpy()


def _train_epoch(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    train_index: torch.Tensor,
    *,
    batch_size: int,
    shuffle: torch.Generator,
    grad_clip: float | None,
    amp: bool,
) -> float:
    """One pass over the train genes in a fresh random order; returns the mean BCE loss."""
    model.train()
    n = train_index.numel()
    order = train_index[torch.randperm(n, generator=shuffle).to(train_index.device)]
    total = torch.zeros((), dtype=torch.float64, device=x.device)  # summed on device: no sync per batch
    for start in range(0, n, batch_size):
        rows = order[start : start + batch_size]
        xb, yb = x[rows], y[rows]  # (batch, marks, bins), (batch,)
        with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=amp):
            logits = model(xb)["logits"]
        loss = F.binary_cross_entropy_with_logits(logits.float(), yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), float(grad_clip))
        optimizer.step()
        total += loss.detach().double() * rows.numel()
    return float(total.item() / n)


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
    saved = load_checkpoint(path)  # on the CPU: RNG states must stay CPU tensors
    if saved is None:
        if path.exists():
            say(f"ignoring {path}: not a readable checkpoint of this version; starting over")
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


def _train_torch(
    card: dict[str, Any],
    data: ModelData,
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
) -> dict[str, Any]:
    training = card["training"]
    if training.get("loss") not in (None, "bce_with_logits"):
        raise InputError(
            f"train_model trains with bce_with_logits, the card asks for {training.get('loss')!r}",
            key="training.loss",
        )
    dev = resolve_device(device)
    use_amp = dev.type == "cuda" if amp is None else bool(amp)
    if use_amp and dev.type != "cuda":
        raise InputError(
            "mixed precision (amp) is for CUDA devices",
            key="amp",
            hint="leave amp unset (on for CUDA, off for CPU)",
        )
    fingerprint = {**fingerprint, "device": dev.type, "amp": use_amp}
    checkpoint_path = out_dir / CHECKPOINT_NAME
    for stale in out_dir.glob(f".{CHECKPOINT_NAME}.*"):  # atomic_path temporaries of a killed run
        stale.unlink(missing_ok=True)

    with deterministic(dev):
        _seed_everything(seed)
        shuffle = _shuffle_generator(seed)
        model = build_model(card).to(dev)
        n_parameters = count_parameters(model)
        optimizer = make_optimizer(model.parameters(), training)
        scheduler = make_scheduler(optimizer, training, max_epochs, rescale=rescale_schedule)

        x = torch.from_numpy(data.x).to(dev)  # (genes, marks, bins) float32
        y = torch.from_numpy(data.y.astype(np.float32)).to(dev)  # (genes,)
        train_index = torch.from_numpy(np.flatnonzero(data.mask("train"))).to(dev)
        valid_rows = np.flatnonzero(data.mask("valid"))
        valid_index = torch.from_numpy(valid_rows).to(dev)
        y_valid = data.y[valid_rows]
        n_train = train_index.numel()

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
            f"training {card['name']} on {fingerprint['cell']} (seed {seed}): "
            f"{n_parameters:,} parameters, device {dev}{gpu}, amp {'bf16' if use_amp else 'off'}, "
            f"genes train/valid/test {'/'.join(str(v) for v in data.counts().values())}, "
            f"batch {batch_size}, max {max_epochs} epochs, patience {patience}"
        )
        # epochs, on a terminal only; the per-epoch log line below stays as it is
        bar = progress_bar(
            desc=f"{card['name']} {fingerprint['cell']}", total=max_epochs, initial=state["epoch"], unit=" epochs"
        )
        while not state["stopped"] and state["epoch"] < max_epochs:
            epoch = state["epoch"] + 1
            lr = float(optimizer.param_groups[0]["lr"])
            t_epoch = time.perf_counter()
            train_loss = _train_epoch(
                model,
                optimizer,
                x,
                y,
                train_index,
                batch_size=batch_size,
                shuffle=shuffle,
                grad_clip=training.get("grad_clip"),
                amp=use_amp,
            )
            train_seconds = time.perf_counter() - t_epoch
            if not math.isfinite(train_loss):
                raise TrainingError(
                    f"{card['name']}: the training loss became {train_loss} in epoch {epoch}",
                )
            logits = predict_logits(model, x, valid_index, amp=use_amp)
            valid = classification_metrics(y_valid, expit(logits.astype(np.float64)))
            valid_loss = float(
                F.binary_cross_entropy_with_logits(
                    torch.from_numpy(logits).double(), torch.from_numpy(y_valid).double()
                )
            )
            if scheduler is not None:
                scheduler.step()
            seconds = time.perf_counter() - t_epoch
            record = {
                "epoch": epoch,
                "train_loss": train_loss,
                "valid_loss": valid_loss,
                "valid_auroc": valid["auroc"],
                "valid_auprc": valid["auprc"],
                "valid_accuracy": valid["accuracy"],
                "lr": lr,
                "seconds": seconds,
                "train_seconds": train_seconds,
            }
            state["history"].append(record)
            if _improved(valid["auroc"], state["best_metric"]):
                state.update(
                    best_state=state_to_cpu(model.state_dict()),
                    best_metric=valid["auroc"],
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
            bar.set_postfix_str(f"valid_auroc {_fmt(valid['auroc'])}", refresh=False)
            with around_bars():
                say(
                    f"epoch {epoch}/{max_epochs}  train_loss {train_loss:.4f}  "
                    f"valid_loss {valid_loss:.4f}"
                    f"  valid_auroc {_fmt(valid['auroc'])}  best {_fmt(state['best_metric'])} "
                    f"(epoch {state['best_epoch']})  lr {lr:.3g}  {seconds:.1f} s  "
                    f"{n_train / max(train_seconds, 1e-9):,.0f} genes/s"
                )
            if callback is not None:
                callback(dict(record, best_epoch=state["best_epoch"], best_metric=state["best_metric"]))
        bar.close()
        if state["stopped"]:
            say(f"early stop after epoch {state['epoch']}: no better valid AUROC in {patience} epochs")

        # the kept epoch's weights score every gene once; this is the only look at the test split
        model.load_state_dict(state["best_state"])
        t_predict = time.perf_counter()
        probability = expit(predict_logits(model, x, amp=use_amp).astype(np.float64))
        predict_seconds = time.perf_counter() - t_predict
        outputs.save_torch_model(out_dir / "model.pt", state_to_cpu(state["best_state"]))

    best = next(r for r in state["history"] if r["epoch"] == state["best_epoch"])
    return {
        "device": str(dev),
        "amp": use_amp,
        "parameters": n_parameters,
        "probability": probability,
        "valid": {
            "auroc": best["valid_auroc"],
            "auprc": best["valid_auprc"],
            "accuracy": best["valid_accuracy"],
        },
        "best_epoch": state["best_epoch"],
        "epochs_run": state["epoch"],
        "stopped_early": bool(state["stopped"]),
        "resumed_from_epoch": resumed_from,
        "history": state["history"],
        "train_seconds": state["train_seconds"],
        "train_genes_per_second": n_train * state["epoch"] / max(state["train_seconds"], 1e-9),
        "predict_genes_per_second": data.x.shape[0] / max(predict_seconds, 1e-9),
        "elapsed_before": state["elapsed_seconds"] if resumed_from is not None else 0.0,
    }


# --- scikit-learn --------------------------------------------------------------------------------


def _train_sklearn(
    card: dict[str, Any], data: ModelData, out_dir: Path, *, seed: int, say: Callable[[str], None]
) -> dict[str, Any]:
    overrides = {"random_state": seed} if "random_state" in resolve_hyperparameters(card) else None
    estimator = build_model(card, overrides=overrides)
    x = data.x.reshape(data.x.shape[0], -1)  # (genes, marks * bins), C order as the models expect
    train, valid = data.mask("train"), data.mask("valid")
    say(f"fitting {card['name']} (scikit-learn, seed {seed}) on {int(train.sum())} genes")
    start = time.perf_counter()
    estimator.fit(x[train], data.y[train])
    fit_seconds = time.perf_counter() - start
    t_predict = time.perf_counter()
    classes = list(estimator.classes_)
    probability = estimator.predict_proba(x)[:, classes.index(1)].astype(np.float64)
    predict_seconds = time.perf_counter() - t_predict
    valid_metrics = classification_metrics(data.y[valid], probability[valid])
    record = {
        "epoch": 1,
        "train_loss": _bce(probability[train], data.y[train]),
        "valid_loss": _bce(probability[valid], data.y[valid]),
        "valid_auroc": valid_metrics["auroc"],
        "valid_auprc": valid_metrics["auprc"],
        "valid_accuracy": valid_metrics["accuracy"],
        "lr": None,
        "seconds": fit_seconds,
    }
    say(
        f"fit in {fit_seconds:.1f} s  train_loss {record['train_loss']:.4f}  valid_auroc {_fmt(valid_metrics['auroc'])}"
    )
    outputs.save_sklearn_model(out_dir / "model.pkl", estimator)
    return {
        "device": "cpu",
        "amp": False,
        "parameters": None,
        "probability": probability,
        "valid": {k: valid_metrics[k] for k in ("auroc", "auprc", "accuracy")},
        "best_epoch": 1,
        "epochs_run": 1,
        "stopped_early": False,
        "resumed_from_epoch": None,
        "history": [record],
        "train_seconds": fit_seconds,
        "train_genes_per_second": int(train.sum()) / max(fit_seconds, 1e-9),
        "predict_genes_per_second": data.x.shape[0] / max(predict_seconds, 1e-9),
        "elapsed_before": 0.0,
    }


# --- the entry point -----------------------------------------------------------------------------


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
            history record (plus ``valid_accuracy`` and ``train_seconds``, the training pass
            alone) and ``best_epoch``, ``best_metric``.

    Returns:
        The ``metrics.json`` content as a dict (keys ``METRICS_KEYS``).

    Raises:
        InputError: a bad card, dataset, device or setting (the message says which and where).
        TrainingError: the loss became NaN or infinite.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    card_data, card_ref = resolve_card(card)
    if card_data["task"] != "classification":
        raise InputError(
            f"train_model trains classification cards; '{card_data['name']}' is a {card_data['task']} card",
            key="task",
        )
    training = card_data["training"]
    if training.get("selection_metric") not in (None, "valid_auroc"):
        raise InputError(
            f"selection metric {training['selection_metric']!r} is not supported",
            key="training.selection_metric",
            hint="use valid_auroc",
        )
    if isinstance(dataset, Dataset):
        ds, dataset_path, dataset_sha = dataset, None, None
    else:
        dataset_path = Path(dataset)
        ds, dataset_sha = load_dataset(dataset_path), sha256sum(dataset_path)
    data = model_inputs(ds, card_data, source=dataset_path)
    cell = ds.meta.get("cell")
    framework = card_data["framework"]
    settings: dict[str, Any] = {
        k: training.get(k)
        for k in (
            "loss",
            "optimizer",
            "lr",
            "momentum",
            "weight_decay",
            "grad_clip",
            "scheduler",
            "selection_metric",
        )
    }

    with log_sink(log, logger) as say:
        if framework == "sklearn":
            if device not in ("auto", "cpu"):
                say(f"device {device!r} ignored: scikit-learn models run on the CPU")
            settings.update(batch_size=None, max_epochs=None, patience=None)
            result = _train_sklearn(card_data, data, out_dir, seed=seed, say=say)
        else:
            epochs = _positive_int(
                max_epochs if max_epochs is not None else training["max_epochs"],
                "training.max_epochs",
            )
            stop = _positive_int(
                patience if patience is not None else training["patience"],
                "training.patience",
                allow_none=True,
            )
            batch = _positive_int(
                batch_size if batch_size is not None else training["batch_size"],
                "training.batch_size",
            )
            settings.update(batch_size=batch, max_epochs=epochs, patience=stop)
            fingerprint = {
                "card_sha256": card_ref["sha256"],
                "dataset_sha256": dataset_sha,
                "cell": cell,
                "seed": int(seed),
                **settings,
            }
            result = _train_torch(
                card_data,
                data,
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
            )

        probability = result["probability"]
        test = data.mask("test")
        test_metrics = classification_metrics(data.y[test], probability[test])
        counts = data.counts()
        try:
            import sklearn

            sklearn_version = sklearn.__version__
        except ImportError:  # pragma: no cover - a dependency
            sklearn_version = None
        metrics = {
            "model": card_data["name"],
            "cell": cell,
            "seed": int(seed),
            "framework": framework,
            "device": result["device"],
            "amp": result["amp"],
            "parameters": result["parameters"],
            "test_auroc": test_metrics["auroc"],
            "test_auprc": test_metrics["auprc"],
            "test_accuracy": test_metrics["accuracy"],
            "valid_auroc": result["valid"]["auroc"],
            "valid_auprc": result["valid"]["auprc"],
            "valid_accuracy": result["valid"]["accuracy"],
            "best_epoch": result["best_epoch"],
            "epochs_run": result["epochs_run"],
            "stopped_early": result["stopped_early"],
            "resumed_from_epoch": result["resumed_from_epoch"],
            "wall_seconds": result["elapsed_before"] + time.perf_counter() - started,
            "train_seconds": result["train_seconds"],
            "train_genes_per_second": result["train_genes_per_second"],
            "predict_genes_per_second": result["predict_genes_per_second"],
            "n_train": counts["train"],
            "n_valid": counts["valid"],
            "n_test": counts["test"],
            "dataset": None if dataset_path is None else str(dataset_path),
            "dataset_sha256": dataset_sha,
            "card": card_ref,
            "input": {k: card_data["input"][k] for k in ("values", "transform", "marks", "bins")},
            "training": settings,
            "torch_version": torch.__version__,
            "sklearn_version": sklearn_version,
            "chromexpr_version": chromexpr.__version__,
        }
        outputs.write_predictions(out_dir / "predictions.tsv.gz", data.gene_ids, data.split, data.y, probability)
        outputs.write_history(out_dir / "history.tsv", result["history"])
        outputs.write_metrics(out_dir / "metrics.json", metrics)  # last: its presence means done
        (out_dir / CHECKPOINT_NAME).unlink(missing_ok=True)
        say(
            f"{card_data['name']} on {cell}: test AUROC {_fmt(test_metrics['auroc'])}, AUPRC "
            f"{_fmt(test_metrics['auprc'])}, accuracy {_fmt(test_metrics['accuracy'])} "
            f"(best epoch {result['best_epoch']}, valid AUROC {_fmt(result['valid']['auroc'])}); "
            f"{metrics['wall_seconds']:.1f} s"
        )
    return to_jsonable(metrics)
