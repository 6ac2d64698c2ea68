"""DeepDiff (Sekhon, Singh & Qi 2018): differential expression between two cells from their marks.

Every variant is built from AttentiveChrome's two levels (:class:`BinLevelEncoder`: per slot a
BiLSTM(1, 32) over the bins + bin attention -> a 64-d slot vector; :class:`MarkLevelEncoder`:
BiLSTM(64, 16) over the slot vectors + mark attention -> a 32-d gene vector). ``A`` is the first
forward argument (the reference's ``cell_1``), ``B`` the second; the main target is the log fold
change ``LFC = log2((count_B + 1) / (count_A + 1))``, the auxiliary targets ``log2(count + 1)`` of
each cell.

=================  ==========================================================================
variant            architecture (slots of the level-1 encoders, in order)
=================  ==========================================================================
``raw_d``          A - B (5) -> mark level -> Linear 32->1
``raw_c``          A, B (10) -> mark level -> Linear 32->1
``raw``            A, B, A - B (15) -> mark level -> Linear 32->1
``aux``            A (5, own encoder) -> mark level -> Linear 32->1 = prediction_a;
                   B (5, own encoder) -> mark level -> Linear 32->1 = prediction_b;
                   the two gene vectors concatenated -> Linear 64->32 -> ReLU -> Linear 32->1
``raw_aux``        raw (15) + A (5) + B (5) level-1 vectors -> one mark level over the 25 ->
                   Linear 32->1; plus the A and B branches of ``aux`` for prediction_a / _b
``aux_siamese``    ``aux`` with one level-1 encoder shared by A and B
``raw_aux_siamese`` ``raw_aux`` with one level-1 encoder shared by A and B
=================  ==========================================================================

The siamese variants also return the level-1 embeddings of A and B, ``(batch, marks * 64)``
(mark-major: the 64-d vector of the first mark, then the second, ...), for the contrastive loss.
Initialisation as the reference training script: every parameter uniform(-0.1, 0.1) (the
reference builds LSTM and Linear layers with PyTorch defaults, then overwrites all of them).

State-dict names (our side; ``chromexpr.models.reference_weights`` maps the reference's):
level-1 encoders ``raw_encoder`` (the raw slots), ``encoder_a``, ``encoder_b`` or the shared
``shared_encoder``; mark level ``mark_encoder`` (the one feeding ``head``), ``mark_encoder_a``,
``mark_encoder_b``; heads ``head`` (Linear ->1 giving ``prediction``), ``head_hidden``
(``aux`` variants: Linear 64->32), ``head_a``, ``head_b``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from chromexpr.errors import InputError
from chromexpr.models.attentivechrome import AttentiveChrome, BinLevelEncoder, MarkLevelEncoder
from chromexpr.models.layers import check_input
from chromexpr.models.registry import register_model

VARIANTS: tuple[str, ...] = ("raw_d", "raw_c", "raw", "aux", "raw_aux", "aux_siamese", "raw_aux_siamese")

#: slot groups of the raw level-1 encoder of each variant that has one (prefix of each slot name)
RAW_GROUPS: dict[str, tuple[str, ...]] = {
    "raw_d": ("A-B",),
    "raw_c": ("A", "B"),
    "raw": ("A", "B", "A-B"),
    "raw_aux": ("A", "B", "A-B"),
    "raw_aux_siamese": ("A", "B", "A-B"),
}

Output = dict[str, torch.Tensor | dict[str, torch.Tensor]]


def _names(groups: Sequence[str], marks: Sequence[str]) -> list[str]:
    return [f"{group} {mark}" for group in groups for mark in marks]


@register_model("DeepDiff")
class DeepDiff(nn.Module):
    """The DeepDiff variants (see the module docstring).

    Args:
        n_marks: marks per cell.
        n_bins: bins per gene (the LSTMs handle any length; kept for input checks).
        variant: one of :data:`VARIANTS`.
        bin_hidden: bin-level LSTM hidden size per direction (slot vectors ``2 * bin_hidden``).
        mark_hidden: mark-level LSTM hidden size per direction (gene vectors ``2 * mark_hidden``).
        init_range: parameters are drawn from uniform(-init_range, init_range).
    """

    def __init__(
        self,
        *,
        n_marks: int = 5,
        n_bins: int = 200,
        variant: str = "raw_c",
        bin_hidden: int = 32,
        mark_hidden: int = 16,
        init_range: float = 0.1,
    ) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise InputError(
                f"unknown DeepDiff variant {variant!r}",
                key="hyperparameters.variant",
                hint=f"use one of {', '.join(VARIANTS)}",
            )
        self.n_marks = n_marks
        self.n_bins = n_bins
        self.variant = variant
        self.has_aux = "aux" in variant
        self.siamese = variant.endswith("siamese")
        self.raw_groups = RAW_GROUPS.get(variant, ())
        bin_dim, gene_dim = 2 * bin_hidden, 2 * mark_hidden

        def bin_encoder(slots: int) -> BinLevelEncoder:
            return BinLevelEncoder(n_marks=slots, bin_hidden=bin_hidden)

        def mark_encoder() -> MarkLevelEncoder:
            return MarkLevelEncoder(in_dim=bin_dim, mark_hidden=mark_hidden)

        # modules are created in the order of the reference's constructor
        n_raw = len(self.raw_groups) * n_marks
        if not self.has_aux:  # raw_d, raw_c, raw
            self.raw_encoder = bin_encoder(n_raw)
            self.mark_encoder = mark_encoder()
            self.head = nn.Linear(gene_dim, 1)
        else:
            if self.siamese:
                self.shared_encoder = bin_encoder(n_marks)
                if n_raw:
                    self.raw_encoder = bin_encoder(n_raw)
            else:
                self.encoder_a = bin_encoder(n_marks)
                if n_raw:
                    self.raw_encoder = bin_encoder(n_raw)
                self.encoder_b = bin_encoder(n_marks)
            self.mark_encoder_a = mark_encoder()
            if n_raw:  # the mark level over raw + A + B slot vectors
                self.mark_encoder = mark_encoder()
            self.mark_encoder_b = mark_encoder()
            self.head_a = nn.Linear(gene_dim, 1)
            self.head_b = nn.Linear(gene_dim, 1)
            if not n_raw:  # aux, aux_siamese: MLP on the two gene vectors
                self.head_hidden = nn.Linear(2 * gene_dim, gene_dim)
            self.head = nn.Linear(gene_dim, 1)
        for p in self.parameters():
            nn.init.uniform_(p, -init_range, init_range)

    def cell_encoders(self) -> tuple[BinLevelEncoder, BinLevelEncoder]:
        """The level-1 encoders of A and B (the same object for the siamese variants).

        Raises:
            InputError: for ``raw_d`` / ``raw_c`` / ``raw``, which have no per-cell encoders.
        """
        if not self.has_aux:
            raise InputError(f"DeepDiff {self.variant} has no per-cell encoders (only raw_encoder)")
        if self.siamese:
            return self.shared_encoder, self.shared_encoder
        return self.encoder_a, self.encoder_b

    def attention_slots(self, marks: Sequence[str]) -> dict[str, list[str]]:
        """Names of the slots of ``attention["bin"]`` (dim 1) and ``attention["mark"]`` (dim 1).

        Args:
            marks: the mark names in input order (the card's ``input.marks``).

        Returns:
            ``{"bin": [...], "mark": [...]}``, e.g. ``"A H3K4me1"``, ``"B H3K4me1"``,
            ``"A-B H3K4me1"``; the cell-specific slots of ``raw_aux`` / ``raw_aux_siamese``'s
            25-slot mark level are ``"aux A H3K4me1"``, ``"aux B H3K4me1"``.
        """
        if len(marks) != self.n_marks:
            raise InputError(f"DeepDiff was built for {self.n_marks} marks, {len(marks)} names given")
        if not self.has_aux:
            raw = _names(self.raw_groups, marks)
            return {"bin": raw, "mark": list(raw)}
        if not self.raw_groups:  # aux, aux_siamese
            cells = _names(("A", "B"), marks)
            return {"bin": cells, "mark": list(cells)}
        raw = _names(self.raw_groups, marks)
        return {"bin": raw, "mark": raw + _names(("aux A", "aux B"), marks)}

    def forward(self, x_a: torch.Tensor, x_b: torch.Tensor) -> Output:
        """Predict the log fold change from B's and A's marks.

        Args:
            x_a: marks of cell A ``(batch, marks, bins)``.
            x_b: marks of cell B ``(batch, marks, bins)``, the same genes.

        Returns:
            ``prediction`` ``(batch,)`` (predicted ``log2((count_B + 1) / (count_A + 1))``) and
            ``attention``: ``bin`` ``(batch, slots, bins)``, ``mark`` ``(batch, mark slots)``, named
            by :meth:`attention_slots`. ``aux`` variants add ``prediction_a``, ``prediction_b``
            ``(batch,)`` (``log2(count + 1)`` of each cell); siamese variants ``embedding_a``,
            ``embedding_b`` ``(batch, marks * 2 * bin_hidden)``.
        """
        for x, cell in ((x_a, "A"), (x_b, "B")):
            check_input(x, n_marks=self.n_marks, n_bins=self.n_bins, model=f"DeepDiff {self.variant} (cell {cell})")
        if x_a.shape != x_b.shape:
            raise InputError(f"DeepDiff: cells A and B differ in shape, {tuple(x_a.shape)} vs {tuple(x_b.shape)}")
        parts = {"A": x_a, "B": x_b, "A-B": x_a - x_b}
        if self.raw_groups:
            raw_input = torch.cat([parts[g] for g in self.raw_groups], dim=1)  # (batch, raw slots, bins)
            raw_vectors, raw_bins = self.raw_encoder(raw_input)  # (batch, raw slots, 64), (..., bins)
        if not self.has_aux:
            gene, mark_weights = self.mark_encoder(raw_vectors)  # (batch, 32), (batch, raw slots)
            return {
                "prediction": self.head(gene).squeeze(-1),
                "attention": {"bin": raw_bins, "mark": mark_weights},
            }
        encoder_a, encoder_b = self.cell_encoders()
        vectors_a, bins_a = encoder_a(x_a)  # (batch, marks, 64), (batch, marks, bins)
        vectors_b, bins_b = encoder_b(x_b)
        gene_a, marks_a = self.mark_encoder_a(vectors_a)  # (batch, 32), (batch, marks)
        gene_b, marks_b = self.mark_encoder_b(vectors_b)
        out: Output = {
            "prediction_a": self.head_a(gene_a).squeeze(-1),
            "prediction_b": self.head_b(gene_b).squeeze(-1),
        }
        if self.raw_groups:  # raw_aux, raw_aux_siamese: one mark level over all 25 slot vectors
            slots = torch.cat([raw_vectors, vectors_a, vectors_b], dim=1)  # (batch, 25, 64)
            gene, mark_weights = self.mark_encoder(slots)  # (batch, 32), (batch, 25)
            out["prediction"] = self.head(gene).squeeze(-1)
            out["attention"] = {"bin": raw_bins, "mark": mark_weights}
        else:  # aux, aux_siamese
            hidden = torch.relu(self.head_hidden(torch.cat([gene_a, gene_b], dim=1)))  # (batch, 32)
            out["prediction"] = self.head(hidden).squeeze(-1)
            out["attention"] = {
                "bin": torch.cat([bins_a, bins_b], dim=1),  # (batch, 2 marks, bins)
                "mark": torch.cat([marks_a, marks_b], dim=1),  # (batch, 2 marks)
            }
        if self.siamese:
            out["embedding_a"] = vectors_a.flatten(1)  # (batch, marks * 64), mark-major
            out["embedding_b"] = vectors_b.flatten(1)
        return out


@register_model("AttentiveChromeDiff")
class AttentiveChromeDiff(nn.Module):
    """DeepDiff's AttentiveChrome baseline: two independent single-cell AttentiveChrome regressors.

    ``cell_a`` and ``cell_b`` are AttentiveChrome models (the same encoders; Linear 32->1 read as
    ``log2(count + 1)`` of their own cell); the differential prediction is their difference.

    Args:
        n_marks: marks per cell.
        n_bins: bins per gene.
        bin_hidden: bin-level LSTM hidden size per direction.
        mark_hidden: mark-level LSTM hidden size per direction.
        init_range: parameters are drawn from uniform(-init_range, init_range).
    """

    def __init__(
        self,
        *,
        n_marks: int = 5,
        n_bins: int = 200,
        bin_hidden: int = 32,
        mark_hidden: int = 16,
        init_range: float = 0.1,
    ) -> None:
        super().__init__()
        self.n_marks = n_marks
        self.n_bins = n_bins
        kwargs = {
            "n_marks": n_marks,
            "n_bins": n_bins,
            "bin_hidden": bin_hidden,
            "mark_hidden": mark_hidden,
            "init_range": init_range,
        }
        self.cell_a = AttentiveChrome(**kwargs)
        self.cell_b = AttentiveChrome(**kwargs)

    def attention_slots(self, marks: Sequence[str]) -> dict[str, list[str]]:
        """``{"bin": ["A m1", ..., "B m1", ...], "mark": the same}`` for the mark names ``marks``."""
        if len(marks) != self.n_marks:
            raise InputError(f"AttentiveChromeDiff was built for {self.n_marks} marks, {len(marks)} names given")
        names = _names(("A", "B"), marks)
        return {"bin": names, "mark": list(names)}

    def forward(self, x_a: torch.Tensor, x_b: torch.Tensor) -> Output:
        """Args: x_a, x_b ``(batch, marks, bins)``. Returns ``prediction_a``, ``prediction_b``
        ``(batch,)`` (``log2(count + 1)`` per cell), ``prediction = prediction_b - prediction_a``
        and ``attention``: ``bin`` ``(batch, 2 marks, bins)``, ``mark`` ``(batch, 2 marks)`` (A's
        then B's; each half sums to 1)."""
        out_a, out_b = self.cell_a(x_a), self.cell_b(x_b)
        prediction_a, prediction_b = out_a["logits"], out_b["logits"]
        return {
            "prediction": prediction_b - prediction_a,
            "prediction_a": prediction_a,
            "prediction_b": prediction_b,
            "attention": {
                "bin": torch.cat([out_a["attention"]["bin"], out_b["attention"]["bin"]], dim=1),
                "mark": torch.cat([out_a["attention"]["mark"], out_b["attention"]["mark"]], dim=1),
            },
        }
