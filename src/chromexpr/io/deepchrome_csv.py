"""The DeepChrome / AttentiveChrome CSV format (the zenodo release): read into arrays, write from arrays.

Rows ``geneID,binID,H3K27me3,H3K36me3,H3K4me1,H3K4me3,H3K9me3,label``, 100 consecutive rows per gene
(``binID`` 1..100), the label constant within a gene; an optional header line names the mark
columns. Plain or gzip. The release gives bins in genomic order (not flipped for minus-strand genes).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from isal import igzip

from chromexpr.errors import InputError
from chromexpr.io.atomic import atomic_path
from chromexpr.io.released_csv import (
    check_constant,
    first_line,
    group_genes,
    read_rows,
    resolve_marks,
    to_counts,
)

#: Column order of the marks in the DeepChrome / AttentiveChrome CSV release.
DEEPCHROME_MARKS: tuple[str, ...] = ("H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3")
#: The header line of the format (the release itself has none).
DEEPCHROME_HEADER = "geneID,binID," + ",".join(DEEPCHROME_MARKS) + ",label"


@dataclass(frozen=True)
class DeepChromeTable:
    """One DeepChrome/AttentiveChrome CSV file in memory.

    Attributes:
        path: the file read.
        gene_ids: ``(genes,)`` str, in file order.
        counts: ``(genes, marks, bins)``, int32 when every value is a whole number, else float64.
        marks: mark names in the order of ``counts`` axis 1 (the file's column order).
        labels: ``(genes,)`` int8, 0/1 as given in the file.
        gene_lines: ``(genes,)`` 1-based line of each gene's first row (for error messages).
    """

    path: Path
    gene_ids: np.ndarray
    counts: np.ndarray
    marks: list[str]
    labels: np.ndarray
    gene_lines: np.ndarray

    @property
    def n_bins(self) -> int:
        """Bins per gene."""
        return int(self.counts.shape[2])


def read_deepchrome_csv(path: str | Path, *, marks: Sequence[str] | None = None) -> DeepChromeTable:
    """Read a DeepChrome/AttentiveChrome CSV (``geneID,binID,<marks>,label``, plain or gzip).

    A header line is optional; when present it names the mark columns. Without it the columns are
    :data:`DEEPCHROME_MARKS`, or ``marks`` if the file was written in another order.

    Raises:
        InputError: naming file and line, for a header whose mark columns are not the five
            DeepChrome marks (the odd columns are named, with the marks expected), a wrong column
            count, a non-numeric or negative value, a gene whose rows are not contiguous or whose
            bin ids are not 1..n in order, a gene with another bin count than the first, a label
            that is not 0/1 or not constant within a gene, or a gene listed twice.
    """
    path = Path(path)
    first = first_line(path)
    if first is None:
        raise InputError("file is empty", path=path, hint="expected DeepChrome rows " + DEEPCHROME_HEADER)
    mark_names, header_line = resolve_marks(path, first, slice(2, -1), DEEPCHROME_MARKS, marks, "DeepChrome")
    columns = ["geneID", "binID", *mark_names, "label"]
    ids, values, lines = read_rows(path, columns, range(1, len(columns)), header_line)
    bins, labels, signal = values[:, 0], values[:, -1], values[:, 1:-1]
    starts, n_bins = group_genes(path, ids, bins, lines)
    bad = np.flatnonzero(~np.isin(labels, (0.0, 1.0)))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"label {labels[i]:g} is not 0 or 1",
            path=path,
            line=int(lines[i]),
            hint="DeepChrome labels are 1 (expression >= the cell's median) or 0",
        )
    check_constant(path, "label", labels, starts, n_bins, ids, lines)
    counts = to_counts(path, signal, mark_names, len(starts), n_bins, lines)
    return DeepChromeTable(
        path=path,
        gene_ids=ids[starts],
        counts=counts,
        marks=mark_names,
        labels=labels[starts].astype(np.int8),
        gene_lines=lines[starts],
    )


def write_deepchrome_csv(
    out: str | Path,
    gene_ids: Sequence[str] | np.ndarray,
    values: np.ndarray,
    marks: Sequence[str],
    labels: Sequence[int] | np.ndarray,
) -> Path:
    """Write ``(genes, marks, bins)`` values as a DeepChrome CSV with header, atomically.

    The marks are written in :data:`DEEPCHROME_MARKS` order (taken from ``marks`` by name),
    ``binID`` from 1, bins in the order of ``values`` axis 2, the label repeated on every row of a
    gene. Integer values are written as integers, float32 with 9 significant digits (enough to
    read back the same float32). ``out`` ending in ``.gz`` is gzip-compressed without name or time
    stamp in the header, so equal values give equal bytes.

    Args:
        out: the CSV to write.
        gene_ids: ``(genes,)`` gene ids.
        values: ``(genes, marks, bins)`` read counts (or any values).
        marks: mark names in the order of ``values`` axis 1; must include the five DeepChrome marks.
        labels: ``(genes,)`` 0/1 labels.

    Returns:
        ``out`` as a Path.

    Raises:
        InputError: a DeepChrome mark is not in ``marks``, or the shapes disagree.
    """
    marks = [str(m) for m in marks]
    missing = [m for m in DEEPCHROME_MARKS if m not in marks]
    if missing:
        raise InputError(
            f"the DeepChrome format needs the marks {', '.join(DEEPCHROME_MARKS)}; "
            f"no {', '.join(missing)} among {', '.join(marks)}"
        )
    values = np.asarray(values)
    gene_ids = np.asarray(gene_ids, dtype=str)
    labels = np.asarray(labels, dtype=np.int64)
    n = len(gene_ids)
    if values.ndim != 3 or values.shape[1] != len(marks) or values.shape[0] != n or len(labels) != n:
        raise InputError(
            f"values of shape {values.shape} do not match {len(gene_ids)} genes, {len(labels)} labels "
            f"and {len(marks)} marks"
        )
    n_genes, _, n_bins = values.shape
    # (genes, marks, bins) -> one row per (gene, bin), marks in DeepChrome's column order
    rows = (
        values[:, [marks.index(m) for m in DEEPCHROME_MARKS], :].transpose(0, 2, 1).reshape(-1, len(DEEPCHROME_MARKS))
    )
    frame = pd.DataFrame(rows, columns=list(DEEPCHROME_MARKS))
    frame.insert(0, "binID", np.tile(np.arange(1, n_bins + 1, dtype=np.int64), n_genes))
    frame.insert(0, "geneID", pd.array(np.repeat(gene_ids, n_bins), dtype="string"))
    frame["label"] = np.repeat(labels, n_bins)
    float_format = "%.9g" if values.dtype == np.float32 else None
    out = Path(out)
    with atomic_path(out) as tmp:
        if out.name.endswith(".gz"):
            # isa-l's gzip is ~50x faster than zlib's level 6 here. No name (the temporary one would
            # be recorded) and mtime 0 in the gzip header keep reruns byte-identical.
            with (
                open(tmp, "wb") as dest,
                igzip.IGzipFile(filename="", mode="wb", compresslevel=2, fileobj=dest, mtime=0) as raw,
                io.TextIOWrapper(raw, encoding="utf-8", newline="") as fh,
            ):
                frame.to_csv(fh, index=False, lineterminator="\n", float_format=float_format)
        else:
            frame.to_csv(tmp, index=False, lineterminator="\n", float_format=float_format)
    return out
