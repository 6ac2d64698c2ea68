"""Team Jamaica's fully convolutional regression CNN (Hastings & Stanojevic), adapted from the vision
module of Codevilla et al. (2018).

Eight ``Conv1d`` layers of kernel 3 without padding, each followed by ``BatchNorm1d``, ``Dropout`` and
``LeakyReLU`` in that order. Layers 1, 3, 5, 7 (1-based) have stride 2 and double the channels (capped at
512); layer 1 maps the marks to the starting width 64 (the doubling of an implied 32). A kernel-1
``Conv1d`` is the output layer. With 5 marks x 100 bins::

    layer  in -> out  stride  length
      1     5 ->  64    2       49
      2    64 ->  64    1       47
      3    64 -> 128    2       23
      4   128 -> 128    1       21
      5   128 -> 256    2       10
      6   256 -> 256    1        8
      7   256 -> 512    2        3
      8   512 -> 512    1        1

One position remains, so the output conv is literally the dense layer the paper describes; for other bin
counts the positions left are reduced by their mean (at least 91 bins are needed with the defaults).
Parameters: convolutions 1,563,456 + batch norms 3,840 + output 513 = 1,567,809 (regression head);
the cell-type head with 50 outputs has 1,567,296 + 512 x 50 + 50 = 1,592,946.

``head="regression"``: ``forward(x)`` returns ``prediction`` ``(batch,)`` and ``features`` ``(batch, 512)``.
``head="cell_type"``: the same body with ``n_outputs`` cell-type scores, ``cell_logits`` ``(batch, n_outputs)``
(softmax / cross-entropy over the training cells), and ``features``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from chromexpr.errors import InputError
from chromexpr.models.layers import check_input, conv_output_length
from chromexpr.models.registry import register_model

HEADS = ("regression", "cell_type")


class LayerSpec(NamedTuple):
    """One convolution of the body: channels in and out, stride, and positions after it."""

    in_channels: int
    out_channels: int
    stride: int
    out_length: int


def layer_plan(
    n_marks: int = 5,
    n_bins: int = 100,
    width: int = 64,
    n_layers: int = 8,
    max_channels: int = 512,
    kernel_size: int = 3,
    padding: int = 0,
) -> list[LayerSpec]:
    """Channels, stride and output length of each body convolution.

    Layer 1 maps ``n_marks`` to ``min(width, max_channels)``; every further odd (1-based) layer has
    stride 2 and doubles the channels up to ``max_channels``; even layers have stride 1 and keep them.
    Lengths follow PyTorch's floor rule; a length below 1 means the input is too short.

    Returns:
        One ``LayerSpec(in_channels, out_channels, stride, out_length)`` per layer.
    """
    plan: list[LayerSpec] = []
    channels, length = n_marks, n_bins
    for i in range(1, n_layers + 1):
        stride = 2 if i % 2 == 1 else 1
        if i == 1:
            out = min(width, max_channels)
        elif stride == 2:
            out = min(2 * channels, max_channels)
        else:
            out = channels
        length = conv_output_length(length, kernel_size=kernel_size, stride=stride, padding=padding)
        plan.append(LayerSpec(channels, out, stride, length))
        channels = out
    return plan


def min_bins(
    n_layers: int = 8,
    kernel_size: int = 3,
    padding: int = 0,
) -> int:
    """The fewest bins for which every body layer keeps at least one position."""
    n = 1
    while any(s.out_length < 1 for s in layer_plan(1, n, 1, n_layers, 1, kernel_size, padding)):
        n += 1
    return n


@register_model("JamaicaCNN")
class JamaicaCNN(nn.Module):
    """The Team Jamaica sub-model (regression) or its cell-type classifier.

    Args:
        n_marks: input channels (histone marks).
        n_bins: bins per gene.
        width: channels of layer 1 (unstated in the paper: 64).
        n_layers: body convolutions (8).
        kernel_size: body convolution length, in bins (3).
        dropout: dropout rate of every block (Codevilla et al.'s convolutional dropout 0.2).
        negative_slope: LeakyReLU slope (torch's default 0.01).
        padding: zero padding of each body convolution (0: valid convolutions).
        max_channels: cap of the channel doubling (512).
        n_outputs: output channels: 1 for ``head="regression"``, the number of cell types (>= 2) for
            ``head="cell_type"``.
        head: ``regression`` (``prediction``) or ``cell_type`` (``cell_logits``).

    Raises:
        InputError: when ``n_bins`` is too short for the body (naming the minimum) or the head and
            ``n_outputs`` disagree.
    """

    def __init__(
        self,
        *,
        n_marks: int = 5,
        n_bins: int = 100,
        width: int = 64,
        n_layers: int = 8,
        kernel_size: int = 3,
        dropout: float = 0.2,
        negative_slope: float = 0.01,
        padding: int = 0,
        max_channels: int = 512,
        n_outputs: int = 1,
        head: str = "regression",
    ) -> None:
        super().__init__()
        if head not in HEADS:
            raise InputError(f"head must be one of {HEADS}, got {head!r}", key="hyperparameters.head")
        if head == "regression" and n_outputs != 1:
            raise InputError(
                f"the regression head predicts one value, got n_outputs={n_outputs}",
                key="hyperparameters.n_outputs",
                hint="use n_outputs: 1, or head: cell_type for a classifier",
            )
        if head == "cell_type" and n_outputs < 2:
            raise InputError(
                f"a cell-type classifier needs n_outputs >= 2 cell types, got {n_outputs}",
                key="hyperparameters.n_outputs",
            )
        if n_layers < 1:
            raise InputError(f"n_layers must be >= 1, got {n_layers}", key="hyperparameters.n_layers")
        plan = layer_plan(n_marks, n_bins, width, n_layers, max_channels, kernel_size, padding)
        if any(s.out_length < 1 for s in plan):
            need = min_bins(n_layers, kernel_size, padding)
            raise InputError(
                f"JamaicaCNN needs at least {need} bins ({n_layers} convolutions of kernel {kernel_size}, "
                f"padding {padding}, stride 2 on odd layers), got {n_bins}",
                key="input.bins",
                hint=f"use a window of at least {need} bins",
            )
        self.n_marks = n_marks
        self.n_bins = n_bins
        self.head = head
        self.plan = plan
        self.n_positions = plan[-1].out_length  # 1 for 100 bins
        self.feature_dim = plan[-1].out_channels  # 512

        blocks: list[nn.Module] = []
        for spec in plan:
            blocks.append(
                nn.Sequential(
                    nn.Conv1d(spec.in_channels, spec.out_channels, kernel_size, stride=spec.stride, padding=padding),
                    nn.BatchNorm1d(spec.out_channels),
                    nn.Dropout(dropout),
                    nn.LeakyReLU(negative_slope),
                )
            )
        self.body = nn.Sequential(*blocks)
        self.output = nn.Conv1d(self.feature_dim, n_outputs, kernel_size=1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Args: x ``(batch, marks, bins)``. Returns ``prediction (batch,)`` (regression head) or
        ``cell_logits (batch, n_outputs)`` (cell-type head), and ``features (batch, feature_dim)``."""
        check_input(x, n_marks=self.n_marks, n_bins=self.n_bins, model="JamaicaCNN")
        h = self.body(x)  # (batch, 512, positions); positions = 1 for 100 bins
        scores = self.output(h)  # (batch, n_outputs, positions)
        reduced = scores.mean(dim=2)  # (batch, n_outputs): mean over the positions left
        features = h.mean(dim=2)  # (batch, 512)
        if self.head == "regression":
            return {"prediction": reduced[:, 0], "features": features}  # (batch,), (batch, 512)
        return {"cell_logits": reduced, "features": features}  # (batch, n_outputs), (batch, 512)
