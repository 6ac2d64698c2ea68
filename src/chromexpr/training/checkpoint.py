"""Epoch checkpoints: everything a killed run needs to continue bit for bit.

A checkpoint holds the model, optimizer and scheduler states, every random number generator the
loop draws from (torch CPU and CUDA, the batch-shuffling generator, numpy and Python), the history,
the best state so far with its metric and epoch, and the early-stopping counter. It is written with
``atomic_path`` after every epoch, so a kill leaves either the previous or the new checkpoint, never
half of one. ``fingerprint`` records the settings that shape the run; a checkpoint whose fingerprint
differs from the current run's is not resumed.

A checkpoint is read with ``torch.load(weights_only=True)``: a ``checkpoint.pt`` someone placed in a run
folder (projects are copied between people and to cluster scratch) cannot run code when a job starts,
whatever it holds; it is refused before its contents are looked at. So the file holds only tensors and
Python's plain types: the numpy and Python RNG states are stored as integer tensors (format 2; a
format-1 file, which pickled them as numpy arrays and tuples, is refused and the run starts over).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from chromexpr.io.atomic import save_torch
from chromexpr.io.weights_only import refusal

FORMAT = 2
CHECKPOINT_NAME = "checkpoint.pt"


def capture_rng(shuffle: torch.Generator) -> dict[str, Any]:
    """States of every generator training draws from, as tensors and plain numbers (``weights_only``)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002 - the global RNG other code may draw from
    version, internal, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None,
        "shuffle": shuffle.get_state(),
        "numpy": {
            "kind": str(kind),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),  # (624,) uint32 values
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": {
            "version": int(version),
            "internal": torch.tensor(internal, dtype=torch.int64),  # (625,) values below 2**32
            "gauss_next": gauss_next,
        },
    }


def restore_rng(state: dict[str, Any], shuffle: torch.Generator) -> None:
    """Put back the states saved by :func:`capture_rng`."""
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    shuffle.set_state(state["shuffle"])
    numpy_state = state["numpy"]
    np.random.set_state(  # noqa: NPY002 - the global RNG other code may draw from
        (
            numpy_state["kind"],
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["pos"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    python_state = state["python"]
    random.setstate(
        (python_state["version"], tuple(int(v) for v in python_state["internal"].tolist()), python_state["gauss_next"])
    )


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (plus the format version) to ``path`` atomically."""
    path = Path(path)
    return save_torch({"format": FORMAT, **state}, path)


class CheckpointRefused(Exception):
    """A ``checkpoint.pt`` that is not a readable checkpoint of this version; the message says why."""


def load_checkpoint(path: str | Path, map_location: torch.device | str = "cpu") -> dict[str, Any] | None:
    """Read a checkpoint written by :func:`save_checkpoint` with ``torch.load(weights_only=True)``, so that
    loading never runs code; ``None`` if absent.

    Raises:
        CheckpointRefused: the file is not one (an older format, a truncated file, or a pickle holding
            anything but tensors and plain types, which is refused unexecuted); training then starts over.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - UnpicklingError, zip and EOF errors differ by torch version
        raise CheckpointRefused(f"not a chromexpr checkpoint that loads without running code ({refusal(err)})") from err
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise CheckpointRefused(f"checkpoint format {found!r}, this version writes {FORMAT}")
    return state


def state_to_cpu(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A detached CPU copy of a model ``state_dict`` (for keeping the best epoch's weights)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in state_dict.items()}
