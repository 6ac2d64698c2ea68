"""AttentiveChrome (Singh et al. 2017): two-level BiLSTM with bin and mark attention.

Level 1, for each mark ``m`` separately: its own BiLSTM (input 1, hidden 32 per direction) reads the
bins, ``h_t`` ``(64,)``; bin attention ``alpha_t = softmax_t(h_t . w_m)`` with a 64-d context vector
``w_m`` (no bias); the mark vector is ``sum_t alpha_t h_t`` ``(64,)``.
Level 2: a BiLSTM (input 64, hidden 16 per direction) reads the 5 mark vectors in order; mark
attention with a 32-d context vector; the weighted sum ``(32,)`` -> Linear 32->1 logit.
All parameters uniform(-0.1, 0.1). 55,681 parameters for 5 marks.

The two levels are the reusable modules :class:`BinLevelEncoder` and :class:`MarkLevelEncoder`;
DeepDiff (``chromexpr.models.deepdiff``) is built from the same two.

State-dict names: ``bin_encoder.lstms.{m}.{weight,bias}_{ih,hh}_l0[_reverse]``,
``bin_encoder.attention.{m}.context``, ``mark_encoder.lstm.*``, ``mark_encoder.attention.context``,
``classifier.{weight,bias}`` (``chromexpr.models.reference_weights`` maps the reference's names).

Differences from the reference code: the attention maps are returned (the reference computes but
never returns them) and the no-op LSTM dropout on a single layer is left out.
"""

from __future__ import annotations

import torch
from torch import nn

from chromexpr.models.layers import check_input
from chromexpr.models.registry import register_model


class AttentionPool(nn.Module):
    """Softmax attention pooling over a sequence with one learned context vector (no bias).

    Args:
        dim: feature size of each sequence element.
    """

    def __init__(self, *, dim: int) -> None:
        super().__init__()
        self.context = nn.Parameter(torch.empty(dim))

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Args: h ``(batch, steps, dim)``. Returns ``(pooled (batch, dim), weights (batch,
        steps))`` with weights summing to 1 over steps."""
        scores = h @ self.context  # (batch, steps)
        weights = torch.softmax(scores, dim=1)
        pooled = torch.einsum("bs,bsd->bd", weights, h)  # (batch, dim)
        return pooled, weights


class BinLevelEncoder(nn.Module):
    """Level 1: one BiLSTM over the bins and one bin attention per input channel ("slot").

    Slot ``m`` of the input is read only by ``lstms[m]`` and pooled only by ``attention[m]``.
    Parameters are created in the order all LSTMs, then all attention vectors, and left at their
    PyTorch defaults (context vectors uninitialised): the owning model initialises them.
    ``2 * bin_hidden + 8 * bin_hidden * (bin_hidden + 2) + 2 * bin_hidden`` per slot, i.e.
    ``8,960 + 64 = 9,024`` for ``bin_hidden = 32``.

    Args:
        n_marks: slots (marks, or marks of several cells stacked) read by separate encoders.
        bin_hidden: LSTM hidden size per direction; the slot vectors have ``2 * bin_hidden``.
    """

    def __init__(self, *, n_marks: int, bin_hidden: int = 32) -> None:
        super().__init__()
        self.n_marks = n_marks
        self.out_dim = 2 * bin_hidden
        self.lstms = nn.ModuleList(nn.LSTM(1, bin_hidden, batch_first=True, bidirectional=True) for _ in range(n_marks))
        self.attention = nn.ModuleList(AttentionPool(dim=self.out_dim) for _ in range(n_marks))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Args: x ``(batch, slots, bins)``. Returns ``(vectors (batch, slots, 2 * bin_hidden),
        bin weights (batch, slots, bins))``, the weights summing to 1 over bins."""
        vectors, weights = [], []
        for m, (lstm, attend) in enumerate(zip(self.lstms, self.attention, strict=True)):
            h, _ = lstm(x[:, m, :, None])  # (batch, bins, 2 * bin_hidden)
            vector, alpha = attend(h)  # (batch, 2 * bin_hidden), (batch, bins)
            vectors.append(vector)
            weights.append(alpha)
        return torch.stack(vectors, dim=1), torch.stack(weights, dim=1)


