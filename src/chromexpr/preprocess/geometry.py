"""Bin geometry around each TSS (DESIGN.md section 4).

Coordinates are 0-based, half-open. With ``window_bp`` W and ``bin_bp`` B there are ``2W/B`` bins.
A ``+`` gene's window is ``[tss - W, tss + W)``; a ``-`` gene's is ``[tss + 1 - W, tss + 1 + W)``.
In transcription order, bin ``W/B`` starts at the TSS: for ``-`` genes the genomic bins are
reversed when ``orient_by_strand`` is true (the default).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from chromexpr.errors import InputError


@dataclass(frozen=True)
class BinGeometry:
    """Window and bin sizes around the TSS.

    Args:
        window_bp: bases on each side of the TSS (5000 for DeepChrome, 10000 for DeepDiff).
        bin_bp: bin width in bases.
        orient_by_strand: reverse the bins of ``-`` genes so that bins run in transcription order.
    """

    window_bp: int = 5000
    bin_bp: int = 100
    orient_by_strand: bool = True

    def __post_init__(self) -> None:
        if self.bin_bp <= 0 or self.window_bp <= 0:
            raise InputError(
                f"window_bp ({self.window_bp}) and bin_bp ({self.bin_bp}) must be positive",
                key="bins",
                hint="use e.g. window_bp: 5000, bin_bp: 100",
            )
        if self.window_bp % self.bin_bp:
            raise InputError(
                f"window_bp ({self.window_bp}) is not a multiple of bin_bp ({self.bin_bp})",
                key="bins.window_bp",
                hint="choose a window that is a whole number of bins, e.g. 5000 with bin_bp 100",
            )

    @property
    def n_bins(self) -> int:
        """Number of bins per gene, ``2 * window_bp / bin_bp``."""
        return 2 * self.window_bp // self.bin_bp

    @property
    def tss_bin(self) -> int:
        """Index, in transcription order, of the bin that starts at the TSS."""
        return self.window_bp // self.bin_bp

    def as_dict(self) -> dict:
        """Plain dict for provenance and npz metadata."""
        return {**asdict(self), "n_bins": self.n_bins}


def _minus_mask(strand: np.ndarray) -> np.ndarray:
    strand = np.asarray(strand).astype(str)
    bad = ~np.isin(strand, ["+", "-"])
    if bad.any():
        raise InputError(
            f"strand must be '+' or '-', got {strand[bad][0]!r} ({int(bad.sum())} genes)",
            hint="resolve unknown strands first (reference.unknown_strand: plus | drop)",
        )
    return strand == "-"


def window_bounds(
    tss: np.ndarray, strand: np.ndarray, geometry: BinGeometry
) -> tuple[np.ndarray, np.ndarray]:
    """Genomic window ``[start, end)`` of each gene, as int64 arrays."""
    tss = np.asarray(tss, dtype=np.int64)
    start = tss - geometry.window_bp + _minus_mask(strand).astype(np.int64)
    return start, start + 2 * geometry.window_bp


def bin_starts(tss: np.ndarray, strand: np.ndarray, geometry: BinGeometry) -> np.ndarray:
    """Genomic start of every bin, shape ``(genes, n_bins)``, columns in transcription order.

    Bin ``j`` of gene ``g`` covers ``[out[g, j], out[g, j] + bin_bp)``.
    """
    minus = _minus_mask(strand)
    start, _ = window_bounds(tss, strand, geometry)
    starts = start[:, None] + geometry.bin_bp * np.arange(geometry.n_bins, dtype=np.int64)[None, :]
    if geometry.orient_by_strand:
        starts[minus] = starts[minus, ::-1]
    return starts
