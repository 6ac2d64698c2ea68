"""ConvChrome CNN1D (Hamdy et al. 2022), as re-implemented by the TransferChrome authors.

Conv1d 5->50 k5 'same', ReLU -> MaxPool 2 -> Conv 50->40 k3, ReLU, Dropout 0.4 -> Conv 40->30 k2,
ReLU, Dropout 0.4 -> Conv 30->20 k2, ReLU, Dropout 0.4 -> flatten (20 x 50 = 1000) -> Dense 128 ->
Dense 64 -> Dense 1. 147,439 parameters for 5 x 100 input.
"""

from __future__ import annotations

import torch
from torch import nn

from chromexpr.models.layers import check_input, make_activation
from chromexpr.models.registry import register_model


@register_model("ConvChromeCNN1D")
class ConvChromeCNN1D(nn.Module):
    """ConvChrome's best variant, a 4-layer 1-D CNN with a dense head.

    Args:
        n_marks: input channels.
        n_bins: bins per gene (must be divisible by ``pool_size`` for the stated sizes).
        channels: output channels of the four convolutions.
        kernel_sizes: kernel length of each convolution ('same' padding; even kernels pad one
            more on the right, as Keras does).
        pool_size: max-pool window after the first convolution.
        dropout: dropout after the 2nd, 3rd and 4th convolutions.
        dense: hidden dense widths before the single output logit.
        dense_activation: ``relu`` (the published figure) or ``none`` (the notebook).
    """

    def __init__(
        self,
        *,
        n_marks: int = 5,
        n_bins: int = 100,
        channels: tuple[int, ...] | list[int] = (50, 40, 30, 20),
        kernel_sizes: tuple[int, ...] | list[int] = (5, 3, 2, 2),
        pool_size: int = 2,
        dropout: float = 0.4,
        dense: tuple[int, ...] | list[int] = (128, 64),
        dense_activation: str = "relu",
    ) -> None:
        super().__init__()
        if len(channels) != len(kernel_sizes) or not channels:
            raise ValueError("channels and kernel_sizes must be non-empty and of equal length")
        self.n_marks = n_marks
        self.n_bins = n_bins
        layers: list[nn.Module] = []
        width = n_marks
        for i, (out_channels, k) in enumerate(zip(channels, kernel_sizes, strict=True)):
            left = (k - 1) // 2  # explicit 'same' padding: torch warns on padding="same" for even k
            layers += [
                nn.ConstantPad1d((left, k - 1 - left), 0.0),
                nn.Conv1d(width, out_channels, k),
                nn.ReLU(),
            ]
            if i == 0:
                layers.append(nn.MaxPool1d(pool_size))
            else:
                layers.append(nn.Dropout(dropout))
            width = out_channels
        self.features = nn.Sequential(*layers)
        n_features = channels[-1] * (n_bins // pool_size)  # 20 x 50 = 1000
        head: list[nn.Module] = [nn.Flatten()]
        width = n_features
        for h in dense:
            head += [nn.Linear(width, h), make_activation(dense_activation)]
            width = h
        head.append(nn.Linear(width, 1))
        self.classifier = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Args: x ``(batch, marks, bins)``. Returns ``logits (batch,)``."""
        check_input(x, n_marks=self.n_marks, n_bins=self.n_bins, model="ConvChromeCNN1D")
        h = self.features(x)  # (batch, 20, bins // 2)
        return {"logits": self.classifier(h).squeeze(-1)}  # (batch,)
