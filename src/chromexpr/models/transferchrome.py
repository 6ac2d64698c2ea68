"""TransferChrome (Chen, Xie & Wen 2022): dense-conv block, self-attention, domain adaptation.

Feature extractor, for 5 marks x 100 bins (the default card)::

    x (batch, 5, 100)
    dense-conv block, 3 layers of ReLU -> Conv1d k5 'same' -> Dropout 0.4, growth 32, 16, 8
        -> concatenation [x, x1, x2, x3]                        (batch, 61, 100)
    Conv1d 61->50 k5 'same' -> ReLU -> Dropout 0.4              (batch, 50, 100)
    MaxPool 2                                                   (batch, 50, 50)
    + position channel: signed distance to the TSS in kb        (batch, 51, 50)
    2 x self-attention (Q, K: 25 channels; V: 51; kernel 1)    (batch, 51, 50)
    flatten -> Linear 2550->128 -> ReLU = features              (batch, 128)

Label head 128->64->32->1 (ReLU between); domain head GRL -> 128->64 -> ReLU -> 64->1, built only
with ``domain_head=True``. Ablations by hyperparameter: ``position: sinusoidal`` (``_alpha``),
``position: none`` (``_beta``), ``dense_growth: [50, 50, 50]`` (``_1``), ``dense_growth: []`` with
``conv_channels: [50]`` (``_2``) or ``[50, 50, 50]`` (``_3``).
"""

from __future__ import annotations

import torch
from torch import nn

from chromexpr.models.layers import (
    ConvSelfAttention,
    DenseConvBlock,
    GradientReversal,
    PositionConcat,
    check_input,
    sinusoidal_encoding,
    tss_distance_kb,
)
from chromexpr.models.registry import register_model

POSITIONS = ("distance", "sinusoidal", "none")


