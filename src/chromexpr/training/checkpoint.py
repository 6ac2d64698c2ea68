"""Epoch checkpoints: everything a killed run needs to continue bit for bit.

A checkpoint holds the model, optimizer and scheduler states, every random number generator the
loop draws from (torch CPU and CUDA, the batch-shuffling generator, numpy and Python), the history,
the best state so far with its metric and epoch, and the early-stopping counter. It is written with
``atomic_path`` after every epoch, so a kill leaves either the previous or the new checkpoint, never
half of one. ``fingerprint`` records the settings that shape the run; a checkpoint whose fingerprint
differs from the current run's is not resumed.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from chromexpr.io.atomic import atomic_path

FORMAT = 1
CHECKPOINT_NAME = "checkpoint.pt"


def capture_rng(shuffle: torch.Generator) -> dict[str, Any]:
    """States of every generator training draws from."""
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None,
        "shuffle": shuffle.get_state(),
        "numpy": np.random.get_state(),  # noqa: NPY002 - the global RNG other code may draw from
        "python": random.getstate(),
    }


def restore_rng(state: dict[str, Any], shuffle: torch.Generator) -> None:
    """Put back the states saved by :func:`capture_rng`."""
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    shuffle.set_state(state["shuffle"])
    np.random.set_state(state["numpy"])  # noqa: NPY002 - the global RNG other code may draw from
    random.setstate(state["python"])


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (plus the format version) to ``path`` atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, **state}, tmp)
    return path


def load_checkpoint(path: str | Path, map_location: torch.device | str = "cpu") -> dict[str, Any] | None:
    """Read a checkpoint written by :func:`save_checkpoint`; ``None`` if absent or unreadable
    (e.g. an older format), in which case training starts over."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        # our own file: it holds numpy / Python RNG states, which weights_only refuses
        state = torch.load(path, map_location=map_location, weights_only=False)
    except Exception:  # noqa: BLE001 - any unreadable checkpoint just means "start over"
        return None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        return None
    return state


def state_to_cpu(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A detached CPU copy of a model ``state_dict`` (for keeping the best epoch's weights)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in state_dict.items()}
