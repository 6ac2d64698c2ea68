"""One-line reasons for files ``torch.load(weights_only=True)`` refuses, without torch's advice to load
them unsafely."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch

from chromexpr.io.weights_only import pickled_global, refusal


class Planted:
    def __reduce__(self):
        return (os.system, ("true",))


def refused(path: Path) -> BaseException:
    with pytest.raises(Exception) as info:
        torch.load(path, weights_only=True)
    return info.value


def test_a_pickled_callable_is_named_and_torchs_unsafe_advice_is_not_repeated(tmp_path: Path) -> None:
    path = tmp_path / "planted.pt"
    path.write_bytes(pickle.dumps(Planted(), protocol=2))
    err = refused(path)
    assert "weights_only` set to `False`" in str(err)  # what torch would tell the user
    assert pickled_global(err) == f"{os.system.__module__}.system"
    assert (
        refusal(err) == f"it pickles {os.system.__module__}.system, and loading it could run code; refused unexecuted"
    )


def test_a_file_that_is_no_pickle_at_all_gives_its_first_line(tmp_path: Path) -> None:
    path = tmp_path / "text.pt"
    path.write_text("not a checkpoint\n")
    reason = refusal(refused(path))
    assert "\n" not in reason and "False" not in reason and len(reason) < 260