def _mlp(widths: list[int]) -> nn.Sequential:
    """Linear layers through ``widths`` with ReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


@register_model("TransferChrome")
class TransferChrome(nn.Module):
    """TransferChrome with optional gradient-reversal domain classifier.

    Args:
        n_marks: input channels.
        n_bins: bins per gene.
        dense_growth: output channels of the densely connected layers; empty = no dense block.
        dense_kernel: kernel length in the dense block.
        conv_channels: plain Conv1d -> ReLU -> Dropout layers after the dense block.
        conv_kernel: kernel length of those convolutions.
        dropout: rate after every convolution of the feature extractor.
        pool_size: max-pool window (and stride) before the attention layers.
        position: ``distance`` (TSS distance in kb, one channel; the paper), ``sinusoidal``
            (Vaswani encoding of the position index, ``position_channels`` channels) or ``none``.
        position_channels: channels of the sinusoidal encoding.
        bin_bp: bin width, for the distance encoding.
        tss_bin: index of the bin that starts at the TSS; ``None`` = ``n_bins // 2``.
        attention_layers: number of self-attention layers.
        attention_scale: scale the attention scores by ``1/sqrt(d)``.
        attention_residual: add each attention output to its input through a zero-initialised
            learned gate.
        feature_dim: size of the feature vector shared by both heads.
        label_hidden: hidden widths of the label head.
        domain_head: build the domain classifier (cross-cell training).
        domain_hidden: hidden widths of the domain head.
        grl_lambda: initial gradient reversal strength; training loops set it per step with
            ``set_grl_lambda``.
    """

    def __init__(
        self,
        *,
        n_marks: int = 5,
        n_bins: int = 100,
        dense_growth: tuple[int, ...] | list[int] = (32, 16, 8),
        dense_kernel: int = 5,
        conv_channels: tuple[int, ...] | list[int] = (50,),
        conv_kernel: int = 5,
        dropout: float = 0.4,
        pool_size: int = 2,
        position: str = "distance",
        position_channels: int = 8,
        bin_bp: int = 100,
        tss_bin: int | None = None,
        attention_layers: int = 2,
        attention_scale: bool = False,
        attention_residual: bool = False,
        feature_dim: int = 128,
        label_hidden: tuple[int, ...] | list[int] = (64, 32),
        domain_head: bool = False,
        domain_hidden: tuple[int, ...] | list[int] = (64,),
        grl_lambda: float = 1.0,
    ) -> None:
        super().__init__()
        if position not in POSITIONS:
            raise ValueError(f"position must be one of {POSITIONS}, got {position!r}")
        self.n_marks = n_marks
        self.n_bins = n_bins

        blocks: list[nn.Module] = []
        width = n_marks
        if dense_growth:
            dense = DenseConvBlock(
                in_channels=n_marks,
                growth=list(dense_growth),
                kernel_size=dense_kernel,
                dropout=dropout,
            )
            blocks.append(dense)
            width = dense.out_channels  # 5 + 32 + 16 + 8 = 61
        for out_channels in conv_channels:
            blocks += [
                nn.Conv1d(width, out_channels, conv_kernel, padding="same"),
                nn.ReLU(),
                nn.Dropout(dropout),
            ]
            width = out_channels
        blocks.append(nn.MaxPool1d(pool_size))
        self.conv = nn.Sequential(*blocks)
        n_positions = n_bins // pool_size  # 50

        if position == "distance":
            encoding = tss_distance_kb(
                n_positions=n_positions,
                pool=pool_size,
                bin_bp=bin_bp,
                tss_bin=n_bins // 2 if tss_bin is None else tss_bin,
            )[None]  # (1, positions)
        elif position == "sinusoidal":
            encoding = sinusoidal_encoding(n_positions=n_positions, channels=position_channels)
        else:
            encoding = torch.zeros(0, n_positions)
        self.position = PositionConcat(encoding=encoding)
        width += self.position.channels  # 51 with the distance channel

        self.attention = nn.ModuleList(
            ConvSelfAttention(channels=width, scale=attention_scale, residual_gate=attention_residual)
            for _ in range(attention_layers)
        )
        self.feature = nn.Sequential(nn.Flatten(), nn.Linear(width * n_positions, feature_dim), nn.ReLU())
        self.label_head = _mlp([feature_dim, *label_hidden, 1])
        self.grl: GradientReversal | None = None
        self.domain_head: nn.Sequential | None = None
        if domain_head:
            self.grl = GradientReversal(lambda_=grl_lambda)
            self.domain_head = _mlp([feature_dim, *domain_hidden, 1])

    def set_grl_lambda(self, value: float) -> None:
        """Set the gradient reversal strength (no effect without a domain head)."""
        if self.grl is not None:
            self.grl.lambda_ = float(value)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor | dict[str, torch.Tensor]]:
        """Args: x ``(batch, marks, bins)``, z-scored. Returns ``logits (batch,)``, ``features
        (batch, feature_dim)``, ``attention: {"self": (batch, layers, positions, positions)}``
        (rows sum to 1; position ``j`` covers bins ``[j * pool, (j + 1) * pool)``) and, with the
        domain head, ``domain_logits (batch,)`` (log-odds of "source domain")."""
        check_input(x, n_marks=self.n_marks, n_bins=self.n_bins, model="TransferChrome")
        h = self.conv(x)  # (batch, 50, positions)
        h = self.position(h)  # (batch, 50 + pe, positions)
        maps = []
        for layer in self.attention:
            h, attention = layer(h)  # (batch, channels, positions), (batch, positions, positions)
            maps.append(attention)
        features = self.feature(h)  # (batch, feature_dim)
        out: dict[str, torch.Tensor | dict[str, torch.Tensor]] = {
            "logits": self.label_head(features).squeeze(-1),  # (batch,)
            "features": features,
            "attention": {"self": torch.stack(maps, dim=1)},  # (batch, layers, pos, pos)
        }
        if self.domain_head is not None:
            out["domain_logits"] = self.domain_head(self.grl(features)).squeeze(-1)  # (batch,)
        return out
