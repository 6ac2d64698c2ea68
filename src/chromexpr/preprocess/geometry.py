"""Bin geometry around each TSS.

Coordinates are 0-based, half-open. With ``window_bp`` W and ``bin_bp`` B there are ``2W/B`` bins.
A ``+`` gene's window is ``[tss - W, tss + W)``; a ``-`` gene's is ``[tss + 1 - W, tss + 1 + W)``.
In transcription order, bin ``W/B`` starts at the TSS: for ``-`` genes the genomic bins are
reversed when ``orient_by_strand`` is true (the default).
"""

from __future__ import annotations

from collections.abc import Mapping
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
        check_sizes(self.window_bp, self.bin_bp)

    @classmethod
    def checked(
        cls,
        window_bp: int = 5000,
        bin_bp: int = 100,
        orient_by_strand: bool = True,
        *,
        names: Mapping[str, str] | None = None,
    ) -> BinGeometry:
        """Build a geometry whose errors name the parameters as the caller calls them.

        ``names`` maps ``window_bp`` / ``bin_bp`` to a config key (``bins.window_bp``, the default,
        see :data:`CONFIG_NAMES`) or a command-line flag (``--window-bp``, see :data:`CLI_NAMES`).

        Raises:
            InputError: as :func:`check_sizes`.
        """
        check_sizes(window_bp, bin_bp, names=names)
        return cls(window_bp=window_bp, bin_bp=bin_bp, orient_by_strand=orient_by_strand)

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


#: How the workflow names the geometry parameters: keys of the config's ``bins`` section.
CONFIG_NAMES: dict[str, str] = {"window_bp": "bins.window_bp", "bin_bp": "bins.bin_bp"}
#: How the ``chromexpr`` command line names them.
CLI_NAMES: dict[str, str] = {"window_bp": "--window-bp", "bin_bp": "--bin-bp"}


def check_sizes(window_bp: object, bin_bp: object, *, names: Mapping[str, str] | None = None) -> None:
    """The one validation of window and bin sizes: whole numbers, positive, window a multiple of bin.

    Args:
        window_bp: bases on each side of the TSS.
        bin_bp: bin width.
        names: what to call each parameter in messages, ``{"window_bp": ..., "bin_bp": ...}``:
            a config key (the default, :data:`CONFIG_NAMES`; the error then carries it as ``key``)
            or a command-line flag starting with ``-`` (:data:`CLI_NAMES`; the message names it).

    Raises:
        InputError: naming the offending parameter and a valid example.
    """
    names = {**CONFIG_NAMES, **(names or {})}
    is_flag = {param: name.startswith("-") for param, name in names.items()}

    def say(param: str, value: object) -> str:
        return f"{names[param]} {value}" if is_flag[param] else f"{param} ({value})"

    def fail(param: str, message: str, hint: str) -> InputError:
        if is_flag[param]:
            return InputError(message, hint=hint)
        return InputError(message, key=names[param], hint=hint)

    example = (
        f"e.g. {names['window_bp']} 5000 {names['bin_bp']} 100"
        if is_flag["window_bp"]
        else f"e.g. {names['window_bp']}: 5000, {names['bin_bp']}: 100"
    )
    for param, value in (("bin_bp", bin_bp), ("window_bp", window_bp)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise fail(param, f"{say(param, repr(value))} is not a whole number of bases", f"use {example}")
        if value <= 0:
            raise fail(param, f"{say(param, value)} must be positive", f"use {example}")
    assert isinstance(window_bp, (int, np.integer)) and isinstance(bin_bp, (int, np.integer))
    if window_bp % bin_bp:
        raise fail(
            "window_bp",
            f"{say('window_bp', window_bp)} is not a multiple of {say('bin_bp', bin_bp)}",
            f"choose a window that is a whole number of bins: {window_bp // bin_bp * bin_bp or bin_bp} or "
            f"{(window_bp // bin_bp + 1) * bin_bp} with {names['bin_bp']} {bin_bp}, or {example}",
        )


def _minus_mask(strand: np.ndarray) -> np.ndarray:
    strand = np.asarray(strand).astype(str)
    bad = ~np.isin(strand, ["+", "-"])
    if bad.any():
        raise InputError(
            f"strand must be '+' or '-', got {strand[bad][0]!r} ({int(bad.sum())} genes)",
            hint="resolve unknown strands first (reference.unknown_strand: plus | drop)",
        )
    return strand == "-"


def window_bounds(tss: np.ndarray, strand: np.ndarray, geometry: BinGeometry) -> tuple[np.ndarray, np.ndarray]:
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


def widest(*geometries: BinGeometry) -> BinGeometry:
    """The geometry to bin at so that every one of ``geometries`` is a crop of it: the widest window.

    Raises:
        InputError: the geometries differ in ``bin_bp`` or ``orient_by_strand`` (then no crop exists).
    """
    if not geometries:
        raise ValueError("no geometry given")
    first = geometries[0]
    for g in geometries[1:]:
        if g.bin_bp != first.bin_bp or g.orient_by_strand != first.orient_by_strand:
            raise InputError(
                f"an experiment asks for bins of {g.bin_bp} bp (orient_by_strand {g.orient_by_strand}), another for "
                f"{first.bin_bp} bp (orient_by_strand {first.orient_by_strand}): one binning cannot serve both",
                key="bins.bin_bp",
                hint="use the same bins.bin_bp and bins.orient_by_strand for every experiment",
            )
    return max(geometries, key=lambda g: g.window_bp)


def crop_offset(wide: BinGeometry, narrow: BinGeometry) -> int:
    """First bin of ``narrow`` inside ``wide`` (both in transcription order): ``(W - N) / bin_bp``.

    Both windows are centred on the same TSS boundary, for either strand: a ``+`` gene's wide window
    starts ``W - N`` bases before the narrow one; a ``-`` gene's wide window ends ``W - N`` bases after
    it, and its reversed bins put those extra bases first again. So the narrow bins are the wide bins
    ``offset .. offset + narrow.n_bins`` for every gene (with equal ``bin_bp``).

    Raises:
        InputError: ``narrow`` is not a crop of ``wide`` (other bin size or orientation, wider window).
    """
    widest(wide, narrow)  # same bin size and orientation, or an error
    if narrow.window_bp > wide.window_bp:
        raise InputError(
            f"a window of {narrow.window_bp} bp cannot be cut from one of {wide.window_bp} bp",
            key="bins.window_bp",
        )
    return (wide.window_bp - narrow.window_bp) // wide.bin_bp


def crop_bins(counts: np.ndarray, *, wide: BinGeometry, narrow: BinGeometry) -> np.ndarray:
    """The bins of ``narrow`` cut out of a matrix binned with ``wide`` (last axis = bins).

    Equal, bin for bin, to binning with ``narrow`` directly (a test pins it for both strands).

    Args:
        counts: ``(..., wide.n_bins)``, e.g. ``(genes, bins)`` or ``(genes, marks, bins)``.
        wide: the geometry ``counts`` was binned with.
        narrow: the geometry wanted.

    Returns:
        ``(..., narrow.n_bins)``, a copy.
    """
    if counts.shape[-1] != wide.n_bins:
        raise InputError(
            f"the counts have {counts.shape[-1]} bins, the binning geometry says {wide.n_bins}",
            hint="re-run the binning step (its geometry changed)",
        )
    start = crop_offset(wide, narrow)
    return np.ascontiguousarray(counts[..., start : start + narrow.n_bins])
