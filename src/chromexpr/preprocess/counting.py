"""Bin one input file (reads or bigWig) against the reference TSS table: ``.npy`` + ``.json`` stats."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np

from chromexpr.io.atomic import atomic_path, sha256sum
from chromexpr.io.jsonio import write_json
from chromexpr.io.magic import BIGWIG_MAGICS
from chromexpr.io.tables import read_chrom_sizes, read_tss_table
from chromexpr.preprocess.binning import bin_bigwig, bin_reads, check_missing_chromosomes
from chromexpr.preprocess.geometry import BinGeometry

log = logging.getLogger("chromexpr.counting")

BIGWIG_SUFFIXES = (".bw", ".bigwig", ".bigWig", ".BigWig")


def is_bigwig(path: str | Path) -> bool:
    """True for a bigWig file (by suffix, or by its magic number when the file exists).

    A file named like a bigWig counts as one whatever it holds, so that reading it says what
    its content is instead (:class:`chromexpr.io.bigwig.BigWig`).
    """
    path = Path(path)
    if path.suffix in BIGWIG_SUFFIXES:
        return True
    if path.is_file():
        with open(path, "rb") as fh:
            magic = fh.read(4)
        return magic in BIGWIG_MAGICS
    return False


def bin_file(
    reads: str | Path,
    tss: str | Path,
    out_counts: str | Path,
    out_stats: str | Path | None = None,
    *,
    geometry: BinGeometry | None = None,
    engine: str = "native",
    bigwig_stat: str = "mean",
    chrom_sizes: str | Path | dict[str, int] | None = None,
    missing_chromosomes: Literal["error", "warn"] = "error",
) -> tuple[np.ndarray, dict[str, Any]]:
    """Count ``reads`` (tagAlign/BED/BAM) or summarise a bigWig per bin for every gene of ``tss``.

    Writes ``out_counts`` (``.npy``, genes x bins, rows in ``tss`` order) and ``out_stats``
    (JSON: input path and sha256, engine, read statistics, wall time), both atomically.

    Args:
        reads: the input; a bigWig is told by its content (or, failing that, its name).
        tss: the TSS table (the reference step's ``tss.tsv``).
        out_counts: ``.npy`` output.
        out_stats: JSON output, or ``None``.
        geometry: window and bin sizes (default: DeepChrome's, 5 kb and 100 bp).
        engine: reads only: ``native`` or ``bedtools``.
        bigwig_stat: bigWig only: ``mean``, ``sum`` or ``max`` per bin.
        chrom_sizes: reads only: chromosome sizes (file or mapping) to check windows and reads against.
        missing_chromosomes: bigWig only (config key ``binning.missing_chromosomes``): genes on
            chromosomes the bigWig does not list are an ``error`` (the default) or, with ``warn``,
            logged and kept as zeros; the stats JSON records them under
            ``stats.missing_chromosomes`` (``names`` and ``genes``).

    Raises:
        InputError: for a bad input or setting, naming the file and line or the config key.
    """
    check_missing_chromosomes(missing_chromosomes)
    geometry = geometry or BinGeometry()
    genes = read_tss_table(tss)
    sizes = read_chrom_sizes(chrom_sizes) if isinstance(chrom_sizes, (str, Path)) else chrom_sizes
    t0 = time.perf_counter()
    if is_bigwig(reads):
        counts, stats = bin_bigwig(reads, genes, geometry, stat=bigwig_stat, missing_chromosomes=missing_chromosomes)
        method = f"bigwig:{bigwig_stat}"
    else:
        counts, stats = bin_reads(reads, genes, geometry, engine=engine, chrom_sizes=sizes)
        method = f"reads:{engine}"
    elapsed = time.perf_counter() - t0
    info = {
        "input": {"path": str(reads), "sha256": sha256sum(reads)},
        "method": method,
        "geometry": geometry.as_dict(),
        "genes": int(counts.shape[0]),
        "seconds": round(elapsed, 3),
        "stats": stats,
    }
    log.info("binned %s with %s in %.1f s: %s", reads, method, elapsed, stats)
    with atomic_path(out_counts, suffix=".npy") as tmp, open(tmp, "wb") as fh:
        np.save(fh, counts)
    if out_stats is not None:
        write_json(out_stats, info)
    return counts, info
