"""Building blocks shared by the model families.

Every tensor here is channels-first, ``(batch, channels, length)``, the layout of ``nn.Conv1d``;
for the raw model input the channels are the histone marks and the length is the bins.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from chromexpr.errors import InputError


def check_input(x: torch.Tensor, *, n_marks: int, n_bins: int, model: str) -> None:
    """Fail early, with the shape that was expected, when ``x`` is not ``(batch, marks, bins)``.

    Args:
        x: the model input.
        n_marks: marks the model was built for.
        n_bins: bins the model was built for.
        model: model name, for the message.
    """
    if x.ndim != 3 or x.shape[1] != n_marks or x.shape[2] != n_bins:
        raise InputError(
            f"{model} expects input of shape (batch, {n_marks} marks, {n_bins} bins), got {tuple(x.shape)}",
            hint="check the card's input.marks / input.bins against the dataset, "
            "and that the tensor is (batch, marks, bins), not (batch, bins, marks)",
        )


def conv_output_length(length: int, *, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    """Length after an unpadded-or-padded ``Conv1d`` / pooling window (PyTorch floor rule)."""
    return (length + 2 * padding - kernel_size) // stride + 1


# --- gradient reversal (Ganin & Lempitsky 2015) -------------------------------------------------


class _GradientReversal(torch.autograd.Function):
    """Identity forward; gradient multiplied by ``-lambda_`` backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, lambda_: float) -> torch.Tensor:  # type: ignore[override]
        ctx.lambda_ = lambda_
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):  # type: ignore[override]
        return -ctx.lambda_ * grad_output, None


def grad_reverse(x: torch.Tensor, lambda_: float = 1.0) -> torch.Tensor:
    """Functional gradient reversal: returns ``x``; backward passes ``-lambda_ * grad``."""
    return _GradientReversal.apply(x, float(lambda_))


class GradientReversal(nn.Module):
    """Gradient reversal layer (GRL): identity forward, ``-lambda_ * grad`` backward.

    The domain classifier sits behind it, so minimising the domain loss with respect to the head
    maximises it with respect to the feature extractor (TransferChrome Eq. 8).

    Args:
        lambda_: the reversal strength, ``lambda > 0``. Training loops change it per step
            (e.g. the DANN ramp ``2 / (1 + exp(-10 p)) - 1``) by assigning ``layer.lambda_``.
    """

    def __init__(self, *, lambda_: float = 1.0) -> None:
        super().__init__()
        self.lambda_ = float(lambda_)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return grad_reverse(x, self.lambda_)

    def extra_repr(self) -> str:
        return f"lambda_={self.lambda_}"


# --- convolutional blocks ------------------------------------------------------------------------


class DenseConvBlock(nn.Module):
    """Densely connected 1-D convolutions (DenseNet; TransferChrome Eq. 2).

    Layer ``l`` sees the concatenation of the block input and every earlier layer's output,
    ``x_l = H([x_0, ..., x_{l-1}])`` with ``H = ReLU -> Conv1d ('same') -> Dropout``.
    The block returns that full concatenation ``[x_0, x_1, ..., x_L]`` (as DenseNet does), so its
    output has ``in_channels + sum(growth)`` channels and the input length.

    Args:
        in_channels: channels of ``x_0``.
        growth: output channels of each layer, e.g. ``(32, 16, 8)``.
        kernel_size: kernel length of every layer.
        dropout: dropout rate after every convolution.
    """

    def __init__(
        self,
        *,
        in_channels: int,
        growth: tuple[int, ...] | list[int],
        kernel_size: int = 5,
        dropout: float = 0.4,
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList()
        channels = in_channels
        for out_channels in growth:
            self.layers.append(
                nn.Sequential(
                    nn.ReLU(),
                    nn.Conv1d(channels, out_channels, kernel_size, padding="same"),
                    nn.Dropout(dropout),
                )
            )
            channels += out_channels
        self.out_channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]  # each (batch, c_l, length)
        for layer in self.layers:
            features.append(layer(torch.cat(features, dim=1)))
        return torch.cat(features, dim=1)  # (batch, out_channels, length)


