"""Where and how a run executes: the card it trains, the device, deterministic kernels, seeding.

Shared by every task; nothing here knows what is being learned.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import random
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from chromexpr.errors import ChromexprError, InputError
from chromexpr.models import cards_dirs, load_card


class TrainingError(ChromexprError, RuntimeError):
    """Training failed for a reason of the run itself (e.g. the loss became NaN)."""


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


def limit_gpu_memory(fraction: float | None, *, key: str = "train.gpu_memory_fraction") -> bool:
    """Cap this process's CUDA memory at ``fraction`` of each visible GPU, so that several training
    jobs can share one GPU without one starving the others (``--resources gpu=N`` lets N run at once;
    give each at most ``1/N``). The models are small (12 to 650k parameters): a job needs a few
    hundred MB, and one job per GPU leaves most of it idle.

    Only the allocator's limit changes, never what is computed, so results are those of a job
    alone on the GPU. ``None`` or no CUDA: nothing to do. Returns whether a cap was set.

    Raises:
        InputError: ``fraction`` is not a number in (0, 1], naming ``key``.
    """
    if fraction is None:
        return False
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
        raise InputError(
            f"GPU memory fraction {fraction!r} is not a number in (0, 1]",
            key=key,
            hint="give each of N jobs sharing a GPU at most 1/N of it (e.g. 0.24 for 4 jobs), or null for no cap",
        )
    if not torch.cuda.is_available():
        return False
    for index in range(torch.cuda.device_count()):
        torch.cuda.set_per_process_memory_fraction(float(fraction), index)
    return True


def setup_torch(snakemake: Any) -> None:
    """A torch job's process settings: ``threads`` CPU threads, and the config's
    ``train.gpu_memory_fraction`` cap on CUDA memory (:func:`limit_gpu_memory`).
    Neither changes what the job computes on a given device.

    It lives here, not in :mod:`chromexpr.workflow`, which every script imports: the DAG's code
    hash (:func:`chromexpr.dag.module_closure`) counts imports inside functions too, so an import
    of this module from there would make editing any model re-run binning.
    """
    torch.set_num_threads(snakemake.threads)
    if limit_gpu_memory((snakemake.config.get("train") or {}).get("gpu_memory_fraction")):
        logging.getLogger("chromexpr").info(
            "CUDA memory capped at %s of each GPU (train.gpu_memory_fraction)",
            snakemake.config["train"]["gpu_memory_fraction"],
        )


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """torch's CPU threads set to ``threads`` inside the block, and restored after it (None: left as they are): a
    run of the shell (``Settings.threads``), ``chromexpr score``."""
    if threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def job_card(snakemake: Any, name: str | None = None) -> Any:
    """The card a workflow job builds: the card ``name`` (default: the job's ``{model}`` wildcard), or, under
    ``train.input_marks: config``, that card built on the configured marks (``models.registry.with_marks``), the
    card whose training digest the job's ``card`` param holds (``chromexpr.dag.load_cards``)."""
    from chromexpr.models.registry import with_marks

    name = name or snakemake.wildcards.model
    if (snakemake.config.get("train") or {}).get("input_marks", "card") != "config":
        return name
    return with_marks(load_card(name), snakemake.config["marks"])


def resolve_amp(dev: torch.device, amp: bool | None) -> bool:
    """bf16 autocast: on for CUDA unless switched off; asking for it on the CPU is an error."""
    use_amp = dev.type == "cuda" if amp is None else bool(amp)
    if use_amp and dev.type != "cuda":
        raise InputError(
            "mixed precision (amp) is for CUDA devices",
            key="amp",
            hint="leave amp unset (on for CUDA, off for CPU)",
        )
    return use_amp


def set_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """``torch.use_deterministic_algorithms`` for eager execution, without importing ``torch._inductor``.

    The public function also sets the flag of TorchInductor's config, and importing that config loads
    ``torch._inductor``, ``torch._dynamo`` and sympy: 1.3-1.8 s per process (measured with torch 2.13 on
    the 2-core machine), more than a demo training job's own work. chromexpr never compiles a model, so
    only the eager flag matters; it is the same flag either way. Where inductor is loaded already (the
    process compiled something), its config follows too, as the public function would do.
    """
    setter = getattr(torch._C, "_set_deterministic_algorithms", None)
    if setter is None:  # a torch without the private setter: the public function, whatever it imports
        torch.use_deterministic_algorithms(mode, warn_only=warn_only)
        return
    setter(mode, warn_only=warn_only)
    inductor = sys.modules.get("torch._inductor.config")
    if inductor is not None:
        inductor.deterministic = mode


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
    set_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    try:
        yield
    finally:
        set_deterministic_algorithms(previous[0], warn_only=previous[1])
        torch.backends.cudnn.benchmark = previous[2]
        torch.backends.cudnn.deterministic = previous[3]


def seed_everything(seed: int) -> None:
    """Seed Python, numpy's global generator and torch (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - seeds the global RNG for third-party code
    torch.manual_seed(seed)


def shuffle_generator(seed: int) -> torch.Generator:
    """Its own stream for batch order, independent of the weight-init / dropout stream."""
    derived = int(np.random.SeedSequence([seed, 0x5F]).generate_state(1, dtype=np.uint64)[0] >> 1)
    return torch.Generator(device="cpu").manual_seed(derived)


def positive_int(value: Any, key: str, *, allow_none: bool = False) -> int | None:
    """``value`` as an int >= 1 (or None when allowed); anything else is an InputError naming ``key``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{key} must be a positive integer, got {value!r}", key=key)
    return int(value)


def improved(metric: float, best: float | None, *, lower: bool = False) -> bool:
    """Selection rule: the first epoch, then any epoch at least as good (ties: the later wins, as the
    reference code's ``>=``); NaN never beats a number. ``lower``: smaller is better (a loss)."""
    if best is None or math.isnan(best):
        return True
    if math.isnan(metric):
        return False
    return metric <= best if lower else metric >= best


def fmt(value: float | None) -> str:
    """A metric for a log line (4 decimals, ``nan`` for a missing value)."""
    return "nan" if value is None or math.isnan(value) else f"{value:.4f}"


def training_regime(
    training: Mapping[str, Any], *, max_epochs: int | None, patience: int | None, batch_size: int | None
) -> tuple[int, int | None, int]:
    """A torch run's ``(max_epochs, patience, batch_size)``: each override where given, else the card's
    ``training`` value (patience None: no early stopping); errors name the card key."""
    epochs = positive_int(max_epochs if max_epochs is not None else training["max_epochs"], "training.max_epochs")
    stop = positive_int(
        patience if patience is not None else training["patience"], "training.patience", allow_none=True
    )
    batch = positive_int(batch_size if batch_size is not None else training["batch_size"], "training.batch_size")
    return epochs, stop, batch


def sklearn_version() -> str | None:
    """scikit-learn's version, for ``metrics.json``."""
    try:
        import sklearn
    except ImportError:  # pragma: no cover - a dependency
        return None
    return sklearn.__version__
