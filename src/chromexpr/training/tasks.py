"""Tasks: what differs between experiments, for the one training loop (``chromexpr.training.loop``).

A task owns its examples and says how a training batch is drawn, what the loss is, which statistics
an epoch records and how the model is scored on validation genes; the loop owns everything else
(epochs, optimizer steps, early stopping on ``selection_metric``, checkpoints, seeding, progress).
This module holds what every task shares: the :class:`Task` base, :class:`Examples` and the eval-mode
forward passes. The tasks themselves live beside their runs: ``classification`` and
``domain_adaptation`` in ``chromexpr.training.classification``, ``differential`` in
``chromexpr.training.differential``, ``regression`` and ``cell_type`` in ``chromexpr.training.regression``.
A task never sees test genes: the run shell scores those once, with the selected state, after the loop
has finished.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

# Genes per forward pass when predicting; fixed so predictions are reproducible. Measured on one CPU
# thread (bench/training.py's models, 4,096 genes): 256 predicts 1.8x faster than 1,024 for DeepDiff
# (its LSTMs over 2 x 5 marks x 200 bins), 1.4x for AttentiveChrome, 1.1x for DeepChrome, with bitwise
# the same predictions; 64 and 32 are no faster.
EVAL_BATCH = 256


@dataclass
class Examples:
    """Genes of one or several cells in one role (train, valid, adapt, test), aligned by row.

    Attributes:
        x: ``(n, marks, bins)`` float32 model input.
        y: ``(n,)`` int64 0/1 labels, or None for unlabelled genes (a domain-adaptation target).
        gene_ids: ``(n,)`` gene identifiers.
        cells: ``(n,)`` the cell each row comes from.
    """

    x: np.ndarray
    y: np.ndarray | None
    gene_ids: np.ndarray
    cells: np.ndarray

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @classmethod
    def concat(cls, parts: Sequence[Examples]) -> Examples:
        """Rows of ``parts`` one after another; labelled only when every part is."""
        if not parts:
            raise ValueError("no examples to concatenate")
        labelled = all(p.y is not None for p in parts)
        return cls(
            x=np.concatenate([p.x for p in parts]) if len(parts) > 1 else parts[0].x,
            y=np.concatenate([p.y for p in parts]) if labelled else None,
            gene_ids=np.concatenate([p.gene_ids for p in parts]),
            cells=np.concatenate([p.cells for p in parts]),
        )

    def unlabelled(self) -> Examples:
        """The same genes without their labels."""
        return Examples(x=self.x, y=None, gene_ids=self.gene_ids, cells=self.cells)


def autocast(device: torch.device, amp: bool):
    """bf16 autocast on CUDA when ``amp``; a no-op context otherwise."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp)


@torch.inference_mode()
def predict_output(
    model: torch.nn.Module,
    x: torch.Tensor,
    index: torch.Tensor | None = None,
    *,
    key: str = "logits",
    amp: bool = False,
    batch_size: int = EVAL_BATCH,
) -> np.ndarray:
    """The model's ``key`` output of ``x[index]`` (all rows when ``index`` is None), in eval mode, float32:
    ``(n,)`` for ``logits`` / ``prediction``, ``(n, k)`` for ``cell_logits``.

    Args:
        model: a torch model (``forward(x)[key]``).
        x: ``(genes, marks, bins)`` on the model's device.
        index: rows to predict, on the same device.
        key: the output to collect.
        amp: bf16 autocast (CUDA).
        batch_size: genes per forward pass.
    """
    model.eval()
    n = x.shape[0] if index is None else index.numel()
    pieces = []
    for start in range(0, n, batch_size):
        rows = slice(start, start + batch_size)
        xb = x[rows] if index is None else x[index[rows]]
        with autocast(x.device, amp):
            pieces.append(model(xb)[key].float())
    if not pieces:
        return np.zeros(0, dtype=np.float32)
    return torch.cat(pieces).cpu().numpy()


def predict_logits(
    model: torch.nn.Module,
    x: torch.Tensor,
    index: torch.Tensor | None = None,
    *,
    amp: bool = False,
    batch_size: int = EVAL_BATCH,
) -> np.ndarray:
    """Logits ``(n,)`` float32 of ``x[index]`` (``predict_output`` with ``key="logits"``)."""
    return predict_output(model, x, index, key="logits", amp=amp, batch_size=batch_size)


class Task:
    """Base class: subclasses implement ``batches``, ``step`` and ``epoch_record``.

    Attributes:
        name: the task's name in logs and ``metrics.json``.
        selection_metric: the history column whose maximum (minimum with ``selection_lower``) selects
            the kept epoch; ``epoch`` keeps the last epoch (a fixed budget, no selection).
        selection_lower: smaller ``selection_metric`` values are better (a loss such as ``valid_mse``).
        history_columns: columns this task adds to ``history.tsv`` after the common ones.
    """

    name = "task"
    selection_metric = "valid_auroc"
    selection_lower = False
    history_columns: tuple[str, ...] = ()

    def __init__(self, train: Examples, valid: Examples) -> None:
        self.train = train
        self.valid = valid
        self.device = torch.device("cpu")

    def to(self, device: torch.device) -> None:
        """Put the examples on ``device`` (once, before the first epoch)."""
        self.device = device
        self.x_train = torch.from_numpy(self.train.x).to(device)  # (n_train, marks, bins)
        self.x_valid = torch.from_numpy(self.valid.x).to(device)  # (n_valid, marks, bins)

    @property
    def n_train(self) -> int:
        """Labelled training genes per epoch (for throughput)."""
        return len(self.train)

    def n_batches(self, batch_size: int) -> int:
        """Optimizer steps per epoch."""
        return math.ceil(self.n_train / batch_size)

    def batches(self, shuffle: torch.Generator, batch_size: int) -> Iterator[Any]:
        """One epoch of batches, in an order drawn from ``shuffle`` only."""
        raise NotImplementedError

    def step(
        self, model: torch.nn.Module, batch: Any, *, progress: float, amp: bool
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The loss to minimise on ``batch`` and statistics to sum over the epoch: 0-d tensors, each
        summed where it is made (a loss on the device, without a host sync per batch; a count made
        on the host, without a copy to the device per batch). ``progress`` runs from 0 at the
        first step to 1 after the last step of ``max_epochs`` epochs."""
        raise NotImplementedError

    def epoch_record(self, sums: Mapping[str, float]) -> dict[str, float]:
        """The epoch's training columns (``train_loss`` and the task's ``history_columns``)."""
        raise NotImplementedError

    def validate(self, model: torch.nn.Module, *, amp: bool) -> dict[str, float]:
        """The validation record: ``valid_loss`` and the task's validation metrics (its selection metric among
        them)."""
        raise NotImplementedError

    def describe(self) -> str:
        """Sizes for the run's first log line."""
        cells = ", ".join(dict.fromkeys(self.train.cells.tolist()))
        return f"train {len(self.train)} genes ({cells}), valid {len(self.valid)}"
