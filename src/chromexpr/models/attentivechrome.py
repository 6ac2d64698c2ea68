"""AttentiveChrome (Singh et al. 2017): two-level BiLSTM with bin and mark attention.

Level 1, for each mark ``m`` separately: its own BiLSTM (input 1, hidden 32 per direction) reads the
bins, ``h_t`` ``(64,)``; bin attention ``alpha_t = softmax_t(h_t . w_m)`` with a 64-d context vector
``w_m`` (no bias); the mark vector is ``sum_t alpha_t h_t`` ``(64,)``.
Level 2: a BiLSTM (input 64, hidden 16 per direction) reads the 5 mark vectors in order; mark
attention with a 32-d context vector; the weighted sum ``(32,)`` -> Linear 32->1 logit.
All parameters uniform(-0.1, 0.1). 55,681 parameters for 5 marks.

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
        bin_dim = 2 * bin_hidden  # 64
        mark_dim = 2 * mark_hidden  # 32
        self.bin_lstms = nn.ModuleList(
            nn.LSTM(1, bin_hidden, batch_first=True, bidirectional=True) for _ in range(n_marks)
        )
        self.bin_attention = nn.ModuleList(AttentionPool(dim=bin_dim) for _ in range(n_marks))
        self.mark_lstm = nn.LSTM(bin_dim, mark_hidden, batch_first=True, bidirectional=True)
        self.mark_attention = AttentionPool(dim=mark_dim)
        self.classifier = nn.Linear(mark_dim, 1)
        for p in self.parameters():
            nn.init.uniform_(p, -init_range, init_range)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor | dict[str, torch.Tensor]]:
        """Args: x ``(batch, marks, bins)``. Returns ``logits (batch,)`` and ``attention``:
        ``bin (batch, marks, bins)`` summing to 1 over bins, ``mark (batch, marks)`` summing to 1
        over marks."""
        check_input(x, n_marks=self.n_marks, n_bins=self.n_bins, model="AttentiveChrome")
        mark_vectors, bin_weights = [], []
        for m, (lstm, attend) in enumerate(zip(self.bin_lstms, self.bin_attention, strict=True)):
            h, _ = lstm(x[:, m, :, None])  # (batch, bins, 64)
            vector, weights = attend(h)  # (batch, 64), (batch, bins)
            mark_vectors.append(vector)
            bin_weights.append(weights)
        marks = torch.stack(mark_vectors, dim=1)  # (batch, marks, 64)
        h, _ = self.mark_lstm(marks)  # (batch, marks, 32)
        gene, mark_weights = self.mark_attention(h)  # (batch, 32), (batch, marks)
        logits = self.classifier(gene).squeeze(-1)  # (batch,)
        return {
            "logits": logits,
            "attention": {"bin": torch.stack(bin_weights, dim=1), "mark": mark_weights},
        }
