"""DeepChrome (Singh et al. 2016) and its DeepChrome 2.0 variants (Kadavath et al.).

Conv1d 5->50 (kernel 10, no padding) -> ReLU -> pool 5 -> flatten -> Dropout 0.5 ->
Linear ->625 -> ReLU -> Linear 625->125 -> ReLU -> Linear 125->2. With 100 bins: 91 conv positions,
18 pooled, 18 x 50 = 900 features, 644,177 parameters.

Variants by hyperparameter: ``pool: avg`` (average pooling) and ``conv_stride: 2`` (46 conv
positions, 9 pooled, 450 features, 362,927 parameters).
"""

from __future__ import annotations

import torch
from torch import nn

from chromexpr.models.layers import check_input, conv_output_length, make_pool
from chromexpr.models.registry import register_model


@register_model("DeepChrome")
class DeepChrome(nn.Module):
    """The DeepChrome CNN.

    The reference network ends in two class scores (log-softmax + NLL). ``forward`` returns them as
    ``class_logits`` and, for the pipeline's single contract, ``logits = class_logits[:, 1] -
    class_logits[:, 0]``: BCE on that difference equals the 2-class cross-entropy exactly.

    Args:
        n_marks: input channels (histone marks).
        n_bins: bins per gene.
        conv_channels: convolution filters.
        kernel_size: convolution length, in bins.
        conv_stride: convolution stride (2 in the DeepChrome 2.0 strided variant).
        pool: ``max`` (DeepChrome) or ``avg`` (DeepChrome 2.0 average-pool variant).
        pool_size: pooling window; the stride equals the window (non-overlapping).
        dropout: dropout rate before the first linear layer.
        hidden: widths of the hidden linear layers.
        n_classes: class scores produced by the last layer (2, as in the reference code).
    """

    def __init__(
        self,
        *,
        n_marks: int = 5,
        n_bins: int = 100,
        conv_channels: int = 50,
        kernel_size: int = 10,
        conv_stride: int = 1,
        pool: str = "max",
        pool_size: int = 5,
        dropout: float = 0.5,
        hidden: tuple[int, ...] | list[int] = (625, 125),
        n_classes: int = 2,
    ) -> None:
        super().__init__()
        if n_classes != 2:
            raise ValueError("DeepChrome is a binary classifier: n_classes must be 2")
        self.n_marks = n_marks
        self.n_bins = n_bins
        conv_length = conv_output_length(n_bins, kernel_size=kernel_size, stride=conv_stride)
        pooled_length = conv_output_length(conv_length, kernel_size=pool_size, stride=pool_size)
        if pooled_length < 1:
            raise ValueError(
                f"{n_bins} bins are too few for kernel {kernel_size}, stride {conv_stride}, pool {pool_size}"
            )
        self.n_features = conv_channels * pooled_length  # 50 x 18 = 900 for the original

        self.conv = nn.Sequential(
            nn.Conv1d(n_marks, conv_channels, kernel_size, stride=conv_stride),
            nn.ReLU(),
            make_pool(pool, kernel_size=pool_size),
        )
        layers: list[nn.Module] = [nn.Flatten(), nn.Dropout(dropout)]
        width = self.n_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, n_classes))
        self.classifier = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Args: x ``(batch, marks, bins)``. Returns ``logits (batch,)``, ``class_logits
        (batch, 2)``."""
        check_input(x, n_marks=self.n_marks, n_bins=self.n_bins, model="DeepChrome")
        h = self.conv(x)  # (batch, conv_channels, pooled_length)
        class_logits = self.classifier(h)  # (batch, 2)
        logits = class_logits[:, 1] - class_logits[:, 0]  # (batch,) log-odds of class 1
        return {"logits": logits, "class_logits": class_logits}