class ConvSelfAttention(nn.Module):
    """Self-attention over positions with kernel-1 convolutions (TransferChrome Eqs. 3-6).

    ``Q = conv_q(x)``, ``K = conv_k(x)`` with ``channels // 2`` outputs, ``V = conv_v(x)`` with
    ``channels`` outputs; ``A = softmax(Q^T K)`` over the key positions; output ``V A^T``.
    The paper states neither a ``1/sqrt(d)`` scaling nor a residual connection; both are options.

    Args:
        channels: input (and output) channels.
        qk_channels: channels of Q and K; ``None`` = ``channels // 2`` (the paper).
        scale: divide the scores by ``sqrt(qk_channels)``.
        residual_gate: return ``x + gamma * attention_output`` with a learned scalar ``gamma``
            initialised at 0 (SAGAN); off = the paper's plain attention output.
    """

    def __init__(
        self,
        *,
        channels: int,
        qk_channels: int | None = None,
        scale: bool = False,
        residual_gate: bool = False,
    ) -> None:
        super().__init__()
        qk = max(1, channels // 2) if qk_channels is None else qk_channels
        self.conv_q = nn.Conv1d(channels, qk, kernel_size=1)
        self.conv_k = nn.Conv1d(channels, qk, kernel_size=1)
        self.conv_v = nn.Conv1d(channels, channels, kernel_size=1)
        self.scale = 1.0 / math.sqrt(qk) if scale else 1.0
        self.gamma = nn.Parameter(torch.zeros(1)) if residual_gate else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Args: x ``(batch, channels, positions)``. Returns ``(output like x, attention)``,
        attention ``(batch, query positions, key positions)``, each row summing to 1."""
        q = self.conv_q(x)  # (batch, qk, positions)
        k = self.conv_k(x)  # (batch, qk, positions)
        v = self.conv_v(x)  # (batch, channels, positions)
        scores = torch.einsum("bcq,bck->bqk", q, k) * self.scale  # (batch, positions, positions)
        attention = torch.softmax(scores, dim=-1)
        out = torch.einsum("bqk,bck->bcq", attention, v)  # (batch, channels, positions)
        if self.gamma is not None:
            out = x + self.gamma * out
        return out, attention


# --- position encodings --------------------------------------------------------------------------


def tss_distance_kb(*, n_positions: int, pool: int, bin_bp: int, tss_bin: int) -> torch.Tensor:
    """Signed distance in kb from the centre of each (pooled) position to the TSS.

    Bin ``tss_bin`` starts at the TSS and bins run in transcription order, so upstream positions
    are negative. Pooled position ``j`` covers bins ``[j * pool, (j + 1) * pool)``.

    Returns:
        ``(n_positions,)`` float32; for 100 bins of 100 bp pooled by 2: -4.9, -4.7, ..., 4.9 kb.
    """
    centre_bins = torch.arange(n_positions, dtype=torch.float64) * pool + pool / 2.0
    return ((centre_bins - tss_bin) * bin_bp / 1000.0).to(torch.float32)


def sinusoidal_encoding(*, n_positions: int, channels: int) -> torch.Tensor:
    """Sinusoidal position encoding (Vaswani et al. 2017) of position indices ``0..n-1``.

    Returns:
        ``(channels, n_positions)``: even channels ``sin(pos / 10000^(2i/channels))``, odd ``cos``.
    """
    position = torch.arange(n_positions, dtype=torch.float64)[None, :]  # (1, positions)
    i = torch.arange(0, channels, 2, dtype=torch.float64)[:, None]  # (ceil(channels/2), 1)
    angle = position / torch.pow(10000.0, i / channels)  # (ceil(channels/2), positions)
    encoding = torch.zeros(channels, n_positions, dtype=torch.float64)
    encoding[0::2] = torch.sin(angle)
    encoding[1::2] = torch.cos(angle[: channels // 2])
    return encoding.to(torch.float32)


class PositionConcat(nn.Module):
    """Concatenate a fixed position encoding to the features as extra channels.

    Args:
        encoding: ``(pe_channels, positions)``; ``pe_channels`` may be 0 (no position information).
    """

    def __init__(self, *, encoding: torch.Tensor) -> None:
        super().__init__()
        # not persistent: rebuilt from hyperparameters, so old checkpoints load after a fix here
        self.register_buffer("encoding", encoding[None], persistent=False)  # (1, pe, positions)

    @property
    def channels(self) -> int:
        return int(self.encoding.shape[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels == 0:
            return x
        if x.shape[-1] != self.encoding.shape[-1]:
            raise InputError(
                f"position encoding was built for {self.encoding.shape[-1]} positions, features have {x.shape[-1]}"
            )
        pe = self.encoding.to(dtype=x.dtype).expand(x.shape[0], -1, -1)  # (batch, pe, positions)
        return torch.cat([x, pe], dim=1)  # (batch, channels + pe, positions)


def make_pool(kind: str, *, kernel_size: int, stride: int | None = None) -> nn.Module:
    """``max`` or ``avg`` 1-D pooling; stride defaults to the kernel size."""
    if kind == "max":
        return nn.MaxPool1d(kernel_size, stride=stride)
    if kind == "avg":
        return nn.AvgPool1d(kernel_size, stride=stride)
    raise InputError(f"unknown pool '{kind}'", key="hyperparameters.pool", hint="use 'max' or 'avg'")


def make_activation(kind: str | None) -> nn.Module:
    """``relu`` or ``none`` (identity)."""
    if kind in (None, "none", "linear"):
        return nn.Identity()
    if kind == "relu":
        return nn.ReLU()
    raise InputError(f"unknown activation '{kind}'", hint="use 'relu' or 'none'")


__all__ = [
    "ConvSelfAttention",
    "DenseConvBlock",
    "GradientReversal",
    "PositionConcat",
    "check_input",
    "conv_output_length",
    "grad_reverse",
    "make_activation",
    "make_pool",
    "sinusoidal_encoding",
    "tss_distance_kb",
]