class MarkLevelEncoder(nn.Module):
    """Level 2: a BiLSTM over the slot vectors in order, then mark attention.

    ``8 * mark_hidden * (in_dim + mark_hidden + 2) + 2 * mark_hidden`` parameters, i.e.
    ``10,496 + 32 = 10,528`` for ``in_dim = 64``, ``mark_hidden = 16``. Defaults as
    :class:`BinLevelEncoder`.

    Args:
        in_dim: size of each slot vector (``2 * bin_hidden`` of the level-1 encoder).
        mark_hidden: LSTM hidden size per direction; the gene vector has ``2 * mark_hidden``.
    """

    def __init__(self, *, in_dim: int = 64, mark_hidden: int = 16) -> None:
        super().__init__()
        self.out_dim = 2 * mark_hidden
        self.lstm = nn.LSTM(in_dim, mark_hidden, batch_first=True, bidirectional=True)
        self.attention = AttentionPool(dim=self.out_dim)

    def forward(self, vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Args: vectors ``(batch, slots, in_dim)``. Returns ``(gene (batch, 2 * mark_hidden),
        mark weights (batch, slots))``, the weights summing to 1 over slots."""
        h, _ = self.lstm(vectors)  # (batch, slots, 2 * mark_hidden)
        return self.attention(h)


@register_model("AttentiveChrome")
class AttentiveChrome(nn.Module):
    """Hierarchical attention BiLSTM.

    Args:
        n_marks: histone marks; each gets its own bin-level BiLSTM.
        n_bins: bins per gene (the bin LSTM handles any length; kept for input checks).
        bin_hidden: bin-level LSTM hidden size per direction.
        mark_hidden: mark-level LSTM hidden size per direction.
        init_range: parameters are drawn from uniform(-init_range, init_range).
    """

    def __init__(
        self,
        *,
        n_marks: int = 5,
        n_bins: int = 100,
        bin_hidden: int = 32,
        mark_hidden: int = 16,
        init_range: float = 0.1,
    ) -> None:
        super().__init__()
        self.n_marks = n_marks
        self.n_bins = n_bins
        # creation order (bin LSTMs, bin contexts, mark LSTM, mark context, classifier) fixes
        # the weights a seed gives
        self.bin_encoder = BinLevelEncoder(n_marks=n_marks, bin_hidden=bin_hidden)
        self.mark_encoder = MarkLevelEncoder(in_dim=self.bin_encoder.out_dim, mark_hidden=mark_hidden)
        self.classifier = nn.Linear(self.mark_encoder.out_dim, 1)
        for p in self.parameters():
            nn.init.uniform_(p, -init_range, init_range)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor | dict[str, torch.Tensor]]:
        """Args: x ``(batch, marks, bins)``. Returns ``logits (batch,)`` and ``attention``:
        ``bin (batch, marks, bins)`` summing to 1 over bins, ``mark (batch, marks)`` summing to 1
        over marks."""
        check_input(x, n_marks=self.n_marks, n_bins=self.n_bins, model="AttentiveChrome")
        marks, bin_weights = self.bin_encoder(x)  # (batch, marks, 64), (batch, marks, bins)
        gene, mark_weights = self.mark_encoder(marks)  # (batch, 32), (batch, marks)
        logits = self.classifier(gene).squeeze(-1)  # (batch,)
        return {"logits": logits, "attention": {"bin": bin_weights, "mark": mark_weights}}


@register_model("AttentiveChromeRegressor")
class AttentiveChromeRegressor(AttentiveChrome):
    """AttentiveChrome read as a regressor: the same modules and weights (a state dict of one loads into the
    other), its Linear 32->1 output returned as ``prediction`` (e.g. ``log2(count + 1)`` of its cell), trained on
    MSE by the regression task. DeepDiff's AttentiveChrome baseline is two of these, trained independently, one
    per cell of a pair (``chromexpr.models.deepdiff.AttentiveChromeDiff``)."""

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor | dict[str, torch.Tensor]]:
        """Args: x ``(batch, marks, bins)``. Returns ``prediction (batch,)`` and ``attention`` as
        :meth:`AttentiveChrome.forward`."""
        out = super().forward(x)
        return {"prediction": out["logits"], "attention": out["attention"]}
