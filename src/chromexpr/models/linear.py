"""The DeepChrome 2.0 12-parameter linear model: mean of each mark over bins -> Linear 5->2."""

from __future__ import annotations

import torch
from torch import nn

from chromexpr.models.layers import check_input
from chromexpr.models.registry import register_model


@register_model("MarkMeanLinear")
class MarkMeanLinear(nn.Module):
    """Linear classifier on per-mark means; 5 x 2 weights + 2 biases = 12 parameters.

    Like DeepChrome it produces two class scores (``class_logits``); ``logits`` is their
    difference, the log-odds of class 1.

    Args:
        n_marks: histone marks.
        n_bins: bins per gene (averaged away).
        reduce: ``mean`` (the paper) or ``sum`` over bins.
        n_classes: class scores (2).
    """

    def __init__(self, *, n_marks: int = 5, n_bins: int = 100, reduce: str = "mean", n_classes: int = 2) -> None:
        super().__init__()
        if reduce not in ("mean", "sum"):
            raise ValueError(f"reduce must be 'mean' or 'sum', got {reduce!r}")
        if n_classes != 2:
            raise ValueError("MarkMeanLinear is a binary classifier: n_classes must be 2")
        self.n_marks = n_marks
        self.n_bins = n_bins
        self.reduce = reduce
        self.linear = nn.Linear(n_marks, n_classes)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Args: x ``(batch, marks, bins)``. Returns ``logits (batch,)``, ``class_logits
        (batch, 2)``."""
        check_input(x, n_marks=self.n_marks, n_bins=self.n_bins, model="MarkMeanLinear")
        pooled = x.mean(dim=2) if self.reduce == "mean" else x.sum(dim=2)  # (batch, marks)
        class_logits = self.linear(pooled)  # (batch, 2)
        return {"logits": class_logits[:, 1] - class_logits[:, 0], "class_logits": class_logits}
